import sharp from 'sharp';
import { describe, expect, it } from 'vitest';
import { findNearDuplicates, hammingDistance, NEAR_DUPLICATE_THRESHOLD, perceptualHash } from '../../src/images/phash.js';
import { drawing } from './pictures.js';

describe('perceptualHash', () => {
  it('gives 16 hex digits, the same for the same picture', async () => {
    const input = await drawing(1).png().toBuffer();
    const hash = await perceptualHash(input);
    expect(hash).toMatch(/^[0-9a-f]{16}$/);
    expect(await perceptualHash(input)).toBe(hash);
  });

  it('matches a rescaled, recompressed copy and not a different drawing', async () => {
    const original = await drawing(2, 800, 600).png().toBuffer();
    const copy = await sharp(original).resize(560).jpeg({ quality: 70 }).toBuffer();
    const brighter = await sharp(original).modulate({ brightness: 1.1 }).webp().toBuffer();
    const other = await drawing(3, 800, 600).png().toBuffer();
    const [h, hCopy, hBrighter, hOther] = await Promise.all([original, copy, brighter, other].map((b) => perceptualHash(b)));
    expect(hammingDistance(h!, hCopy!)).toBeLessThanOrEqual(4);
    expect(hammingDistance(h!, hBrighter!)).toBeLessThanOrEqual(NEAR_DUPLICATE_THRESHOLD);
    expect(hammingDistance(h!, hOther!)).toBeGreaterThan(NEAR_DUPLICATE_THRESHOLD);
  });
});

describe('hammingDistance', () => {
  it.each([
    { a: '0000000000000000', b: '0000000000000000', distance: 0 },
    { a: '0000000000000000', b: 'ffffffffffffffff', distance: 64 },
    { a: '00000000000000f0', b: '0000000000000001', distance: 5 },
    { a: '8000000000000000', b: '0000000000000001', distance: 2 },
  ])('$a vs $b = $distance', ({ a, b, distance }) => {
    expect(hammingDistance(a, b)).toBe(distance);
    expect(hammingDistance(b, a)).toBe(distance);
  });

  it('refuses what is not a 64-bit hash', () => {
    expect(() => hammingDistance('abc', '0000000000000000')).toThrow(TypeError);
    expect(() => hammingDistance('000000000000000g', '0000000000000000')).toThrow(TypeError);
  });
});

describe('findNearDuplicates', () => {
  it('reports each close pair once, closest first, and nothing else', () => {
    const pairs = findNearDuplicates(
      [
        { name: 'a.png', hash: '0000000000000000' },
        { name: 'b.png', hash: 'ffffffffffffffff' },
        { name: 'a-copy.jpg', hash: '0000000000000003' },
        { name: 'a-again.png', hash: '0000000000000000' },
      ],
      4,
    );
    expect(pairs).toEqual([
      { a: 'a.png', b: 'a-again.png', distance: 0 },
      { a: 'a.png', b: 'a-copy.jpg', distance: 2 },
      { a: 'a-copy.jpg', b: 'a-again.png', distance: 2 },
    ]);
  });

  it('finds the duplicate among real pictures', async () => {
    const a = await drawing(4).png().toBuffer();
    const b = await drawing(5).png().toBuffer();
    const aSmaller = await sharp(a).resize(320).jpeg({ quality: 80 }).toBuffer();
    const hashes = await Promise.all(
      [
        { name: 'a', data: a },
        { name: 'b', data: b },
        { name: 'a-small', data: aSmaller },
      ].map(async ({ name, data }) => ({ name, hash: await perceptualHash(data) })),
    );
    expect(findNearDuplicates(hashes).map(({ a: first, b: second }) => [first, second])).toEqual([['a', 'a-small']]);
  });
});

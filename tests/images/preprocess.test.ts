import sharp, { type Sharp } from 'sharp';
import { describe, expect, it } from 'vitest';
import { ImageError } from '../../src/images/errors.js';
import { preprocessImage, preprocessMany, probeImage } from '../../src/images/preprocess.js';
import { bombPng, drawing, halves, near, pixelAt, solid } from './pictures.js';

const RED: [number, number, number] = [220, 20, 20];
const BLUE: [number, number, number] = [20, 20, 220];

async function refusal(promise: Promise<unknown>): Promise<ImageError> {
  const error = await promise.then(
    () => undefined,
    (caught: unknown) => caught,
  );
  expect(error).toBeInstanceOf(ImageError);
  return error as ImageError;
}

describe('preprocessImage: geometry', () => {
  it.each([
    { shape: 'landscape', width: 1600, height: 900, warned: false },
    { shape: 'portrait', width: 900, height: 1600, warned: false },
    { shape: 'square', width: 1200, height: 1200, warned: false },
    { shape: 'small', width: 400, height: 300, warned: true },
    { shape: 'tiny', width: 40, height: 25, warned: true },
  ])('$shape $width×$height becomes a 1024² JPEG', async ({ width, height, warned }) => {
    const input = await drawing(width + height, width, height).png().toBuffer();
    const result = await preprocessImage(input);
    expect(result.original).toEqual({ width, height, format: 'png' });
    expect(result.format).toBe('jpeg');
    const meta = await sharp(result.image).metadata();
    expect([meta.format, meta.width, meta.height, meta.channels]).toEqual(['jpeg', 1024, 1024, 3]);
    expect([result.width, result.height]).toEqual([1024, 1024]);
    expect(result.warnings.length > 0).toBe(warned);
    if (warned) expect(result.warnings[0]).toMatch(/under 512 px/);
  });

  it('takes another training size', async () => {
    const result = await preprocessImage(await drawing(1, 900, 600).jpeg().toBuffer(), { size: 512 });
    expect([result.width, result.height]).toEqual([512, 512]);
    expect((await sharp(result.image).metadata()).width).toBe(512);
  });

  it('keeps the middle with crop: centre and the busy part with the attention crop', async () => {
    // A flat grey field, 2000×1000, with a colourful patch near the right edge (x 1560–1960):
    // the middle square (x 500–1500) misses it, the attention crop must move right to take it in.
    const patch = await drawing(7, 400, 400).modulate({ saturation: 2 }).png().toBuffer();
    const input = await solid(2000, 1000, [128, 128, 128]).composite([{ input: patch, left: 1560, top: 300 }]).png().toBuffer();
    const colourful = async (image: Buffer) => {
      const { data } = await sharp(image).raw().toBuffer({ resolveWithObject: true });
      let count = 0;
      for (let i = 0; i < data.length; i += 3) {
        const [r = 0, g = 0, b = 0] = data.subarray(i, i + 3);
        if (Math.max(r, g, b) - Math.min(r, g, b) > 40) count++;
      }
      return count;
    };
    const centre = await preprocessImage(input, { crop: 'centre', size: 256 });
    const attention = await preprocessImage(input, { size: 256 });
    expect(await colourful(centre.image)).toBeLessThan(50);
    expect(await colourful(attention.image)).toBeGreaterThan(1000);
  });
});

describe('preprocessImage: pixels', () => {
  it('applies EXIF orientation: a stored-landscape photo tagged "rotate 90°" comes out upright', async () => {
    // Stored 400×200 with the top half red; orientation 6 displays it rotated 90° clockwise, so
    // the red half ends up on the right of a 200×400 portrait.
    const stored = await (await halves(400, 200, RED, BLUE)).jpeg({ quality: 95 }).withMetadata({ orientation: 6 }).toBuffer();
    expect((await sharp(stored).metadata()).orientation).toBe(6);
    const result = await preprocessImage(stored, { crop: 'centre', size: 256 });
    expect(result.original).toMatchObject({ width: 200, height: 400 });
    expect(near(await pixelAt(result.image, 200, 128), RED)).toBe(true);
    expect(near(await pixelAt(result.image, 56, 128), BLUE)).toBe(true);
  });

  it('flattens transparency on white', async () => {
    const square = await solid(100, 100, [0, 0, 0]).png().toBuffer();
    const input = await solid(300, 300, [0, 200, 0, 0]).composite([{ input: square, left: 100, top: 100 }]).png().toBuffer();
    const result = await preprocessImage(input, { size: 300, crop: 'centre' });
    expect(near(await pixelAt(result.image, 5, 5), [255, 255, 255], 6)).toBe(true);
    expect(near(await pixelAt(result.image, 295, 295), [255, 255, 255], 6)).toBe(true);
    expect(near(await pixelAt(result.image, 150, 150), [0, 0, 0], 6)).toBe(true);
  });

  it('writes greyscale and 16-bit inputs as 8-bit sRGB', async () => {
    const grey = await drawing(3, 600, 600).greyscale().png().toBuffer();
    const deep = await drawing(4, 600, 600).toColourspace('rgb16').png().toBuffer();
    for (const input of [grey, deep]) {
      const meta = await sharp((await preprocessImage(input, { size: 256 })).image).metadata();
      expect([meta.space, meta.channels, meta.depth]).toEqual(['srgb', 3, 'uchar']);
    }
  });
});

describe('refusals', () => {
  it('refuses a PNG that claims 40000×40000 from its header, without decoding it', async () => {
    const bomb = bombPng(40000, 40000);
    expect(bomb.length).toBeLessThan(500);
    const started = performance.now();
    const error = await refusal(preprocessImage(bomb));
    expect(error.code).toBe('too_many_pixels');
    expect(error.message).toContain('40000×40000');
    expect(await probeImage(bomb)).toMatchObject({ ok: false, code: 'too_many_pixels' });
    // Decoding 1.6 gigapixels would take seconds and gigabytes; a header read takes milliseconds.
    expect(performance.now() - started).toBeLessThan(1000);
  });

  it('honours a lower pixel limit', async () => {
    const input = await drawing(5, 1000, 1000).png().toBuffer();
    expect((await refusal(preprocessImage(input, { limitInputPixels: 500_000 }))).code).toBe('too_many_pixels');
    expect(await probeImage(input, { limitInputPixels: 500_000 })).toMatchObject({ ok: false, code: 'too_many_pixels' });
  });

  it.each([
    { format: 'jpeg', encode: (s: Sharp) => s.jpeg() },
    { format: 'png', encode: (s: Sharp) => s.png() },
  ])('refuses a truncated $format whose header is intact', async ({ encode }) => {
    const whole = await encode(drawing(6, 800, 600)).toBuffer();
    const cut = whole.subarray(0, Math.floor(whole.length * 0.6));
    expect((await refusal(preprocessImage(cut))).code).toBe('truncated_or_corrupt');
    expect(await probeImage(cut)).toMatchObject({ ok: false, code: 'truncated_or_corrupt' });
  });

  it.each([
    { what: 'a text file', input: Buffer.from('name,caption\ncat.png,a cat\n'), code: 'not_an_image' },
    { what: 'an empty file', input: Buffer.alloc(0), code: 'not_an_image' },
    {
      what: 'an SVG',
      input: Buffer.from('<svg xmlns="http://www.w3.org/2000/svg" width="10" height="10"><rect width="10" height="10"/></svg>'),
      code: 'unsupported_format',
    },
  ])('refuses $what', async ({ input, code }) => {
    expect((await refusal(preprocessImage(input))).code).toBe(code);
    expect(await probeImage(input)).toMatchObject({ ok: false, code });
  });

  it('probes a good image without keeping anything', async () => {
    const input = await drawing(8, 300, 200).webp().toBuffer();
    expect(await probeImage(input)).toEqual({ ok: true, info: { width: 300, height: 200, format: 'webp' } });
  });
});

describe('preprocessMany', () => {
  it('returns one outcome per input, in order, the bad ones refused without stopping the rest', async () => {
    const good = await drawing(9, 500, 400).jpeg().toBuffer();
    const inputs = [
      { name: 'a.jpg', data: good },
      { name: 'notes.txt', data: Buffer.from('hello') },
      { name: 'b.png', data: await drawing(10, 300, 500).png().toBuffer() },
      { name: 'bomb.png', data: bombPng(40000, 40000) },
      { name: 'cut.jpg', data: good.subarray(0, good.length / 2) },
    ];
    const outcomes = await preprocessMany(inputs, { concurrency: 2, size: 256 });
    expect(outcomes.map((o) => [o.name, o.ok ? 'ok' : o.code])).toEqual([
      ['a.jpg', 'ok'],
      ['notes.txt', 'not_an_image'],
      ['b.png', 'ok'],
      ['bomb.png', 'too_many_pixels'],
      ['cut.jpg', 'truncated_or_corrupt'],
    ]);
  });
});

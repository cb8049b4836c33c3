import sharp from 'sharp';
import { describe, expect, it } from 'vitest';
import { intakeArchive, intakeFiles, type AcceptedImage } from '../../../src/dataset/intake/pipeline.js';
import type { ZipLimits } from '../../../src/dataset/intake/zip.js';
import { perceptualHash } from '../../../src/images/phash.js';
import { bombPng, drawing, halves, near, pixelAt, solid } from '../../images/pictures.js';
import { makeZip, renameEntry } from './zips.js';

const LIMITS: ZipLimits = { maxEntries: 100, maxEntryBytes: 8 * 1024 * 1024, maxTotalBytes: 64 * 1024 * 1024 };

describe('intakeArchive', () => {
  it('takes the good pictures of a mixed zip in, square and upright, and names every refusal', async () => {
    const cat = await drawing(1, 900, 700).png().toBuffer();
    const rotated = await (await halves(400, 200, [220, 20, 20], [20, 20, 220])).jpeg({ quality: 95 }).withMetadata({ orientation: 6 }).toBuffer();
    const transparent = await solid(300, 300, [0, 0, 0, 0])
      .composite([{ input: await solid(100, 100, [0, 0, 0]).png().toBuffer(), left: 100, top: 100 }])
      .png()
      .toBuffer();
    const truncated = (await drawing(2, 800, 600).jpeg().toBuffer()).subarray(0, 3000);
    const written = await makeZip([
      { name: 'drawings/cat.png', data: cat },
      { name: 'drawings/cat-again.jpg', data: await sharp(cat).resize(600).jpeg({ quality: 80 }).toBuffer() },
      { name: 'drawings/phone.jpg', data: rotated },
      { name: 'drawings/alpha.png', data: transparent },
      { name: 'drawings/notes.txt', data: Buffer.from('remember to caption these') },
      { name: 'drawings/cut.jpg', data: truncated },
      { name: 'drawings/bomb.png', data: bombPng(40000, 40000) },
      { name: 'xx/evil.png', data: cat },
      { name: '__MACOSX/drawings/._cat.png', data: Buffer.from('resource fork') },
    ]);
    const zip = renameEntry(written, 'xx/evil.png', '../evil.png');
    const stored: AcceptedImage[] = [];
    const report = await intakeArchive(zip, LIMITS, async (image) => void stored.push(image), {
      concurrency: 2,
      preprocess: { size: 256, crop: 'centre' },
    });

    expect(report.accepted.map((a) => a.name).sort()).toEqual([
      'drawings/alpha.png',
      'drawings/cat-again.jpg',
      'drawings/cat.png',
      'drawings/phone.jpg',
    ]);
    expect(Object.fromEntries(report.refused.map((r) => [r.name, r.code]))).toEqual({
      'drawings/notes.txt': 'not_an_image',
      'drawings/cut.jpg': 'truncated_or_corrupt',
      'drawings/bomb.png': 'too_many_pixels',
      '../evil.png': 'path_traversal',
    });
    expect(report.nearDuplicates).toEqual([expect.objectContaining({ distance: expect.any(Number) })]);
    expect([report.nearDuplicates[0]?.a, report.nearDuplicates[0]?.b].sort()).toEqual(['drawings/cat-again.jpg', 'drawings/cat.png']);
    // Small pictures are flagged.
    expect(report.accepted.find((a) => a.name === 'drawings/alpha.png')?.warnings).toEqual([expect.stringMatching(/under 512 px/)]);

    const byName = new Map(stored.map((image) => [image.name, image]));
    expect(byName.get('drawings/cat.png')?.original.equals(cat)).toBe(true);
    for (const image of stored) {
      const meta = await sharp(image.processed.image).metadata();
      expect([meta.width, meta.height, meta.format]).toEqual([256, 256, 'jpeg']);
      expect(image.phash).toBe(await perceptualHash(image.processed.image));
    }
    // The phone photo is upright: its stored top half (red) is on the right.
    const phone = byName.get('drawings/phone.jpg')!.processed.image;
    expect(near(await pixelAt(phone, 200, 128), [220, 20, 20])).toBe(true);
    expect(near(await pixelAt(phone, 56, 128), [20, 20, 220])).toBe(true);
    // Transparency became white.
    const alpha = byName.get('drawings/alpha.png')!.processed.image;
    expect(near(await pixelAt(alpha, 4, 4), [255, 255, 255], 6)).toBe(true);
  });

  it('reports a re-upload of a picture already in the dataset, not old pairs again', async () => {
    const old = await drawing(3).png().toBuffer();
    const other = await drawing(4).png().toBuffer();
    const oldHash = await perceptualHash((await sharp(old).resize(256, 256, { fit: 'cover' }).jpeg().toBuffer()));
    const report = await intakeFiles(
      [{ name: 'again.png', data: old }],
      async () => undefined,
      {
        preprocess: { size: 256, crop: 'centre' },
        existing: [
          { name: 'old.png', hash: oldHash },
          { name: 'old-copy.png', hash: oldHash },
          { name: 'other.png', hash: await perceptualHash(other) },
        ],
      },
    );
    expect(report.nearDuplicates.map((pair) => [pair.a, pair.b])).toEqual(
      expect.arrayContaining([
        ['old.png', 'again.png'],
        ['old-copy.png', 'again.png'],
      ]),
    );
    expect(report.nearDuplicates).toHaveLength(2);
  });

  it('lets a failure to store stop the intake', async () => {
    const zip = await makeZip([{ name: 'a.png', data: await drawing(5).png().toBuffer() }]);
    await expect(
      intakeArchive(zip, LIMITS, async () => {
        throw new Error('disk full');
      }),
    ).rejects.toThrow('disk full');
  });
});

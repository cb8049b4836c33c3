import sharp from 'sharp';
import { describe, expect, it } from 'vitest';
import { keepableOriginal } from '../../src/images/original.js';
import { gpsPhoto, hasGpsIfd } from '../support/exif.js';

describe('keepableOriginal', () => {
  it('turns a phone photo upright and drops its EXIF, GPS included, keeping it a JPEG with its own chroma subsampling', async () => {
    const photo = await gpsPhoto(800, 600, 6);
    expect(hasGpsIfd((await sharp(photo).metadata()).exif!)).toBe(true);
    const kept = await keepableOriginal(photo, 'jpeg');
    expect(kept.format).toBe('jpeg');
    const meta = await sharp(kept.data).metadata();
    expect(meta).toMatchObject({ format: 'jpeg', width: 600, height: 800, chromaSubsampling: (await sharp(photo).metadata()).chromaSubsampling });
    expect(meta.exif).toBeUndefined();
    expect(meta.orientation).toBeUndefined();
    expect(kept.data.includes(Buffer.from('PhonyPhone'))).toBe(false);
    // Orientation 6 turns the stored top (red) to the right.
    const { data, info } = await sharp(kept.data).raw().toBuffer({ resolveWithObject: true });
    const at = (x: number, y: number) => [...data.subarray((y * info.width + x) * 3, (y * info.width + x) * 3 + 3)];
    expect(at(590, 400)[0]).toBeGreaterThan(200);
    expect(at(10, 400)[2]).toBeGreaterThan(200);
  });

  it('keeps a lossless picture lossless (PNG), without its text and EXIF chunks', async () => {
    const { data: pixels, info } = await sharp({ create: { width: 64, height: 48, channels: 3, background: '#123456' } }).raw().toBuffer({ resolveWithObject: true });
    const png = await sharp(pixels, { raw: info }).png().withExif({ IFD0: { Artist: 'Somebody Somewhere' } }).toBuffer();
    expect(png.includes(Buffer.from('Somebody Somewhere'))).toBe(true);
    const kept = await keepableOriginal(png, 'png');
    expect(kept.format).toBe('png');
    expect(kept.data.includes(Buffer.from('Somebody Somewhere'))).toBe(false);
    expect((await sharp(kept.data).raw().toBuffer()).equals(pixels)).toBe(true);
  });

  it('takes a WebP as PNG (no second lossy encode)', async () => {
    const webp = await sharp({ create: { width: 40, height: 30, channels: 3, background: '#aa3300' } }).webp({ quality: 80 }).toBuffer();
    const kept = await keepableOriginal(webp, 'webp');
    expect(kept.format).toBe('png');
    expect((await sharp(kept.data).raw().toBuffer()).equals(await sharp(webp).raw().toBuffer())).toBe(true);
  });

  it('keeps a 4:4:4 scan at 4:4:4', async () => {
    const scan = await sharp({ create: { width: 64, height: 64, channels: 3, background: '#cc2200' } }).jpeg({ chromaSubsampling: '4:4:4' }).toBuffer();
    expect((await sharp((await keepableOriginal(scan, 'jpeg')).data).metadata()).chromaSubsampling).toBe('4:4:4');
  });
});

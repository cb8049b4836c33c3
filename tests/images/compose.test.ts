import sharp from 'sharp';
import { describe, expect, it } from 'vitest';
import { encodeToFit } from '../../src/images/encode.js';
import { comparisonGrid, contactSheet, previewSheet } from '../../src/images/sheets.js';
import { composeSideBySide } from '../../src/images/side-by-side.js';
import { ImageError } from '../../src/images/errors.js';
import type { RawImage } from '../../src/images/raw.js';
import { labelHeight, THEMES } from '../../src/images/text.js';
import { halves, near, pixelAt, solid, type Rgb } from './pictures.js';

const RED: Rgb = [220, 30, 30];
const BLUE: Rgb = [30, 30, 220];
const GREEN: Rgb = [30, 200, 30];
const BACKGROUND: Rgb = [30, 31, 34];
const DARK_BOX = THEMES.dark.box.slice(0, 3) as Rgb;
const LIGHT_BOX = THEMES.light.box.slice(0, 3) as Rgb;

const png = (width: number, height: number, colour: Rgb) => solid(width, height, colour).png().toBuffer();

function rawPixel(image: RawImage, x: number, y: number): number[] {
  const offset = (y * image.width + x) * image.channels;
  return [...image.data.subarray(offset, offset + 3)];
}

describe('composeSideBySide', () => {
  it('puts the generated image left and the reference right, at the same height, labelled', async () => {
    const result = await composeSideBySide({
      generated: await png(1024, 1024, RED),
      reference: await png(600, 800, BLUE),
      leftLabel: 'KMPLZ · step 500',
      rightLabel: 'art: kimplz',
    });
    const meta = await sharp(result).metadata();
    // 768 high: the generated square is 768 wide, the 3:4 reference 576, with an 8-pixel gap.
    expect([meta.format, meta.height, meta.width]).toEqual(['jpeg', 768, 768 + 8 + 576]);
    expect(meta.width! / meta.height!).toBeGreaterThan(1.7);
    expect(near(await pixelAt(result, 384, 300), RED)).toBe(true);
    expect(near(await pixelAt(result, 768 + 8 + 288, 300), BLUE)).toBe(true);
    expect(near(await pixelAt(result, 770, 300), BACKGROUND)).toBe(true);
    // Labels sit in the bottom-left corner of each half, in dark boxes.
    expect(near(await pixelAt(result, 10, 740), DARK_BOX)).toBe(true);
    expect(near(await pixelAt(result, 768 + 8 + 10, 740), DARK_BOX)).toBe(true);
    expect(near(await pixelAt(result, 600, 740), RED)).toBe(true);
  });

  it('applies the reference’s EXIF orientation and flattens its transparency on white', async () => {
    const rotated = await (await halves(400, 200, RED, BLUE)).jpeg().withMetadata({ orientation: 6 }).toBuffer();
    const result = await composeSideBySide({ generated: await png(512, 512, GREEN), reference: rotated, leftLabel: '', rightLabel: '', height: 400 });
    const meta = await sharp(result).metadata();
    expect([meta.width, meta.height]).toEqual([400 + 4 + 200, 400]);
    // Stored top half (red) is on the right once upright.
    expect(near(await pixelAt(result, 404 + 150, 100), RED)).toBe(true);
    expect(near(await pixelAt(result, 404 + 50, 100), BLUE)).toBe(true);
    const transparent = await solid(300, 300, [0, 0, 0, 0]).png().toBuffer();
    const flat = await composeSideBySide({ generated: await png(300, 300, GREEN), reference: transparent, leftLabel: '', rightLabel: '', height: 300 });
    expect(near(await pixelAt(flat, 300 + 4 + 150, 150), [255, 255, 255], 6)).toBe(true);
  });

  it('holds a panorama to twice the height, centred vertically', async () => {
    const result = await composeSideBySide({ generated: await png(256, 256, RED), reference: await png(4000, 500, BLUE), leftLabel: '', rightLabel: '', height: 256 });
    const meta = await sharp(result).metadata();
    expect([meta.width, meta.height]).toEqual([256 + 3 + 512, 256]);
    expect(near(await pixelAt(result, 256 + 3 + 256, 128), BLUE)).toBe(true);
    expect(near(await pixelAt(result, 256 + 3 + 256, 10), BACKGROUND)).toBe(true);
  });

  it('says which image could not be read', async () => {
    const error = await composeSideBySide({ generated: await png(64, 64, RED), reference: Buffer.from('not an image'), leftLabel: '', rightLabel: '' }).catch(
      (caught: unknown) => caught,
    );
    expect(error).toBeInstanceOf(ImageError);
    expect((error as ImageError).message).toContain('reference');
  });
});

describe('contactSheet', () => {
  it('lays thumbnails out in a grid with their names under them; an unreadable file is a grey box', async () => {
    const items = [
      { image: await png(400, 400, RED), label: 'red.png' },
      { image: await png(300, 600, BLUE), label: 'blue.png' },
      { image: Buffer.from('broken'), label: 'broken.png' },
    ];
    const sheet = await contactSheet(items, { columns: 2, cell: 100 });
    const pitchY = 100 + labelHeight({ scale: 2 }) + 8;
    expect([sheet.width, sheet.height, sheet.channels]).toEqual([8 + 2 * 108, 8 + 2 * pitchY, 3]);
    expect(near(rawPixel(sheet, 8 + 50, 8 + 50), RED, 4)).toBe(true);
    // The 1:2 blue picture is 50×100, centred in its cell: its sides show the background.
    expect(near(rawPixel(sheet, 116 + 50, 8 + 50), BLUE, 4)).toBe(true);
    expect(near(rawPixel(sheet, 116 + 10, 8 + 50), BACKGROUND, 0)).toBe(true);
    // Name boxes under the first row, the grey placeholder in the second.
    expect(near(rawPixel(sheet, 8, 8 + 100 + 2), DARK_BOX, 0)).toBe(true);
    expect(near(rawPixel(sheet, 8 + 50, 8 + pitchY + 80), [90, 90, 96], 0)).toBe(true);
  });
});

describe('previewSheet', () => {
  it('shows a row per prompt: the reference first, tagged, then the checkpoint’s pictures', async () => {
    const sheet = await previewSheet(
      [
        { reference: await png(200, 200, GREEN), images: [await png(200, 200, RED), await png(200, 200, BLUE)], label: 'KMPLZ, a cat' },
        { reference: await png(200, 200, GREEN), images: [await png(200, 200, RED)], label: 'KMPLZ, a dog' },
      ],
      'step 500',
      { cell: 100 },
    );
    const top = 8 + labelHeight({ scale: 3 }) + 8;
    const rowPitch = labelHeight({ scale: 2 }) + 4 + 100 + 8;
    const cellsTop = top + labelHeight({ scale: 2 }) + 4;
    expect([sheet.width, sheet.height]).toEqual([8 + 3 * 108, top + 2 * rowPitch]);
    expect(near(rawPixel(sheet, 8, 8), DARK_BOX, 0)).toBe(true);
    expect(near(rawPixel(sheet, 8 + 50, cellsTop + 30), GREEN, 4)).toBe(true);
    expect(near(rawPixel(sheet, 8 + 2, cellsTop + 98), LIGHT_BOX, 0)).toBe(true);
    expect(near(rawPixel(sheet, 116 + 50, cellsTop + 50), RED, 4)).toBe(true);
    expect(near(rawPixel(sheet, 224 + 50, cellsTop + 50), BLUE, 4)).toBe(true);
    // The second row has one picture: its third cell stays empty.
    expect(near(rawPixel(sheet, 224 + 50, cellsTop + rowPitch + 50), BACKGROUND, 0)).toBe(true);
    expect(near(rawPixel(sheet, 116 + 50, cellsTop + rowPitch + 50), RED, 4)).toBe(true);
  });
});

describe('comparisonGrid', () => {
  it('puts the values side by side under a title', async () => {
    const cells = [
      { image: await png(256, 256, RED), label: 'steps 20' },
      { image: await png(256, 256, GREEN), label: 'steps 50' },
      { image: await png(256, 256, BLUE), label: 'steps 70' },
    ];
    const grid = await comparisonGrid(cells, 'KMPLZ, a cat', { cell: 128 });
    const top = 8 + labelHeight({ scale: 3 }) + 8;
    expect([grid.width, grid.height]).toEqual([8 + 3 * 136, top + 128 + labelHeight({ scale: 3 }) + 8]);
    for (const [index, colour] of [RED, GREEN, BLUE].entries()) {
      expect(near(rawPixel(grid, 8 + index * 136 + 64, top + 64), colour, 4)).toBe(true);
    }
    expect(near(rawPixel(grid, 8, top + 128 + 2), DARK_BOX, 0)).toBe(true);
  });
});

describe('encodeToFit', () => {
  async function noise(width: number, height: number): Promise<RawImage> {
    const { data, info } = await sharp({
      create: { width, height, channels: 3, background: '#808080', noise: { type: 'gaussian', mean: 128, sigma: 50 } },
    })
      .raw()
      .toBuffer({ resolveWithObject: true });
    return { data, width: info.width, height: info.height, channels: 3 };
  }

  it('sends PNG when it fits', async () => {
    const image = await noise(200, 100);
    const result = await encodeToFit(image, 10 * 1024 * 1024, 'reply');
    expect(result.format).toBe('png');
    expect(result.filename).toBe('reply.png');
    const decoded = await sharp(result.data).raw().toBuffer();
    expect(decoded.equals(image.data)).toBe(true);
  });

  it('falls back to JPEG, then to a smaller JPEG, under a small limit', async () => {
    const image = await noise(800, 600);
    const png = await encodeToFit(image, 10 * 1024 * 1024);
    const jpeg = await encodeToFit(image, Math.floor(png.data.length / 2), 'reply');
    expect(jpeg.format).toBe('jpeg');
    expect(jpeg.filename).toBe('reply.jpg');
    expect(jpeg.data.length).toBeLessThanOrEqual(png.data.length / 2);
    expect((await sharp(jpeg.data).metadata()).width).toBe(800);
    const small = await encodeToFit(image, 40_000);
    const meta = await sharp(small.data).metadata();
    expect(small.data.length).toBeLessThanOrEqual(40_000);
    expect(meta.format).toBe('jpeg');
    expect(meta.width).toBeLessThan(800);
    expect(meta.width! / meta.height!).toBeCloseTo(800 / 600, 1);
  });

  it('goes straight to JPEG with lossless: false', async () => {
    const result = await encodeToFit(await noise(200, 100), 10 * 1024 * 1024, 'grid', { lossless: false });
    expect([result.format, result.filename]).toEqual(['jpeg', 'grid.jpg']);
    const meta = await sharp(result.data).metadata();
    expect([meta.format, meta.width, meta.height]).toEqual(['jpeg', 200, 100]);
  });

  it('passes an encoded picture that fits through untouched, and re-encodes one that does not', async () => {
    const encoded = await sharp((await noise(400, 300)).data, { raw: { width: 400, height: 300, channels: 3 } }).png().toBuffer();
    const same = await encodeToFit(encoded, encoded.length, 'plain');
    expect(same.data).toBe(encoded);
    expect(same.filename).toBe('plain.png');
    const smaller = await encodeToFit(encoded, Math.floor(encoded.length / 3));
    expect(smaller.format).toBe('jpeg');
    expect(smaller.data.length).toBeLessThanOrEqual(encoded.length / 3);
  });

  it('throws a clear error when nothing fits', async () => {
    const error = await encodeToFit(await noise(400, 300), 200).catch((caught: unknown) => caught);
    expect(error).toBeInstanceOf(ImageError);
    expect((error as ImageError).code).toBe('cannot_fit');
  });
});

import os from 'node:os';
import sharp from 'sharp';
import { msg, type Message } from '../i18n/index.js';
import { mapConcurrent } from './concurrency.js';
import { ImageError } from './errors.js';
import { DEFAULT_PIXEL_LIMIT } from './preprocess.js';
import { rawInput, type RawImage } from './raw.js';
import { labelHeight, renderLabel, type LabelOptions } from './text.js';

/**
 * The pictures the bot posts: the generated image next to the artist's drawing, the dataset's
 * contact sheet, the training preview and the /compare grid, plus the encoder that makes any of
 * them fit Discord's upload limit.
 *
 * Layout is done here, in JS, on one RGB buffer: every piece is decoded and scaled by sharp to
 * its final size, then copied in. With opaque label boxes that is plain row copies, cheaper than
 * libvips' general compositing (which premultiplies and blends every overlay in float).
 */

type Rgb = readonly [number, number, number];

/** Discord's dark theme, so the gutters disappear into the client around the picture. */
const BACKGROUND: Rgb = [30, 31, 34];
/** What an unreadable picture is replaced with in a sheet, so one bad file does not sink the sheet. */
const MISSING: Rgb = [90, 90, 96];

class Canvas {
  readonly data: Buffer;

  constructor(
    readonly width: number,
    readonly height: number,
    background: Rgb = BACKGROUND,
  ) {
    this.data = Buffer.alloc(width * height * 3);
    this.fill(0, 0, width, height, background);
  }

  fill(left: number, top: number, width: number, height: number, colour: Rgb): void {
    const x0 = Math.max(0, left);
    const x1 = Math.min(this.width, left + width);
    if (x1 <= x0) return;
    const row = Buffer.alloc((x1 - x0) * 3);
    for (let x = 0; x < x1 - x0; x++) row.set(colour, x * 3);
    for (let y = Math.max(0, top); y < Math.min(this.height, top + height); y++) {
      row.copy(this.data, (y * this.width + x0) * 3);
    }
  }

  /** Copies `image` with its top-left corner at (left, top), clipped to the canvas; RGBA is blended. */
  draw(image: RawImage, left: number, top: number): void {
    const x0 = Math.max(0, left);
    const x1 = Math.min(this.width, left + image.width);
    if (x1 <= x0) return;
    for (let y = Math.max(0, top); y < Math.min(this.height, top + image.height); y++) {
      const source = ((y - top) * image.width + (x0 - left)) * image.channels;
      const target = (y * this.width + x0) * 3;
      if (image.channels === 3) {
        image.data.copy(this.data, target, source, source + (x1 - x0) * 3);
        continue;
      }
      for (let x = 0; x < x1 - x0; x++) {
        const s = source + x * 4;
        const t = target + x * 3;
        const alpha = image.data[s + 3] ?? 255;
        for (let c = 0; c < 3; c++) {
          const over = image.data[s + c] ?? 0;
          const under = this.data[t + c] ?? 0;
          this.data[t + c] = alpha === 255 ? over : Math.round((over * alpha + under * (255 - alpha)) / 255);
        }
      }
    }
  }

  toRaw(): RawImage {
    return { data: this.data, width: this.width, height: this.height, channels: 3 };
  }
}

/**
 * Decodes a picture (EXIF orientation applied, alpha on white) scaled to fit inside width×height.
 * Inputs here are the bot's own files and the generator's output, but they still get the pixel limit.
 */
async function fitInside(input: Buffer, width: number, height: number): Promise<RawImage> {
  const { data, info } = await sharp(input, { failOn: 'error', autoOrient: true, limitInputPixels: DEFAULT_PIXEL_LIMIT })
    .flatten({ background: '#ffffff' })
    .resize(width, height, { fit: 'inside' })
    .toColourspace('srgb')
    .raw()
    .toBuffer({ resolveWithObject: true });
  return { data, width: info.width, height: info.height, channels: 3 };
}

/** fitInside for the sheets: an unreadable picture becomes a grey box instead of failing the sheet. */
async function thumbnail(input: Buffer, side: number): Promise<RawImage> {
  try {
    return await fitInside(input, side, side);
  } catch {
    const box = new Canvas(side, side, MISSING);
    box.draw(renderLabel('unreadable', { scale: 2 }), 4, 4);
    return box.toRaw();
  }
}

function centred(outer: number, inner: number): number {
  return Math.floor((outer - inner) / 2);
}

export interface SideBySideInput {
  generated: Buffer;
  reference: Buffer;
  /** Drawn in the bottom-left corner of the generated picture, e.g. "KMPLZ · step 500". */
  leftLabel: string;
  /** Drawn in the bottom-left corner of the reference, e.g. "art: kimplz". */
  rightLabel: string;
  /** Height both pictures are scaled to (default 768: Discord previews smaller than that anyway). */
  height?: number;
}

/**
 * The generated image on the left, the artist's drawing on the right, both scaled to the same
 * height, each with its label in the bottom-left corner. A very wide picture is held to twice
 * the height and centred vertically, so a panorama cannot make a 10 000-pixel-wide reply.
 *
 * Returned as JPEG (quality 90), not raw: both halves are photographic, where PNG is about six
 * times the bytes and its encoding costs as much as the whole composition. encodeToFit passes
 * the JPEG through when it fits and only re-encodes when the limit is smaller.
 */
export async function composeSideBySide(input: SideBySideInput): Promise<Buffer> {
  const height = input.height ?? 768;
  if (!Number.isInteger(height) || height < 64 || height > 4096) {
    throw new RangeError(`height must be an integer from 64 to 4096, got ${height}`);
  }
  const decode = (image: Buffer, unreadable: (detail: string) => Message) =>
    fitInside(image, height * 2, height).catch((error: unknown) => {
      const detail = error instanceof Error ? error.message.split('\n')[0]! : String(error);
      throw new ImageError('truncated_or_corrupt', unreadable(detail));
    });
  const [left, right] = await Promise.all([
    decode(input.generated, (detail) => msg('image.truncated_or_corrupt.generated', { detail })),
    decode(input.reference, (detail) => msg('image.truncated_or_corrupt.reference', { detail })),
  ]);
  const gap = Math.max(2, Math.round(height / 96));
  const canvas = new Canvas(left.width + gap + right.width, height);
  canvas.draw(left, 0, centred(height, left.height));
  canvas.draw(right, left.width + gap, centred(height, right.height));
  const style: LabelOptions = { scale: Math.max(2, Math.round(height / 200)) };
  const margin = style.scale ?? 2;
  const labelTop = height - labelHeight(style) - margin * 2;
  canvas.draw(renderLabel(input.leftLabel, { ...style, maxWidth: left.width - margin * 4 }), margin * 2, labelTop);
  canvas.draw(
    renderLabel(input.rightLabel, { ...style, maxWidth: right.width - margin * 4 }),
    left.width + gap + margin * 2,
    labelTop,
  );
  const raw = canvas.toRaw();
  return sharp(raw.data, rawInput(raw)).jpeg({ quality: 90 }).toBuffer();
}

export interface LabelledImage {
  image: Buffer;
  label: string;
}

const GUTTER = 8;

/**
 * Lays out cells of `cell`×`cell` pictures with a label under each, `columns` to a row, under an
 * optional title. Thumbnails are decoded with bounded parallelism: a sheet of a 200-image dataset
 * must not hold 200 decodes at once.
 */
async function grid(
  cells: readonly LabelledImage[],
  columns: number,
  cell: number,
  label: LabelOptions,
  title?: string,
): Promise<RawImage> {
  if (cells.length === 0) throw new RangeError('a sheet needs at least one picture');
  if (!Number.isInteger(columns) || columns < 1) throw new RangeError(`columns must be a positive integer, got ${columns}`);
  if (!Number.isInteger(cell) || cell < 32 || cell > 2048) throw new RangeError(`cell must be an integer from 32 to 2048, got ${cell}`);
  const titleStyle: LabelOptions = { scale: 3 };
  const titleHeight = title === undefined ? 0 : labelHeight(titleStyle) + GUTTER;
  const pitchX = cell + GUTTER;
  const pitchY = cell + labelHeight(label) + GUTTER;
  const rows = Math.ceil(cells.length / columns);
  const canvas = new Canvas(GUTTER + columns * pitchX, GUTTER + titleHeight + rows * pitchY);
  if (title !== undefined) {
    canvas.draw(renderLabel(title, { ...titleStyle, maxWidth: canvas.width - 2 * GUTTER }), GUTTER, GUTTER);
  }
  const thumbnails = await mapConcurrent(cells, os.availableParallelism(), (item) => thumbnail(item.image, cell));
  thumbnails.forEach((picture, index) => {
    const left = GUTTER + (index % columns) * pitchX;
    const top = GUTTER + titleHeight + Math.floor(index / columns) * pitchY;
    canvas.draw(picture, left + centred(cell, picture.width), top + centred(cell, picture.height));
    canvas.draw(renderLabel(cells[index]?.label ?? '', { ...label, maxWidth: cell }), left, top + cell);
  });
  return canvas.toRaw();
}

/** /dataset list: the dataset's pictures as thumbnails in a grid, each with its name. */
export function contactSheet(
  items: readonly LabelledImage[],
  options: { columns?: number; cell?: number } = {},
): Promise<RawImage> {
  const columns = options.columns ?? Math.min(8, items.length);
  return grid(items, columns, options.cell ?? 192, { scale: 2 });
}

/** /compare: the same prompt and seed across values, one labelled cell per value. */
export function comparisonGrid(
  cells: readonly LabelledImage[],
  title: string,
  options: { columns?: number; cell?: number } = {},
): Promise<RawImage> {
  const columns = options.columns ?? (cells.length <= 4 ? cells.length : Math.ceil(Math.sqrt(cells.length)));
  return grid(cells, columns, options.cell ?? 384, { scale: 3 }, title);
}

export interface PreviewRow {
  /** The artist's drawing the prompt is about, shown first in the row. */
  reference: Buffer;
  images: readonly Buffer[];
  /** The prompt of the row. */
  label: string;
}

/**
 * A training checkpoint's preview: `title` (the step) on top, then one row per prompt: the prompt
 * across the row, the artist's drawing first (tagged "reference"), then what the checkpoint made
 * of the prompt.
 */
export async function previewSheet(
  rows: readonly PreviewRow[],
  title: string,
  options: { cell?: number } = {},
): Promise<RawImage> {
  if (rows.length === 0) throw new RangeError('a preview needs at least one row');
  const cell = options.cell ?? 256;
  if (!Number.isInteger(cell) || cell < 32 || cell > 2048) throw new RangeError(`cell must be an integer from 32 to 2048, got ${cell}`);
  const columns = 1 + Math.max(...rows.map((row) => row.images.length));
  const titleStyle: LabelOptions = { scale: 3 };
  const rowStyle: LabelOptions = { scale: 2 };
  const titleHeight = labelHeight(titleStyle) + GUTTER;
  const rowPitch = labelHeight(rowStyle) + GUTTER / 2 + cell + GUTTER;
  const canvas = new Canvas(GUTTER + columns * (cell + GUTTER), GUTTER + titleHeight + rows.length * rowPitch);
  canvas.draw(renderLabel(title, { ...titleStyle, maxWidth: canvas.width - 2 * GUTTER }), GUTTER, GUTTER);
  const pictures = rows.flatMap((row, rowIndex) =>
    [row.reference, ...row.images].map((image, column) => ({ image, rowIndex, column })),
  );
  const decoded = await mapConcurrent(pictures, os.availableParallelism(), (picture) => thumbnail(picture.image, cell));
  const tag = renderLabel('reference', { scale: 2, theme: 'light' });
  rows.forEach((row, rowIndex) => {
    const top = GUTTER + titleHeight + rowIndex * rowPitch;
    canvas.draw(renderLabel(row.label, { ...rowStyle, maxWidth: canvas.width - 2 * GUTTER }), GUTTER, top);
    const cellsTop = top + labelHeight(rowStyle) + GUTTER / 2;
    pictures.forEach((picture, index) => {
      const thumb = decoded[index];
      if (picture.rowIndex !== rowIndex || !thumb) return;
      const left = GUTTER + picture.column * (cell + GUTTER);
      canvas.draw(thumb, left + centred(cell, thumb.width), cellsTop + centred(cell, thumb.height));
      if (picture.column === 0) canvas.draw(tag, left, cellsTop + cell - tag.height);
    });
  });
  return canvas.toRaw();
}

export interface EncodedImage {
  data: Buffer;
  format: 'png' | 'jpeg' | 'webp' | 'gif';
  filename: string;
}

const EXTENSIONS: Record<EncodedImage['format'], string> = { png: 'png', jpeg: 'jpg', webp: 'webp', gif: 'gif' };

function isPassThrough(format: string): format is EncodedImage['format'] {
  return format in EXTENSIONS;
}

/** Lossy steps: the quality ladder tried at each size, and how much each size step shrinks. */
const JPEG_QUALITIES = [90, 75, 60] as const;
const SCALE_STEP = 0.75;
const SMALLEST_SIDE = 64;

export interface EncodeOptions {
  /**
   * Try PNG first (default). Turn it off for photographic pictures such as the /compare grid:
   * there JPEG at quality 90 looks the same at a sixth of the bytes, and a PNG encode costs about
   * as much as composing the picture.
   */
  lossless?: boolean;
}

/**
 * Encodes an image so that it fits in `maxBytes` (Discord's `attachment_size_limit` for the
 * server, or the share of it this attachment may use). An already-encoded picture that fits is
 * sent as it is. Otherwise: PNG if it fits and `lossless` is not off (zlib level 1: on
 * photo-like content higher levels save about a tenth of the bytes for twice the time), then JPEG
 * at decreasing quality, then JPEG scaled down step by step. JPEG rather than WebP for the lossy
 * steps: it encodes 3–4× faster at these sizes and every Discord client shows it.
 */
export async function encodeToFit(
  image: RawImage | Buffer,
  maxBytes: number,
  basename = 'image',
  options: EncodeOptions = {},
): Promise<EncodedImage> {
  if (!Number.isFinite(maxBytes) || maxBytes <= 0) throw new RangeError(`maxBytes must be positive, got ${maxBytes}`);
  const result = (data: Buffer, format: EncodedImage['format']): EncodedImage => ({
    data,
    format,
    filename: `${basename}.${EXTENSIONS[format]}`,
  });
  let raw: RawImage;
  if (Buffer.isBuffer(image)) {
    let format: string;
    try {
      format = (await sharp(image, { limitInputPixels: DEFAULT_PIXEL_LIMIT }).metadata()).format;
    } catch {
      throw new ImageError('not_an_image', msg('image.not_an_image.to-send'));
    }
    if (image.length <= maxBytes && isPassThrough(format)) return result(image, format);
    try {
      const { data, info } = await sharp(image, { failOn: 'error', autoOrient: true, limitInputPixels: DEFAULT_PIXEL_LIMIT })
        .toColourspace('srgb')
        .raw()
        .toBuffer({ resolveWithObject: true });
      raw = { data, width: info.width, height: info.height, channels: info.channels === 4 ? 4 : 3 };
    } catch {
      throw new ImageError('truncated_or_corrupt', msg('image.truncated_or_corrupt.to-send'));
    }
  } else {
    raw = image;
  }
  if (options.lossless ?? true) {
    const png = await sharp(raw.data, rawInput(raw)).png({ compressionLevel: 1 }).toBuffer();
    if (png.length <= maxBytes) return result(png, 'png');
  }
  for (let scale = 1; Math.min(raw.width, raw.height) * scale >= SMALLEST_SIDE; scale *= SCALE_STEP) {
    const width = Math.max(1, Math.round(raw.width * scale));
    const height = Math.max(1, Math.round(raw.height * scale));
    const scaled =
      scale === 1
        ? raw
        : await sharp(raw.data, rawInput(raw))
            .resize(width, height, { fit: 'fill' })
            .raw()
            .toBuffer()
            .then((data): RawImage => ({ data, width, height, channels: raw.channels }));
    for (const quality of JPEG_QUALITIES) {
      const jpeg = await sharp(scaled.data, rawInput(scaled))
        .flatten({ background: '#ffffff' })
        .jpeg({ quality })
        .toBuffer();
      if (jpeg.length <= maxBytes) return result(jpeg, 'jpeg');
    }
  }
  throw new ImageError('cannot_fit', msg('image.cannot_fit', { limit: formatBytes(maxBytes), side: SMALLEST_SIDE }));
}

function formatBytes(bytes: number): Message {
  return bytes >= 1024 * 1024 ? msg('unit.mib', { size: (bytes / (1024 * 1024)).toFixed(1) }) : msg('unit.kib', { size: Math.ceil(bytes / 1024) });
}

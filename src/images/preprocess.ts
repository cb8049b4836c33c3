import os from 'node:os';
import sharp, { type Metadata, type OutputInfo, type Sharp } from 'sharp';
import { msg, render, type Message } from '../i18n/index.js';
import { mapConcurrent } from './concurrency.js';
import { ImageError, type ImageErrorCode } from './errors.js';

// Every upload is decoded once and never again, so libvips' operation cache (up to 50 MB by
// default) would only hold memory. This is process-wide: the composers run without it too.
sharp.cache(false);

export type CropStrategy = 'attention' | 'centre';

/** The side of the square training images (SDXL's native resolution). */
export const DEFAULT_TRAINING_SIZE = 1024;

/**
 * The most pixels an input may claim in its header. It takes a 48 MP phone photo (8000×6000) and
 * an A4 page scanned at 600 dpi (35 MP); anything larger is refused before decoding, which bounds
 * the memory one image can take.
 */
export const DEFAULT_PIXEL_LIMIT = 64_000_000;

/** Inputs whose short side is below this get a warning: enlarged to the training size, they are soft. */
export const SMALL_SIDE_WARNING = 512;

/**
 * Training images are JPEG at quality 94 with 4:4:4 chroma (no colour subsampling, which would
 * smear thin coloured lines). Measured on a 1024² square of the bench drawings: 7 ms and 660 KB,
 * against 23 ms and 2.4 MB for PNG at zlib level 1 (49 ms, 2.1 MB at the default level 6). The
 * loss is far below what SDXL's VAE loses when it encodes the picture, and the trainer rescales
 * to its own resolution (768 by default) anyway. Huffman optimisation is off: it tripled the
 * encode time (20 ms) to save 6% of the bytes.
 */
const TRAINING_JPEG = { quality: 94, chromaSubsampling: '4:4:4', optimiseCoding: false } as const;

/** Formats sharp decodes from a buffer that are raster pictures a person would upload. */
const ACCEPTED_FORMATS = new Set(['jpeg', 'png', 'webp', 'gif', 'tiff', 'heif']);

export interface PreprocessOptions {
  /** Side of the square output, in pixels (default 1024). */
  size?: number;
  /** Which square to keep: the most interesting region (default) or the middle. */
  crop?: CropStrategy;
  /** Refuse inputs whose header claims more pixels than this (default 64 MP). */
  limitInputPixels?: number;
}

export interface ImageInfo {
  /** As displayed, i.e. after EXIF orientation. */
  width: number;
  height: number;
  format: string;
}

export interface PreprocessResult {
  image: Buffer;
  format: 'jpeg';
  width: number;
  height: number;
  original: ImageInfo;
  /** What the trainer should know about the picture taken (it is small), in English, for logs. */
  warnings: string[];
  /** The same warnings as catalog messages, to be shown in the reader's language. */
  warningMessages: Message[];
}

export type ProbeResult =
  | { ok: true; info: ImageInfo }
  | { ok: false; code: ImageErrorCode; reason: string; text: Message };

export interface NamedInput {
  name: string;
  data: Buffer;
}

export type PreprocessOutcome =
  | { name: string; ok: true; result: PreprocessResult }
  | { name: string; ok: false; code: ImageErrorCode; reason: string };

/**
 * Reads the header only (no pixel data is decompressed), then refuses what the bot will not take.
 * The pixel limit is checked here rather than left to sharp so that the refusal can say how big
 * the picture claims to be.
 */
async function readHeader(input: Buffer, limitInputPixels: number): Promise<ImageInfo> {
  if (input.length === 0) throw new ImageError('not_an_image', msg('image.not_an_image.empty'));
  let metadata: Metadata;
  try {
    metadata = await sharp(input, { limitInputPixels: false }).metadata();
  } catch (error) {
    const message = error instanceof Error ? error.message : String(error);
    if (message.includes('unsupported image format')) {
      throw new ImageError('not_an_image', msg('image.not_an_image'));
    }
    throw new ImageError('truncated_or_corrupt', msg('image.truncated_or_corrupt.header'));
  }
  const { format } = metadata;
  if (!ACCEPTED_FORMATS.has(format)) {
    throw new ImageError('unsupported_format', msg('image.unsupported_format', { format: format.toUpperCase() }));
  }
  if (format === 'heif' && metadata.compression !== 'av1') {
    throw new ImageError('unsupported_format', msg('image.unsupported_format.heic'));
  }
  const { width, height } = metadata.autoOrient;
  if (width * height > limitInputPixels) {
    throw new ImageError(
      'too_many_pixels',
      msg('image.too_many_pixels', { width, height, megapixels: megapixels(width * height), limit: megapixels(limitInputPixels) }),
    );
  }
  return { width, height, format };
}

function megapixels(pixels: number): string {
  return (pixels / 1e6).toFixed(pixels < 10e6 ? 1 : 0);
}

/** Untrusted input: refuse truncated and damaged pixel data instead of decoding grey or garbage. */
function open(input: Buffer, limitInputPixels: number): Sharp {
  // 'error' rather than sharp's strictest 'warning': many real exports carry benign libjpeg/libpng
  // warnings (extraneous bytes, known-incorrect sRGB profiles) and decode perfectly well.
  return sharp(input, { failOn: 'error', limitInputPixels, autoOrient: true });
}

function decodeFailure(error: unknown): ImageError {
  const detail = error instanceof Error ? error.message.split('\n')[0]! : String(error);
  return new ImageError('truncated_or_corrupt', msg('image.truncated_or_corrupt', { detail }));
}

/**
 * Classifies an input without keeping anything: a header check, then one cheap full decode (JPEG
 * and WebP at reduced scale) so that truncation is found too. preprocessImage does not need it:
 * it makes the same checks on its way.
 */
export async function probeImage(
  input: Buffer,
  options: { limitInputPixels?: number } = {},
): Promise<ProbeResult> {
  const limit = options.limitInputPixels ?? DEFAULT_PIXEL_LIMIT;
  try {
    const info = await readHeader(input, limit);
    try {
      await open(input, limit).resize(64, 64, { fit: 'inside' }).raw().toBuffer();
    } catch (error) {
      throw decodeFailure(error);
    }
    return { ok: true, info };
  } catch (error) {
    if (error instanceof ImageError) return { ok: false, code: error.code, reason: error.message, text: error.text };
    throw error;
  }
}

/**
 * The training square as a sharp pipeline, once the header has been checked: EXIF orientation
 * applied, alpha flattened on white, the short side scaled to `size` and the square cut out, in
 * one streaming libvips pass. Shrink-on-load is sharp's: WebP is decoded at reduced scale whenever
 * it is larger than needed, JPEG only from 3× the size (a 4032×3024 photo, 2.95× of 1024, is
 * decoded in full: sharp avoids libjpeg's rounding near integer factors).
 */
function trainingSquare(input: Buffer, size: number, crop: CropStrategy, limitInputPixels: number): Sharp {
  return open(input, limitInputPixels)
    .flatten({ background: '#ffffff' })
    .resize(size, size, {
      fit: 'cover',
      position: crop === 'attention' ? sharp.strategy.attention : 'centre',
    })
    // Greyscale scans and 16-bit or CMYK files all come out as 8-bit sRGB, what trainers expect.
    .toColourspace('srgb');
}

export async function preprocessImage(input: Buffer, options: PreprocessOptions = {}): Promise<PreprocessResult> {
  const size = options.size ?? DEFAULT_TRAINING_SIZE;
  const crop = options.crop ?? 'attention';
  const limit = options.limitInputPixels ?? DEFAULT_PIXEL_LIMIT;
  if (!Number.isInteger(size) || size < 64 || size > 4096) {
    throw new RangeError(`size must be an integer from 64 to 4096, got ${size}`);
  }
  const original = await readHeader(input, limit);
  let output: { data: Buffer; info: OutputInfo };
  try {
    output = await trainingSquare(input, size, crop, limit)
      .jpeg(TRAINING_JPEG)
      .toBuffer({ resolveWithObject: true });
  } catch (error) {
    throw decodeFailure(error);
  }
  const warningMessages: Message[] = [];
  const shortSide = Math.min(original.width, original.height);
  if (shortSide < SMALL_SIDE_WARNING) {
    const { width, height } = original;
    warningMessages.push(
      shortSide < size
        ? msg('image.small.enlarged', { width, height, min: SMALL_SIDE_WARNING, size })
        : msg('image.small', { width, height, min: SMALL_SIDE_WARNING }),
    );
  }
  return {
    image: output.data,
    format: 'jpeg',
    width: output.info.width,
    height: output.info.height,
    original,
    warnings: warningMessages.map((warning) => render('en', warning)),
    warningMessages,
  };
}

/**
 * Preprocesses many inputs with at most `concurrency` in flight (default: one per core). sharp is
 * left at its own setting of libvips threads per image (one, on glibc Linux), so the parallelism
 * comes from here and memory stays at about `concurrency` images. Failures are returned per input,
 * never thrown: one bad file does not stop the others.
 */
export async function preprocessMany(
  inputs: Iterable<NamedInput> | AsyncIterable<NamedInput>,
  options: PreprocessOptions & { concurrency?: number } = {},
): Promise<PreprocessOutcome[]> {
  const concurrency = options.concurrency ?? os.availableParallelism();
  return mapConcurrent(inputs, concurrency, async ({ name, data }): Promise<PreprocessOutcome> => {
    try {
      return { name, ok: true, result: await preprocessImage(data, options) };
    } catch (error) {
      if (error instanceof ImageError) return { name, ok: false, code: error.code, reason: error.message };
      throw error;
    }
  });
}

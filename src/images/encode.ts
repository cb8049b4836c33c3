import sharp from 'sharp';
import { msg, type Message } from '../i18n/index.js';
import { ImageError } from './errors.js';
import { DEFAULT_PIXEL_LIMIT } from './preprocess.js';
import { rawInput, type RawImage } from './raw.js';

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

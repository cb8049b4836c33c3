import sharp from 'sharp';
import { DEFAULT_PIXEL_LIMIT } from './preprocess.js';

/** How an original is kept: see keepableOriginal. */
export interface KeptOriginal {
  data: Buffer;
  format: 'jpeg' | 'png';
}

/**
 * Photographic inputs stay JPEG at quality 92 with the upload's own chroma subsampling: phones
 * write 4:2:0, where 4:4:4 would only add bytes (a 12 MP photo: 4.1 MB instead of 2.6 MB, the
 * upload's size); a scan saved at 4:4:4 keeps its thin coloured lines. A PNG of a 12 MP phone
 * photo would be five times the upload.
 */
const ORIGINAL_JPEG_QUALITY = 92;
/** Lossless inputs stay lossless; level 4 compresses within a few per cent of 9 at a fraction of the time. */
const ORIGINAL_PNG = { compressionLevel: 4 } as const;
const LOSSY_FORMATS = new Set(['jpeg', 'heif']);

/**
 * The copy of an upload that is kept as its "original" (shown next to generations): the picture
 * upright, without any of its metadata. Phone photos carry EXIF GPS (where a student lives), the
 * camera, the time; none of that is needed to show a drawing. The EXIF orientation is applied to
 * the pixels first, since it goes with the rest. sharp writes no metadata unless asked
 * (`withMetadata`, `keepExif`…), so the encode below keeps none: no EXIF, XMP, IPTC or ICC.
 * A JPEG or HEIF/AVIF photo stays a JPEG (high quality); PNG, WebP, GIF and TIFF become PNG (no further loss).
 * Only called on inputs the intake has decoded in full already, with the intake's `failOn`.
 */
export async function keepableOriginal(input: Buffer, format: string): Promise<KeptOriginal> {
  // Colour-managed inputs become sRGB, what every viewer assumes without a profile.
  const upright = sharp(input, { failOn: 'error', limitInputPixels: DEFAULT_PIXEL_LIMIT, autoOrient: true }).toColourspace('srgb');
  if (LOSSY_FORMATS.has(format)) {
    const { chromaSubsampling } = await sharp(input).metadata();
    const jpeg = { quality: ORIGINAL_JPEG_QUALITY, chromaSubsampling: chromaSubsampling === '4:4:4' ? '4:4:4' : '4:2:0' };
    // JPEG has no alpha: a transparent AVIF goes on white, as it is shown everywhere else, not on black.
    return { data: await upright.flatten({ background: '#ffffff' }).jpeg(jpeg).toBuffer(), format: 'jpeg' };
  }
  return { data: await upright.png(ORIGINAL_PNG).toBuffer(), format: 'png' };
}

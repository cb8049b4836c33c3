import { CatalogError } from '../errors.js';

/**
 * Why an image was refused or could not be made. The codes are stable (callers and tests match on
 * them); the messages (`image.<code>…` in the catalogs) are short sentences a user can read in a
 * Discord reply.
 */
export type ImageErrorCode =
  /** Not a picture at all (a text file, an empty file, an unknown format). */
  | 'not_an_image'
  /** A picture in a format the bot does not take (SVG, HEIC, camera RAW…). */
  | 'unsupported_format'
  /** The header claims more pixels than the limit: refused before any decoding. */
  | 'too_many_pixels'
  /** The header is readable but the pixel data is cut short or damaged. */
  | 'truncated_or_corrupt'
  /** No encoding of the image fits the byte limit, even scaled down. */
  | 'cannot_fit';

export class ImageError extends CatalogError<ImageErrorCode> {
  override readonly name = 'ImageError';
}

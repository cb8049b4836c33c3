import sharp from 'sharp';
import { DEFAULT_PIXEL_LIMIT } from './preprocess.js';
import type { RawImage } from './raw.js';
import { renderLabel } from './text.js';

/**
 * The drawing surface every composed picture is laid out on, and the decoding that feeds it.
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

export class Canvas {
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
export async function fitInside(input: Buffer, width: number, height: number): Promise<RawImage> {
  const { data, info } = await sharp(input, { failOn: 'error', autoOrient: true, limitInputPixels: DEFAULT_PIXEL_LIMIT })
    .flatten({ background: '#ffffff' })
    .resize(width, height, { fit: 'inside' })
    .toColourspace('srgb')
    .raw()
    .toBuffer({ resolveWithObject: true });
  return { data, width: info.width, height: info.height, channels: 3 };
}

/** fitInside for the sheets: an unreadable picture becomes a grey box instead of failing the sheet. */
export async function thumbnail(input: Buffer, side: number): Promise<RawImage> {
  try {
    return await fitInside(input, side, side);
  } catch {
    const box = new Canvas(side, side, MISSING);
    box.draw(renderLabel('unreadable', { scale: 2 }), 4, 4);
    return box.toRaw();
  }
}

/** Where a piece of size `inner` starts so that it sits in the middle of `outer`. */
export function centred(outer: number, inner: number): number {
  return Math.floor((outer - inner) / 2);
}

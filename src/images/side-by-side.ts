import sharp from 'sharp';
import { msg, type Message } from '../i18n/index.js';
import { Canvas, centred, fitInside } from './canvas.js';
import { ImageError } from './errors.js';
import { rawInput } from './raw.js';
import { labelHeight, renderLabel, type LabelOptions } from './text.js';

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

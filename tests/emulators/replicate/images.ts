import { createHash } from 'node:crypto';
import sharp from 'sharp';

export interface Rgb {
  r: number;
  g: number;
  b: number;
}

/**
 * Named colours the emulated captioners can tell apart. Test images are drawn in one of these so
 * a caption names which image it came from.
 */
export const PALETTE = {
  black: { r: 0, g: 0, b: 0 },
  white: { r: 255, g: 255, b: 255 },
  grey: { r: 128, g: 128, b: 128 },
  red: { r: 220, g: 30, b: 30 },
  orange: { r: 245, g: 140, b: 20 },
  yellow: { r: 240, g: 220, b: 30 },
  green: { r: 40, g: 170, b: 60 },
  cyan: { r: 30, g: 200, b: 210 },
  blue: { r: 30, g: 70, b: 220 },
  purple: { r: 130, g: 50, b: 190 },
  pink: { r: 240, g: 120, b: 190 },
  brown: { r: 130, g: 80, b: 40 },
} satisfies Record<string, Rgb>;

/** A PNG of one colour: what the emulated SDXL outputs and what tests feed the captioners. */
export function solidPng(width: number, height: number, colour: Rgb): Promise<Buffer> {
  return sharp({ create: { width, height, channels: 3, background: colour } })
    .png()
    .toBuffer();
}

/**
 * A colour fully determined by `key` (a generation's inputs), so equal inputs make equal images
 * and a changed seed, step count or checkpoint makes a visibly different one.
 */
export function colourFor(key: string): Rgb {
  const digest = createHash('sha256').update(key).digest();
  return { r: digest[0] ?? 0, g: digest[1] ?? 0, b: digest[2] ?? 0 };
}

export interface ImageDescription {
  width: number;
  height: number;
  /** Nearest {@link PALETTE} name to the image's mean colour. */
  colour: string;
  /** BLIP-like sentence without any prefix, e.g. `a drawing of a red square`. */
  caption: string;
}

/** Decodes an image and describes it; throws as PIL would when the bytes are not an image. */
export async function describeImage(bytes: Buffer): Promise<ImageDescription> {
  const image = sharp(bytes);
  const [{ width, height }, stats] = await Promise.all([image.metadata(), image.stats()]);
  const [r, g, b] = stats.channels.map((c) => c.mean);
  const colour = nearestColour({ r: r ?? 0, g: g ?? r ?? 0, b: b ?? r ?? 0 });
  const shape = width === height ? 'square' : width > height ? 'wide rectangle' : 'tall rectangle';
  return { width, height, colour, caption: `a drawing of a ${colour} ${shape}` };
}

function nearestColour(rgb: Rgb): string {
  let best = 'grey';
  let bestDistance = Infinity;
  for (const [name, c] of Object.entries(PALETTE)) {
    const distance = (c.r - rgb.r) ** 2 + (c.g - rgb.g) ** 2 + (c.b - rgb.b) ** 2;
    if (distance < bestDistance) {
      best = name;
      bestDistance = distance;
    }
  }
  return best;
}

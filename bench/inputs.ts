import { mkdir, readdir, stat } from 'node:fs/promises';
import path from 'node:path';
import sharp from 'sharp';

/**
 * The 64 inputs of the preprocessing bench, made once and kept in bench/out/ (git-ignored):
 * what a class really uploads, in four kinds of 16 each.
 */
export interface BenchInput {
  file: string;
  kind: 'phone-jpeg' | 'a4-png-alpha' | 'webp-2048' | 'small-png';
}

const PER_KIND = 16;

/** mulberry32: a seeded generator so every machine draws the same pictures. */
function seeded(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/**
 * An SVG "drawing": gradient-filled blobs, ink strokes of several widths and hatching, so the
 * encoders and the attention crop see edges and texture the way they would in real artwork.
 */
export function drawingSvg(width: number, height: number, seed: number, transparent: boolean): string {
  const rand = seeded(seed);
  const unit = Math.min(width, height) / 1000;
  const x = () => (rand() * width).toFixed(1);
  const y = () => (rand() * height).toFixed(1);
  const hue = () => Math.floor(rand() * 360);
  const parts: string[] = [];
  const defs: string[] = [];
  if (!transparent) parts.push(`<rect width="100%" height="100%" fill="hsl(${hue()},30%,94%)"/>`);
  const blobs = 4 + Math.floor(rand() * 4);
  for (let i = 0; i < blobs; i++) {
    defs.push(
      `<linearGradient id="g${i}" x1="0" y1="0" x2="1" y2="1">` +
        `<stop offset="0" stop-color="hsl(${hue()},70%,60%)"/>` +
        `<stop offset="1" stop-color="hsl(${hue()},60%,35%)"/></linearGradient>`,
    );
    parts.push(
      `<path d="M${x()},${y()} C${x()},${y()} ${x()},${y()} ${x()},${y()} S${x()},${y()} ${x()},${y()} Z" ` +
        `fill="url(#g${i})" fill-opacity="${(0.5 + rand() * 0.5).toFixed(2)}"/>`,
    );
  }
  const strokes = 60 + Math.floor(rand() * 60);
  for (let i = 0; i < strokes; i++) {
    const w = (1 + rand() * 9) * unit;
    parts.push(
      `<path d="M${x()},${y()} C${x()},${y()} ${x()},${y()} ${x()},${y()}" fill="none" ` +
        `stroke="hsl(${hue()},40%,${Math.floor(rand() * 30)}%)" stroke-width="${w.toFixed(1)}" stroke-linecap="round"/>`,
    );
  }
  for (let h = 0; h < 3; h++) {
    const cx = rand() * width;
    const cy = rand() * height;
    const size = (100 + rand() * 200) * unit;
    for (let k = 0; k < 20; k++) {
      const off = (k / 20) * size;
      parts.push(
        `<line x1="${(cx + off).toFixed(1)}" y1="${cy.toFixed(1)}" x2="${(cx + off - size / 2).toFixed(1)}" ` +
          `y2="${(cy + size).toFixed(1)}" stroke="#222" stroke-width="${(1.5 * unit).toFixed(1)}"/>`,
      );
    }
  }
  return (
    `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}">` +
    `<defs>${defs.join('')}</defs>${parts.join('')}</svg>`
  );
}

/** Renders a drawing, with sensor/paper noise laid over it when `noise` is set (photos and scans). */
async function render(width: number, height: number, seed: number, transparent: boolean, noise: number) {
  const drawing = sharp(Buffer.from(drawingSvg(width, height, seed, transparent)));
  if (noise === 0) return drawing;
  const grain = await sharp({
    create: { width, height, channels: 3, background: '#808080', noise: { type: 'gaussian', mean: 128, sigma: noise } },
  })
    .png({ compressionLevel: 0 })
    .toBuffer();
  return sharp(await drawing.png({ compressionLevel: 0 }).toBuffer()).composite([{ input: grain, blend: 'soft-light' }]);
}

async function exists(file: string): Promise<boolean> {
  try {
    return (await stat(file)).size > 0;
  } catch {
    return false;
  }
}

/** Makes the inputs that are missing (the first run takes a minute) and lists all 64. */
export async function ensureInputs(dir: string): Promise<BenchInput[]> {
  await mkdir(dir, { recursive: true });
  const inputs: BenchInput[] = [];
  for (let i = 0; i < PER_KIND; i++) {
    inputs.push(
      { file: path.join(dir, `phone-${i}.jpg`), kind: 'phone-jpeg' },
      { file: path.join(dir, `a4-${i}.png`), kind: 'a4-png-alpha' },
      { file: path.join(dir, `paint-${i}.webp`), kind: 'webp-2048' },
      { file: path.join(dir, `small-${i}.png`), kind: 'small-png' },
    );
  }
  for (const [index, input] of inputs.entries()) {
    if (await exists(input.file)) continue;
    const seed = 1000 + index;
    switch (input.kind) {
      case 'phone-jpeg': {
        // A phone held upright: the sensor stores 4032×3024 landscape pixels and EXIF says "rotate 90°".
        const upright = await (await render(3024, 4032, seed, false, 10)).png({ compressionLevel: 0 }).toBuffer();
        await sharp(upright).rotate(270).jpeg({ quality: 90 }).withMetadata({ orientation: 6 }).toFile(input.file);
        break;
      }
      case 'a4-png-alpha':
        await (await render(2480, 3508, seed, true, 0)).png().toFile(input.file);
        break;
      case 'webp-2048':
        await (await render(2048, 2048, seed, false, 4)).webp({ quality: 85 }).toFile(input.file);
        break;
      case 'small-png':
        await (await render(480, 640, seed, false, 0)).png().toFile(input.file);
        break;
    }
  }
  const present = new Set(await readdir(dir));
  return inputs.filter((input) => present.has(path.basename(input.file)));
}

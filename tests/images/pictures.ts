import { crc32, deflateSync } from 'node:zlib';
import sharp, { type Sharp } from 'sharp';

/** Small pictures made on the spot, and a way to read one pixel back. */

export type Rgb = [number, number, number];

export function solid(width: number, height: number, colour: Rgb | [number, number, number, number]): Sharp {
  const [r, g, b, alpha = 255] = colour;
  return sharp({ create: { width, height, channels: 4, background: { r, g, b, alpha: alpha / 255 } } });
}

/** A picture whose top half is `top` and bottom half is `bottom`. */
export async function halves(width: number, height: number, top: Rgb, bottom: Rgb): Promise<Sharp> {
  const lower = await solid(width, height - Math.floor(height / 2), bottom).png().toBuffer();
  return sharp(await solid(width, height, top).composite([{ input: lower, left: 0, top: Math.floor(height / 2) }]).png().toBuffer());
}

function seeded(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state * 1664525 + 1013904223) >>> 0;
    return state / 4294967296;
  };
}

/** A drawing-like picture: coloured shapes and dark strokes on paper, different for each seed. */
export function drawing(seed: number, width = 640, height = 480): Sharp {
  const rand = seeded(seed);
  const parts = [`<rect width="100%" height="100%" fill="#f4f1ea"/>`];
  for (let i = 0; i < 6; i++) {
    parts.push(
      `<circle cx="${rand() * width}" cy="${rand() * height}" r="${20 + rand() * height * 0.3}" ` +
        `fill="hsl(${Math.floor(rand() * 360)},70%,55%)" fill-opacity="0.8"/>`,
    );
  }
  for (let i = 0; i < 30; i++) {
    parts.push(
      `<path d="M${rand() * width},${rand() * height} Q${rand() * width},${rand() * height} ${rand() * width},${rand() * height}" ` +
        `stroke="#222" stroke-width="${1 + rand() * 6}" fill="none"/>`,
    );
  }
  return sharp(Buffer.from(`<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}">${parts.join('')}</svg>`));
}

/** RGB(A) of one pixel of an encoded or raw picture. */
export async function pixelAt(image: Buffer, x: number, y: number): Promise<number[]> {
  const { data, info } = await sharp(image).raw().toBuffer({ resolveWithObject: true });
  const offset = (y * info.width + x) * info.channels;
  return [...data.subarray(offset, offset + info.channels)];
}

/** Whether `actual` is within `tolerance` of `expected` on every RGB channel (JPEG is lossy). */
export function near(actual: readonly number[], expected: Rgb, tolerance = 24): boolean {
  return expected.every((value, channel) => Math.abs((actual[channel] ?? -1000) - value) <= tolerance);
}

function chunk(type: string, data: Buffer): Buffer {
  const length = Buffer.alloc(4);
  length.writeUInt32BE(data.length);
  const body = Buffer.concat([Buffer.from(type, 'latin1'), data]);
  const crc = Buffer.alloc(4);
  crc.writeUInt32BE(crc32(body));
  return Buffer.concat([length, body, crc]);
}

/**
 * A valid PNG whose header claims width×height RGB pixels but whose data is a few hundred bytes:
 * decoding it would try to allocate gigabytes.
 */
export function bombPng(width: number, height: number): Buffer {
  const header = Buffer.alloc(13);
  header.writeUInt32BE(width, 0);
  header.writeUInt32BE(height, 4);
  header[8] = 8; // bit depth
  header[9] = 2; // truecolour
  return Buffer.concat([
    Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]),
    chunk('IHDR', header),
    chunk('IDAT', deflateSync(Buffer.alloc(4096))),
    chunk('IEND', Buffer.alloc(0)),
  ]);
}

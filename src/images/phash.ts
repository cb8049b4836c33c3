import sharp from 'sharp';
import { msg } from '../i18n/index.js';
import { ImageError } from './errors.js';

/** pHash looks at a 32×32 greyscale picture and keeps the 8×8 lowest frequencies of its DCT. */
const SIDE = 32;
const BLOCK = 8;
const COSINES = new Float64Array((BLOCK + 1) * SIDE);
for (let k = 0; k <= BLOCK; k++) {
  for (let n = 0; n < SIDE; n++) COSINES[k * SIDE + n] = Math.cos(((2 * n + 1) * k * Math.PI) / (2 * SIDE));
}

/**
 * Perceptual hash: the DCT pHash (64 bits from a 32×32 greyscale picture), as 16 hex digits.
 *
 * Why pHash and not dHash: the duplicates a class uploads are the same drawing exported twice,
 * rescaled, recompressed, or brightened a little. pHash keeps only the signs of the lowest
 * frequencies relative to their median, which none of those change; dHash compares neighbouring
 * pixels of a 9×8 picture, which a small shift or a crop of a few percent already flips. Both cost
 * next to nothing next to decoding the image, so the more robust one is the better buy.
 */
export async function perceptualHash(input: Buffer): Promise<string> {
  let pixels: Buffer;
  try {
    pixels = await sharp(input, { failOn: 'error', autoOrient: true })
      .flatten({ background: '#ffffff' })
      .greyscale()
      .resize(SIDE, SIDE, { fit: 'fill' })
      .raw()
      .toBuffer();
  } catch (error) {
    const detail = error instanceof Error ? error.message.split('\n')[0]! : String(error);
    throw new ImageError('truncated_or_corrupt', msg('image.truncated_or_corrupt.hash', { detail }));
  }
  // 2-D DCT-II, keeping only the 8×8 block of lowest frequencies after the DC row and column
  // (the DC term is the mean brightness, which carries no shape).
  const rows = new Float64Array(SIDE * BLOCK);
  for (let y = 0; y < SIDE; y++) {
    for (let u = 0; u < BLOCK; u++) {
      let sum = 0;
      for (let x = 0; x < SIDE; x++) sum += (pixels[y * SIDE + x] ?? 0) * cosine(u + 1, x);
      rows[y * BLOCK + u] = sum;
    }
  }
  const coefficients = new Float64Array(BLOCK * BLOCK);
  for (let v = 0; v < BLOCK; v++) {
    for (let u = 0; u < BLOCK; u++) {
      let sum = 0;
      for (let y = 0; y < SIDE; y++) sum += (rows[y * BLOCK + u] ?? 0) * cosine(v + 1, y);
      coefficients[v * BLOCK + u] = sum;
    }
  }
  const median = medianOf(coefficients);
  let hash = 0n;
  for (const value of coefficients) hash = (hash << 1n) | (value > median ? 1n : 0n);
  return hash.toString(16).padStart(16, '0');
}

function cosine(frequency: number, position: number): number {
  return COSINES[frequency * SIDE + position] ?? 0;
}

function medianOf(values: Float64Array): number {
  const sorted = Float64Array.from(values).sort();
  const middle = sorted.length / 2;
  return ((sorted[middle - 1] ?? 0) + (sorted[middle] ?? 0)) / 2;
}

const HASH_PATTERN = /^[0-9a-f]{16}$/;

/** Number of differing bits between two hashes from perceptualHash (0 = same picture, 64 = opposite). */
export function hammingDistance(a: string, b: string): number {
  if (!HASH_PATTERN.test(a) || !HASH_PATTERN.test(b)) {
    throw new TypeError(`not a 64-bit perceptual hash: ${HASH_PATTERN.test(a) ? b : a}`);
  }
  let diff = BigInt(`0x${a}`) ^ BigInt(`0x${b}`);
  let count = 0;
  while (diff !== 0n) {
    diff &= diff - 1n;
    count++;
  }
  return count;
}

/**
 * Pairs whose hashes differ by at most this many bits count as the same picture. Measured on the
 * 64 bench drawings, hashed as the intake does (from the training square): a copy rescaled to 70%
 * and recompressed at JPEG quality 75 stays within 2 bits; the 2016 pairs of different drawings
 * are 16 or more apart (median 32).
 */
export const NEAR_DUPLICATE_THRESHOLD = 10;

export interface HashedImage {
  name: string;
  hash: string;
}

export interface NearDuplicate {
  a: string;
  b: string;
  distance: number;
}

/** Every pair within `threshold` bits, closest first (n² over a dataset of tens: nothing to index). */
export function findNearDuplicates(
  hashes: readonly HashedImage[],
  threshold = NEAR_DUPLICATE_THRESHOLD,
): NearDuplicate[] {
  const pairs: NearDuplicate[] = [];
  for (let i = 0; i < hashes.length; i++) {
    for (let j = i + 1; j < hashes.length; j++) {
      const first = hashes[i];
      const second = hashes[j];
      if (!first || !second) continue;
      const distance = hammingDistance(first.hash, second.hash);
      if (distance <= threshold) pairs.push({ a: first.name, b: second.name, distance });
    }
  }
  return pairs.sort((x, y) => x.distance - y.distance);
}

/** Uncompressed 8-bit pixels, interleaved, row by row: what the composers build and encodeToFit takes. */
export interface RawImage {
  data: Buffer;
  width: number;
  height: number;
  channels: 3 | 4;
}

/** sharp's constructor options for reading a RawImage. */
export function rawInput(image: RawImage): { raw: { width: number; height: number; channels: 3 | 4 } } {
  return { raw: { width: image.width, height: image.height, channels: image.channels } };
}

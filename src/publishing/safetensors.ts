/**
 * The safetensors format (https://github.com/huggingface/safetensors, "Format"): an 8-byte
 * little-endian header length N, N bytes of JSON — `{"__metadata__": {string: string}, name:
 * {dtype, shape, data_offsets: [begin, end]}}` with offsets into the data that follows — then
 * the raw tensor bytes. Enough to rename a LoRA's tensors without a tensor library: the bytes
 * are copied, never interpreted.
 */

export interface Tensor {
  dtype: string;
  shape: number[];
  data: Buffer;
}

export interface Safetensors {
  tensors: Map<string, Tensor>;
  metadata: Record<string, string>;
}

const BYTES_PER_ELEMENT: Record<string, number> = { F64: 8, F32: 4, F16: 2, BF16: 2, I64: 8, I32: 4, I16: 2, I8: 1, U8: 1, BOOL: 1, F8_E4M3: 1, F8_E5M2: 1 };
/** The reference implementation's own limit on the header. */
const MAX_HEADER_BYTES = 100_000_000;

export class SafetensorsError extends Error {
  override name = 'SafetensorsError';
}

export function readSafetensors(file: Buffer): Safetensors {
  if (file.length < 8) throw new SafetensorsError('too short for a safetensors header');
  const headerLength = file.readBigUInt64LE(0);
  if (headerLength > BigInt(Math.min(MAX_HEADER_BYTES, file.length - 8))) throw new SafetensorsError('header length past the end of the file');
  const dataStart = 8 + Number(headerLength);
  let header: unknown;
  try {
    header = JSON.parse(file.toString('utf8', 8, dataStart));
  } catch {
    throw new SafetensorsError('the header is not JSON');
  }
  if (!header || typeof header !== 'object' || Array.isArray(header)) throw new SafetensorsError('the header is not a JSON object');
  const tensors = new Map<string, Tensor>();
  let metadata: Record<string, string> = {};
  for (const [name, entry] of Object.entries(header as Record<string, unknown>)) {
    if (name === '__metadata__') {
      metadata = entry as Record<string, string>;
      continue;
    }
    const { dtype, shape, data_offsets: offsets } = (entry ?? {}) as { dtype?: string; shape?: number[]; data_offsets?: [number, number] };
    const size = dtype ? BYTES_PER_ELEMENT[dtype] : undefined;
    if (!dtype || !size || !Array.isArray(shape) || !Array.isArray(offsets) || offsets.length !== 2) throw new SafetensorsError(`tensor ${name}: malformed entry`);
    const [begin, end] = offsets;
    if (!(begin >= 0 && end >= begin && dataStart + end <= file.length)) throw new SafetensorsError(`tensor ${name}: data outside the file`);
    if (shape.reduce((n, d) => n * d, 1) * size !== end - begin) throw new SafetensorsError(`tensor ${name}: ${end - begin} bytes for shape [${shape}] of ${dtype}`);
    tensors.set(name, { dtype, shape, data: file.subarray(dataStart + begin, dataStart + end) });
  }
  return { tensors, metadata };
}

/** Tensors in the given order; the header padded with spaces to 8 bytes, as the reference writer does. */
export function writeSafetensors(tensors: ReadonlyMap<string, Tensor>, metadata: Record<string, string> = {}): Buffer {
  const header: Record<string, unknown> = Object.keys(metadata).length ? { __metadata__: metadata } : {};
  let offset = 0;
  for (const [name, tensor] of tensors) {
    header[name] = { dtype: tensor.dtype, shape: tensor.shape, data_offsets: [offset, offset + tensor.data.length] };
    offset += tensor.data.length;
  }
  let json = JSON.stringify(header);
  json += ' '.repeat((8 - (Buffer.byteLength(json) % 8)) % 8);
  const length = Buffer.alloc(8);
  length.writeBigUInt64LE(BigInt(Buffer.byteLength(json)));
  return Buffer.concat([length, Buffer.from(json), ...[...tensors.values()].map((t) => t.data)]);
}

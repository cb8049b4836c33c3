import yauzl, { type Entry } from 'yauzl';

/** One file of an archive. */
export interface ArchiveEntry {
  name: string;
  data: Buffer;
}

/** Reads every file of a zip (directories skipped), as a trainer unpacking `input_images` would. */
export function readZip(buffer: Buffer): Promise<ArchiveEntry[]> {
  return new Promise((resolve, reject) => {
    yauzl.fromBuffer(buffer, { lazyEntries: true }, (openError, zip) => {
      if (openError) {
        reject(openError);
        return;
      }
      const entries: ArchiveEntry[] = [];
      zip.on('error', reject);
      zip.on('end', () => resolve(entries));
      zip.on('entry', (entry: Entry) => {
        if (entry.fileName.endsWith('/')) {
          zip.readEntry();
          return;
        }
        zip.openReadStream(entry, (streamError, stream) => {
          if (streamError) {
            reject(streamError);
            return;
          }
          const chunks: Buffer[] = [];
          stream.on('data', (chunk: Buffer) => chunks.push(chunk));
          stream.on('error', reject);
          stream.on('end', () => {
            entries.push({ name: entry.fileName, data: Buffer.concat(chunks) });
            zip.readEntry();
          });
        });
      });
      zip.readEntry();
    });
  });
}

const TAR_BLOCK = 512;

/**
 * A ustar archive, the format of cog-sdxl's `trained_model.tar`. Written by hand because no tar
 * package is available to the tests and the format is a few fixed-width header fields.
 */
export function writeTar(entries: ArchiveEntry[]): Buffer {
  const blocks: Buffer[] = [];
  for (const { name, data } of entries) {
    const header = Buffer.alloc(TAR_BLOCK);
    header.write(name, 0, 100, 'utf8');
    header.write('0000644\0', 100, 'ascii');
    header.write('0000000\0', 108, 'ascii');
    header.write('0000000\0', 116, 'ascii');
    header.write(`${data.length.toString(8).padStart(11, '0')}\0`, 124, 'ascii');
    header.write(`${Math.floor(Date.now() / 1000).toString(8).padStart(11, '0')}\0`, 136, 'ascii');
    header.write('0', 156, 'ascii');
    header.write('ustar\0', 257, 'ascii');
    header.write('00', 263, 'ascii');
    // The checksum is computed with its own field read as spaces.
    header.fill(' ', 148, 156);
    let sum = 0;
    for (const byte of header) sum += byte;
    header.write(`${sum.toString(8).padStart(6, '0')}\0 `, 148, 'ascii');
    blocks.push(header, data, Buffer.alloc((TAR_BLOCK - (data.length % TAR_BLOCK)) % TAR_BLOCK));
  }
  blocks.push(Buffer.alloc(TAR_BLOCK * 2));
  return Buffer.concat(blocks);
}

/** Reads a tar written by {@link writeTar} (or any plain ustar without long names). */
export function readTar(buffer: Buffer): ArchiveEntry[] {
  const entries: ArchiveEntry[] = [];
  let offset = 0;
  while (offset + TAR_BLOCK <= buffer.length) {
    const header = buffer.subarray(offset, offset + TAR_BLOCK);
    if (header.every((byte) => byte === 0)) break;
    const name = header.toString('utf8', 0, 100).replace(/\0.*$/s, '');
    const size = Number.parseInt(header.toString('ascii', 124, 136).replace(/\0.*$/s, '').trim() || '0', 8);
    if (!name || Number.isNaN(size) || header.toString('ascii', 257, 262) !== 'ustar') {
      throw new Error('not a tar archive');
    }
    offset += TAR_BLOCK;
    entries.push({ name, data: Buffer.from(buffer.subarray(offset, offset + size)) });
    offset += Math.ceil(size / TAR_BLOCK) * TAR_BLOCK;
  }
  if (entries.length === 0) throw new Error('not a tar archive');
  return entries;
}

/**
 * A safetensors file (8-byte LE header length, JSON header, data) with `__metadata__` — enough
 * for the emulated generator to know which training and step a weights file came from — and
 * fp32 tensors of the given shapes (zeros: their names and shapes are what a reader checks).
 */
export function safetensorsWithMetadata(metadata: Record<string, string>, shapes: ReadonlyMap<string, number[]> = new Map()): Buffer {
  const header: Record<string, unknown> = { __metadata__: metadata };
  let offset = 0;
  for (const [name, shape] of shapes) {
    const bytes = shape.reduce((n, d) => n * d, 1) * 4;
    header[name] = { dtype: 'F32', shape, data_offsets: [offset, offset + bytes] };
    offset += bytes;
  }
  const json = Buffer.from(JSON.stringify(header), 'utf8');
  const length = Buffer.alloc(8);
  length.writeBigUInt64LE(BigInt(json.length));
  return Buffer.concat([length, json, Buffer.alloc(offset)]);
}

export function readSafetensorsMetadata(buffer: Buffer): Record<string, string> {
  const length = Number(buffer.readBigUInt64LE(0));
  const header = JSON.parse(buffer.toString('utf8', 8, 8 + length)) as { __metadata__?: Record<string, string> };
  return header.__metadata__ ?? {};
}

/** RFC 4180 CSV (quoted fields, doubled quotes, CRLF or LF), the dialect pandas reads by default. */
export function parseCsv(text: string): string[][] {
  const rows: string[][] = [];
  let row: string[] = [];
  let field = '';
  let quoted = false;
  for (let i = 0; i < text.length; i++) {
    const char = text[i];
    if (quoted) {
      if (char === '"' && text[i + 1] === '"') {
        field += '"';
        i++;
      } else if (char === '"') {
        quoted = false;
      } else {
        field += char;
      }
    } else if (char === '"') {
      quoted = true;
    } else if (char === ',') {
      row.push(field);
      field = '';
    } else if (char === '\n' || char === '\r') {
      if (char === '\r' && text[i + 1] === '\n') i++;
      row.push(field);
      rows.push(row);
      row = [];
      field = '';
    } else {
      field += char;
    }
  }
  if (field !== '' || row.length > 0) {
    row.push(field);
    rows.push(row);
  }
  // pandas skips blank lines.
  return rows.filter((r) => !(r.length === 1 && r[0] === ''));
}

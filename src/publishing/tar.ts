/**
 * Reads the regular files of a tar archive held in memory: cog-sdxl's `trained_model.tar`,
 * written by Python's `tarfile.open(…, "w")` (train.py), whose default format is PAX — plain
 * ustar headers, with a PAX `x` record before an entry only when its name or size does not fit
 * (GNU `L` long names are read too). Directories and other entry types are skipped.
 */

const BLOCK = 512;

export class TarError extends Error {
  override name = 'TarError';
}

export function readTarFiles(archive: Buffer): Map<string, Buffer> {
  const files = new Map<string, Buffer>();
  let offset = 0;
  let longName: string | undefined;
  while (offset + BLOCK <= archive.length) {
    const header = archive.subarray(offset, offset + BLOCK);
    if (header.every((byte) => byte === 0)) break;
    if (header.toString('ascii', 257, 262) !== 'ustar') throw new TarError(`not a tar archive (no ustar header at byte ${offset})`);
    const stored = checksumOf(header);
    if (stored !== Number.parseInt(field(header, 148, 8), 8)) throw new TarError(`bad header checksum at byte ${offset}`);
    const size = Number.parseInt(field(header, 124, 12) || '0', 8);
    const type = String.fromCharCode(header[156] ?? 0);
    const start = offset + BLOCK;
    if (start + size > archive.length) throw new TarError('the archive is cut short');
    const body = archive.subarray(start, start + size);
    offset = start + Math.ceil(size / BLOCK) * BLOCK;
    if (type === 'x') {
      longName = /(?:^|\n)\d+ path=([^\n]*)\n/.exec(body.toString('utf8'))?.[1] ?? longName;
      continue;
    }
    if (type === 'L') {
      longName = body.toString('utf8').replace(/\0+$/, '');
      continue;
    }
    const prefix = field(header, 345, 155);
    const name = longName ?? (prefix ? `${prefix}/${field(header, 0, 100)}` : field(header, 0, 100));
    longName = undefined;
    if (type === '0' || type === '\0') files.set(name.replace(/^\.\//, ''), body);
  }
  return files;
}

function field(header: Buffer, start: number, length: number): string {
  const raw = header.subarray(start, start + length);
  const end = raw.indexOf(0);
  return raw.toString('utf8', 0, end === -1 ? length : end).trim();
}

/** The sum of the header's bytes with the checksum field counted as spaces. */
function checksumOf(header: Buffer): number {
  let sum = 0;
  for (let i = 0; i < BLOCK; i++) sum += i >= 148 && i < 156 ? 32 : header[i]!;
  return sum;
}

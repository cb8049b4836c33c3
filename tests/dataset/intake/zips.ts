import yazl from 'yazl';

/** Builds zips for the tests, including the hostile ones yazl would refuse to write. */

export interface Entry {
  name: string;
  data: Buffer;
  /** Unix mode, e.g. 0o120777 for a symlink. */
  mode?: number;
  compress?: boolean;
}

export async function makeZip(entries: readonly Entry[]): Promise<Buffer> {
  const zip = new yazl.ZipFile();
  for (const entry of entries) {
    zip.addBuffer(entry.data, entry.name, {
      ...(entry.mode === undefined ? {} : { mode: entry.mode }),
      compress: entry.compress ?? true,
    });
  }
  zip.end();
  const chunks: Buffer[] = [];
  for await (const chunk of zip.outputStream as AsyncIterable<Buffer>) chunks.push(chunk);
  return Buffer.concat(chunks);
}

/**
 * Replaces an entry's name in the local header and the central directory. yazl refuses to write
 * names such as "../evil.png", so the zip is written with a stand-in of the same length.
 */
export function renameEntry(zip: Buffer, from: string, to: string): Buffer {
  const a = Buffer.from(from, 'utf8');
  const b = Buffer.from(to, 'utf8');
  if (a.length !== b.length) throw new Error('the stand-in name must have the same length in bytes');
  const patched = Buffer.from(zip);
  let replaced = 0;
  for (let at = patched.indexOf(a); at !== -1; at = patched.indexOf(a, at + 1)) {
    b.copy(patched, at);
    replaced++;
  }
  if (replaced !== 2) throw new Error(`expected the name twice (local header and central directory), found ${replaced}`);
  return patched;
}

/** A copy of the zip in which `patch` was called at each header (local, then central) of the named entry. */
function patchHeaders(zip: Buffer, name: string, patch: (zip: Buffer, offset: number, central: boolean) => void): Buffer {
  const patched = Buffer.from(zip);
  const wanted = Buffer.from(name, 'utf8');
  for (let at = 0; at < patched.length - 4; at++) {
    const signature = patched.readUInt32LE(at);
    if (signature === 0x04034b50) {
      const length = patched.readUInt16LE(at + 26);
      if (patched.subarray(at + 30, at + 30 + length).equals(wanted)) patch(patched, at, false);
    } else if (signature === 0x02014b50) {
      const length = patched.readUInt16LE(at + 28);
      if (patched.subarray(at + 46, at + 46 + length).equals(wanted)) patch(patched, at, true);
    }
  }
  return patched;
}

/** Makes the headers of an entry claim `size` uncompressed bytes (a lying header). */
export function claimSize(zip: Buffer, name: string, size: number): Buffer {
  return patchHeaders(zip, name, (out, offset, central) => out.writeUInt32LE(size, offset + (central ? 24 : 22)));
}

/** Sets the "encrypted" flag of an entry. */
export function markEncrypted(zip: Buffer, name: string): Buffer {
  return patchHeaders(zip, name, (out, offset, central) => {
    const at = offset + (central ? 8 : 6);
    out.writeUInt16LE(out.readUInt16LE(at) | 1, at);
  });
}

/**
 * Overwrites the start of a deflated entry's data: all-ones bits make the first block type the
 * reserved one, which inflate rejects, as it would a damaged download.
 */
export function damageData(zip: Buffer, name: string): Buffer {
  return patchHeaders(zip, name, (out, offset, central) => {
    if (central) return;
    const start = offset + 30 + out.readUInt16LE(offset + 26) + out.readUInt16LE(offset + 28);
    out.fill(0xff, start, start + Math.min(4, out.readUInt32LE(offset + 18)));
  });
}

import type { Readable } from 'node:stream';
import { promisify } from 'node:util';
import zlib from 'node:zlib';
import yauzl, { type Entry, type ZipFile as YauzlZipFile } from 'yauzl';
import { msg, type Message } from '../../i18n/index.js';
import { formatBytes } from './bytes.js';
import { IntakeError, type Refusal } from './refusal.js';

// At run time yauzl 3 exports the name decoder it uses itself (UTF-8 flag, Info-ZIP Unicode Path
// extra field, CP437 otherwise); @types/yauzl 2.x does not list it yet.
declare module 'yauzl' {
  function getFileNameLowLevel(
    generalPurposeBitFlag: number,
    fileNameBuffer: Buffer,
    extraFields: Array<{ id: number; data: Buffer }>,
    strictFileNames: boolean,
  ): string;
}

export interface ZipLimits {
  /** Entries read from the central directory, directories and skipped files included. */
  maxEntries: number;
  /** Bytes one entry may inflate to. */
  maxEntryBytes: number;
  /** Bytes the whole archive may inflate to, counting what was actually inflated, refused entries too. */
  maxTotalBytes: number;
}

export interface ZipFileEntry {
  /** Path inside the archive, '/'-separated, without '.' or empty segments. */
  name: string;
  data: Buffer;
}

export type ZipItem = { kind: 'file'; file: ZipFileEntry } | { kind: 'refused'; refusal: Refusal };

const S_IFMT = 0o170000;
const S_IFREG = 0o100000;
const S_IFDIR = 0o040000;
const S_IFLNK = 0o120000;

const ARCHIVE_EXTENSIONS = /\.(zip|tar|gz|tgz|7z|rar|bz2|tbz2?|xz|txz|zst)$/i;

/** Signatures of archive and compressed formats, so a renamed "drawing.png" that is a zip is caught. */
const ARCHIVE_MAGIC: ReadonlyArray<{ offset: number; bytes: Buffer }> = [
  { offset: 0, bytes: Buffer.from('PK\x03\x04', 'latin1') },
  { offset: 0, bytes: Buffer.from('PK\x05\x06', 'latin1') },
  { offset: 0, bytes: Buffer.from('PK\x07\x08', 'latin1') },
  { offset: 0, bytes: Buffer.from([0x1f, 0x8b]) },
  { offset: 0, bytes: Buffer.from([0x37, 0x7a, 0xbc, 0xaf, 0x27, 0x1c]) },
  { offset: 0, bytes: Buffer.from('Rar!\x1a\x07', 'latin1') },
  { offset: 0, bytes: Buffer.from('BZh', 'latin1') },
  { offset: 0, bytes: Buffer.from([0xfd, 0x37, 0x7a, 0x58, 0x5a, 0x00]) },
  { offset: 0, bytes: Buffer.from([0x28, 0xb5, 0x2f, 0xfd]) },
  { offset: 257, bytes: Buffer.from('ustar', 'latin1') },
];

function isArchive(data: Buffer): boolean {
  return ARCHIVE_MAGIC.some(({ offset, bytes }) => data.subarray(offset, offset + bytes.length).equals(bytes));
}

/** Names are shown to the user: control characters would break the reply's layout. */
function printable(name: string): string {
  return name.replace(/[\u0000-\u001f\u007f]/g, '?');
}

type NameCheck =
  | { kind: 'file'; path: string }
  | { kind: 'skip' }
  | { kind: 'refuse'; code: string; reason: Message };

/**
 * What an extractor would do with this name: refuse anything that would land outside the
 * extraction folder, skip folders and the clutter of macOS and dotfiles without a word.
 */
function checkName(name: string, mode: number): NameCheck {
  if (name.includes('\0')) return { kind: 'refuse', code: 'unsafe_path', reason: msg('refusal.unsafe_path.nul') };
  if (name.includes('\\')) {
    return { kind: 'refuse', code: 'unsafe_path', reason: msg('refusal.unsafe_path.backslash') };
  }
  if (name.startsWith('/') || /^[A-Za-z]:/.test(name)) {
    return { kind: 'refuse', code: 'absolute_path', reason: msg('refusal.absolute_path') };
  }
  const segments = name.split('/');
  if (segments.includes('..')) return { kind: 'refuse', code: 'path_traversal', reason: msg('refusal.path_traversal') };
  const type = mode & S_IFMT;
  if (name.endsWith('/') || type === S_IFDIR) return { kind: 'skip' };
  if (type === S_IFLNK) return { kind: 'refuse', code: 'symlink', reason: msg('refusal.symlink') };
  if (type !== 0 && type !== S_IFREG) return { kind: 'refuse', code: 'special_file', reason: msg('refusal.special_file') };
  const parts = segments.filter((segment) => segment !== '' && segment !== '.');
  if (parts.length === 0 || parts.some((segment) => segment.startsWith('.') || segment === '__MACOSX')) {
    return { kind: 'skip' };
  }
  if (ARCHIVE_EXTENSIONS.test(name)) return { kind: 'refuse', code: 'nested_archive', reason: msg('refusal.nested_archive') };
  return { kind: 'file', path: parts.join('/') };
}

function openZip(zip: Buffer): Promise<YauzlZipFile> {
  return new Promise((resolve, reject) => {
    // decodeStrings: false so that a bad name is ours to refuse for that entry alone; yauzl's own
    // check would fail the whole archive.
    yauzl.fromBuffer(zip, { lazyEntries: true, validateEntrySizes: true, decodeStrings: false }, (error, zipfile) => {
      if (error) reject(new IntakeError('corrupt_archive', msg('error.corrupt_archive', { detail: error.message })));
      else resolve(zipfile);
    });
  });
}

const inflateRaw = promisify(zlib.inflateRaw);

async function collect(stream: Readable): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const chunk of stream as AsyncIterable<Buffer>) chunks.push(chunk);
  return Buffer.concat(chunks);
}

/**
 * Reads one entry, inflating at most `budget` bytes whatever its header says: the compressed
 * bytes are taken as they are and inflated in one call whose `maxOutputLength` stops zlib past
 * the budget, counting what it actually produced. (One call per entry is also a little faster
 * than yauzl's inflating stream of 16 KB chunks.) Returns undefined when the budget was exceeded.
 */
function readEntry(zipfile: YauzlZipFile, entry: Entry, budget: number): Promise<Buffer | undefined> {
  const raw = entry.compressionMethod === 8 ? { decompress: false, decrypt: null, start: null, end: null } : undefined;
  return new Promise<Readable>((resolve, reject) => {
    const callback = (error: Error | null, stream: Readable) => (error ? reject(error) : resolve(stream));
    if (raw) zipfile.openReadStream(entry, raw, callback);
    else zipfile.openReadStream(entry, callback);
  }).then(async (stream) => {
    const stored = await collect(stream);
    if (!raw) return stored.length > budget ? undefined : stored;
    try {
      return await inflateRaw(stored, { maxOutputLength: budget });
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'ERR_BUFFER_TOO_LARGE') return undefined;
      throw error;
    }
  });
}

/**
 * Reads a zip held in memory entry by entry, yielding each file's bytes or the reason it was
 * refused. Nothing is inflated before it is asked for, so the files alive at once are the ones
 * the consumer still holds (the intake: one per worker). A refused entry never stops the others;
 * only an archive whose directory cannot be read throws (IntakeError 'corrupt_archive').
 */
export async function* zipEntries(zip: Buffer, limits: ZipLimits): AsyncGenerator<ZipItem> {
  const zipfile = await openZip(zip);
  let failure: Error | undefined;
  // yauzl reports a damaged central directory as an 'error' event; without a listener that
  // would be an uncaught exception.
  zipfile.on('error', (error: Error) => {
    failure ??= error;
  });
  const nextEntry = () =>
    new Promise<Entry | undefined>((resolve, reject) => {
      const settle = (entry: Entry | undefined, error?: Error) => {
        zipfile.off('entry', onEntry).off('end', onEnd).off('error', onError);
        if (error) reject(error);
        else resolve(entry);
      };
      const onEntry = (entry: Entry) => settle(entry);
      const onEnd = () => settle(undefined);
      const onError = (error: Error) => settle(undefined, error);
      zipfile.on('entry', onEntry).on('end', onEnd).on('error', onError);
      if (failure) settle(undefined, failure);
      else zipfile.readEntry();
    });
  let seen = 0;
  let inflated = 0;
  try {
    for (;;) {
      let entry: Entry | undefined;
      try {
        entry = await nextEntry();
      } catch (error) {
        const detail = error instanceof Error ? error.message : String(error);
        throw new IntakeError('corrupt_archive', msg('error.corrupt_archive.after', { count: seen, detail }));
      }
      if (!entry) return;
      if (++seen > limits.maxEntries) {
        yield {
          kind: 'refused',
          refusal: {
            name: `${zipfile.entryCount - limits.maxEntries} more entries`,
            label: msg('refusal.too_many_entries.name', { count: zipfile.entryCount - limits.maxEntries }),
            code: 'too_many_entries',
            reason: msg('refusal.too_many_entries', { total: zipfile.entryCount, max: limits.maxEntries }),
          },
        };
        return;
      }
      // With decodeStrings: false yauzl leaves the name as the raw bytes of the header.
      const rawName = entry.fileName as unknown as Buffer;
      const name = yauzl.getFileNameLowLevel(entry.generalPurposeBitFlag, rawName, entry.extraFields, true);
      const refuse = (code: string, reason: Message): ZipItem => ({
        kind: 'refused',
        refusal: { name: printable(name), code, reason },
      });
      const check = checkName(name, entry.externalFileAttributes >>> 16);
      if (check.kind === 'skip') continue;
      if (check.kind === 'refuse') {
        yield refuse(check.code, check.reason);
        continue;
      }
      if (entry.isEncrypted()) {
        yield refuse('encrypted', msg('refusal.encrypted'));
        continue;
      }
      if (entry.compressionMethod !== 0 && entry.compressionMethod !== 8) {
        yield refuse('unsupported_compression', msg('refusal.unsupported_compression', { method: entry.compressionMethod }));
        continue;
      }
      const remaining = limits.maxTotalBytes - inflated;
      const entryTooLarge = () => refuse('entry_too_large', msg('refusal.entry_too_large', { limit: formatBytes(limits.maxEntryBytes) }));
      const archiveTooLarge = () => refuse('archive_too_large', msg('refusal.archive_too_large', { limit: formatBytes(limits.maxTotalBytes) }));
      // The header's size is checked first (cheap), then the bytes really inflated: headers lie.
      if (entry.uncompressedSize > limits.maxEntryBytes) {
        yield entryTooLarge();
        continue;
      }
      if (entry.uncompressedSize > remaining) {
        yield archiveTooLarge();
        continue;
      }
      const budget = Math.min(limits.maxEntryBytes, remaining);
      let data: Buffer | undefined;
      try {
        data = await readEntry(zipfile, entry, budget);
      } catch (error) {
        const detail = error instanceof Error ? error.message : String(error);
        yield refuse('corrupt_entry', msg('refusal.corrupt_entry', { detail }));
        continue;
      }
      // What zlib produced counts, refused or not: the work done is what the limit bounds.
      inflated += data?.length ?? budget;
      if (!data) {
        yield budget === limits.maxEntryBytes ? entryTooLarge() : archiveTooLarge();
        continue;
      }
      if (data.length !== entry.uncompressedSize) {
        yield refuse('corrupt_entry', msg('refusal.corrupt_entry.size', { actual: data.length, expected: entry.uncompressedSize }));
        continue;
      }
      if (isArchive(data)) {
        yield refuse('nested_archive', msg('refusal.nested_archive'));
        continue;
      }
      yield { kind: 'file', file: { name: check.path, data } };
    }
  } finally {
    zipfile.close();
  }
}

/** zipEntries collected: every file and every refusal. */
export async function readZip(zip: Buffer, limits: ZipLimits): Promise<{ files: ZipFileEntry[]; refused: Refusal[] }> {
  const files: ZipFileEntry[] = [];
  const refused: Refusal[] = [];
  for await (const item of zipEntries(zip, limits)) {
    if (item.kind === 'file') files.push(item.file);
    else refused.push(item.refusal);
  }
  return { files, refused };
}

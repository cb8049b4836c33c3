import { gzipSync } from 'node:zlib';
import { describe, expect, it } from 'vitest';
import { IntakeError } from '../../../src/dataset/intake/refusal.js';
import { readZip, zipEntries, type ZipLimits } from '../../../src/dataset/intake/zip.js';
import { claimSize, damageData, makeZip, markEncrypted, renameEntry } from './zips.js';

const LIMITS: ZipLimits = { maxEntries: 100, maxEntryBytes: 1024 * 1024, maxTotalBytes: 4 * 1024 * 1024 };
const picture = (n: number) => Buffer.concat([Buffer.from([0x89, 0x50, 0x4e, 0x47]), Buffer.alloc(1000 + n, n)]);

async function codes(zip: Buffer, limits = LIMITS) {
  const { files, refused } = await readZip(zip, limits);
  return { files: files.map((f) => f.name), refused: Object.fromEntries(refused.map((r) => [r.name, r.code])) };
}

describe('readZip', () => {
  it('returns the files with their bytes, folders flattened into paths', async () => {
    const zip = await makeZip([
      { name: 'a.png', data: picture(1) },
      { name: 'drawings/b.png', data: picture(2), compress: false },
      { name: 'drawings/café.png', data: picture(3) },
    ]);
    const { files, refused } = await readZip(zip, LIMITS);
    expect(refused).toEqual([]);
    expect(files.map((f) => f.name)).toEqual(['a.png', 'drawings/b.png', 'drawings/café.png']);
    expect(files.map((f) => f.data.equals(picture(files.indexOf(f) + 1)))).toEqual([true, true, true]);
  });

  it.each([
    { name: '../evil.png', standIn: 'xx/evil.png', code: 'path_traversal' },
    { name: 'a/../../evil.png', standIn: 'a/xx/xx/evil.png', code: 'path_traversal' },
    { name: '/etc/evil.png', standIn: 'x/etc/evil.pn', code: 'absolute_path' },
    { name: 'C:/evil.png', standIn: 'Cx/evil.png', code: 'absolute_path' },
    { name: 'dir\\evil.png', standIn: 'dir_evil.png', code: 'unsafe_path' },
  ])('refuses $name ($code) and keeps the good entries', async ({ name, standIn, code }) => {
    const written = await makeZip([
      { name: 'good-1.png', data: picture(1) },
      { name: standIn, data: picture(2) },
      { name: 'good-2.png', data: picture(3) },
    ]);
    const result = await codes(renameEntry(written, standIn, name));
    expect(result).toEqual({ files: ['good-1.png', 'good-2.png'], refused: { [name]: code } });
  });

  it('refuses links and other special files by their Unix mode', async () => {
    const zip = await makeZip([
      { name: 'link.png', data: Buffer.from('/etc/passwd'), mode: 0o120777 },
      { name: 'fifo.png', data: Buffer.alloc(0), mode: 0o010644 },
      { name: 'good.png', data: picture(1), mode: 0o100644 },
    ]);
    expect(await codes(zip)).toEqual({ files: ['good.png'], refused: { 'link.png': 'symlink', 'fifo.png': 'special_file' } });
  });

  it('refuses archives inside the archive, by name and by content', async () => {
    const inner = await makeZip([{ name: 'x.png', data: picture(1) }]);
    const tar = Buffer.alloc(1024);
    tar.write('ustar', 257, 'latin1');
    const zip = await makeZip([
      { name: 'more.zip', data: inner },
      { name: 'more.7z', data: picture(2) },
      { name: 'disguised.png', data: inner },
      { name: 'gzipped.jpg', data: gzipSync(picture(3)) },
      { name: 'tarball.png', data: tar },
      { name: 'good.png', data: picture(4) },
    ]);
    expect(await codes(zip)).toEqual({
      files: ['good.png'],
      refused: {
        'more.zip': 'nested_archive',
        'more.7z': 'nested_archive',
        'disguised.png': 'nested_archive',
        'gzipped.jpg': 'nested_archive',
        'tarball.png': 'nested_archive',
      },
    });
  });

  it('skips folders, macOS clutter and dotfiles without a word', async () => {
    const zip = await makeZip([
      { name: '__MACOSX/._good.png', data: picture(1) },
      { name: 'drawings/.DS_Store', data: picture(2) },
      { name: '.hidden/x.png', data: picture(3) },
      { name: 'drawings/good.png', data: picture(4) },
    ]);
    expect(await codes(zip)).toEqual({ files: ['drawings/good.png'], refused: {} });
  });

  it('refuses an entry over the size limit by its header, without inflating it', async () => {
    const zip = await makeZip([
      { name: 'huge.png', data: Buffer.alloc(2 * 1024 * 1024) },
      { name: 'good.png', data: picture(1) },
    ]);
    expect(await codes(zip)).toEqual({ files: ['good.png'], refused: { 'huge.png': 'entry_too_large' } });
  });

  it('counts the bytes really inflated when the header lies', async () => {
    // 8 MiB of zeros deflate to a few KB; the header is made to say 1000 bytes.
    const written = await makeZip([
      { name: 'bomb.png', data: Buffer.alloc(8 * 1024 * 1024) },
      { name: 'good.png', data: picture(1) },
    ]);
    const lying = claimSize(written, 'bomb.png', 1000);
    expect(await codes(lying)).toEqual({ files: ['good.png'], refused: { 'bomb.png': 'entry_too_large' } });
  });

  it('refuses what would take the archive past its total, keeping what came before', async () => {
    const part = Buffer.alloc(900 * 1024, 7);
    const zip = await makeZip([1, 2, 3, 4, 5, 6].map((n) => ({ name: `part-${n}.png`, data: part })));
    const result = await codes(zip, { ...LIMITS, maxTotalBytes: 4 * 900 * 1024 + 10 });
    expect(result.files).toEqual(['part-1.png', 'part-2.png', 'part-3.png', 'part-4.png']);
    expect(result.refused).toEqual({ 'part-5.png': 'archive_too_large', 'part-6.png': 'archive_too_large' });
  });

  it('reads only the first maxEntries entries and says how many were left', async () => {
    const zip = await makeZip([1, 2, 3, 4, 5].map((n) => ({ name: `${n}.png`, data: picture(n) })));
    const { files, refused } = await readZip(zip, { ...LIMITS, maxEntries: 3 });
    expect(files.map((f) => f.name)).toEqual(['1.png', '2.png', '3.png']);
    expect(refused).toEqual([expect.objectContaining({ name: '2 more entries', code: 'too_many_entries' })]);
  });

  it('refuses encrypted and damaged entries one by one', async () => {
    const written = await makeZip([
      { name: 'secret.png', data: picture(1) },
      { name: 'damaged.png', data: picture(3) },
      { name: 'good.png', data: picture(2) },
    ]);
    const zip = damageData(markEncrypted(written, 'secret.png'), 'damaged.png');
    expect(await codes(zip)).toEqual({ files: ['good.png'], refused: { 'secret.png': 'encrypted', 'damaged.png': 'corrupt_entry' } });
  });

  it.each([
    { what: 'random bytes', zip: Buffer.from('this is not a zip file at all') },
    { what: 'an empty file', zip: Buffer.alloc(0) },
  ])('throws corrupt_archive for $what', async ({ zip }) => {
    const error = await readZip(zip, LIMITS).catch((caught: unknown) => caught);
    expect(error).toBeInstanceOf(IntakeError);
    expect((error as IntakeError).code).toBe('corrupt_archive');
  });

  it('throws corrupt_archive for a zip cut short', async () => {
    const zip = await makeZip([{ name: 'a.png', data: picture(1) }]);
    const error = await readZip(zip.subarray(0, zip.length - 30), LIMITS).catch((caught: unknown) => caught);
    expect((error as IntakeError).code).toBe('corrupt_archive');
  });
});

describe('zipEntries', () => {
  it('hands out one entry at a time and can be stopped early', async () => {
    const zip = await makeZip([1, 2, 3].map((n) => ({ name: `${n}.png`, data: picture(n) })));
    const seen: string[] = [];
    for await (const item of zipEntries(zip, LIMITS)) {
      if (item.kind === 'file') seen.push(item.file.name);
      if (seen.length === 2) break;
    }
    expect(seen).toEqual(['1.png', '2.png']);
  });
});

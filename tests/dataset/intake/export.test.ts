import yauzl from 'yauzl';
import { describe, expect, it } from 'vitest';
import { buildTrainingZip, type TrainingImage } from '../../../src/dataset/intake/export.js';
import { IntakeError } from '../../../src/dataset/intake/refusal.js';

/** Every entry of a zip, read back with yauzl. */
async function unzip(zip: Buffer): Promise<Map<string, Buffer>> {
  const zipfile = await new Promise<yauzl.ZipFile>((resolve, reject) =>
    yauzl.fromBuffer(zip, { lazyEntries: true }, (error, opened) => (error ? reject(error) : resolve(opened))),
  );
  const entries = new Map<string, Buffer>();
  for (;;) {
    const entry = await new Promise<yauzl.Entry | undefined>((resolve, reject) => {
      zipfile.once('entry', resolve).once('end', () => resolve(undefined)).once('error', reject);
      zipfile.readEntry();
    });
    if (!entry) return entries;
    const stream = await new Promise<NodeJS.ReadableStream>((resolve, reject) =>
      zipfile.openReadStream(entry, (error, opened) => (error ? reject(error) : resolve(opened))),
    );
    const chunks: Buffer[] = [];
    for await (const chunk of stream as AsyncIterable<Buffer>) chunks.push(chunk);
    entries.set(entry.fileName, Buffer.concat(chunks));
  }
}

const jpeg = (n: number) => Buffer.concat([Buffer.from([0xff, 0xd8, 0xff]), Buffer.alloc(500, n)]);

const IMAGES: TrainingImage[] = [
  { file: 'cat.jpg', data: jpeg(1), caption: 'KMPLZ, a drawing of a cat' },
  { file: 'quote.jpg', data: jpeg(2), caption: 'KMPLZ, a sign saying "hello, world"' },
  { file: 'plain.jpg', data: jpeg(3), caption: 'a KMPLZ sketch' },
];

async function refusal(images: TrainingImage[]): Promise<IntakeError> {
  const error = await buildTrainingZip(images, { triggerWord: 'KMPLZ' }).catch((caught: unknown) => caught);
  expect(error).toBeInstanceOf(IntakeError);
  return error as IntakeError;
}

describe('buildTrainingZip', () => {
  it('holds the images and caption.csv, one RFC 4180 row per image', async () => {
    const entries = await unzip(await buildTrainingZip(IMAGES, { triggerWord: 'KMPLZ' }));
    expect([...entries.keys()]).toEqual(['cat.jpg', 'quote.jpg', 'plain.jpg', 'caption.csv']);
    for (const image of IMAGES) expect(entries.get(image.file)?.equals(image.data)).toBe(true);
    expect(entries.get('caption.csv')?.toString('utf8')).toBe(
      'caption,image_file\r\n' +
        '"KMPLZ, a drawing of a cat",cat.jpg\r\n' +
        '"KMPLZ, a sign saying ""hello, world""",quote.jpg\r\n' +
        'a KMPLZ sketch,plain.jpg\r\n',
    );
  });

  it('quotes line breaks too', async () => {
    const entries = await unzip(await buildTrainingZip([{ file: 'a.jpg', data: jpeg(1), caption: 'KMPLZ\nsecond line' }], { triggerWord: 'KMPLZ' }));
    expect(entries.get('caption.csv')?.toString('utf8')).toBe('caption,image_file\r\n"KMPLZ\nsecond line",a.jpg\r\n');
  });

  it('makes the same bytes from the same input', async () => {
    const first = await buildTrainingZip(IMAGES, { triggerWord: 'KMPLZ' });
    await new Promise((resolve) => setTimeout(resolve, 1100));
    expect((await buildTrainingZip(IMAGES, { triggerWord: 'KMPLZ' })).equals(first)).toBe(true);
  });

  it.each([
    { caption: 'a drawing of a cat', why: 'missing' },
    { caption: 'kmplz, a drawing of a cat', why: 'in the wrong case' },
    { caption: 'KMPLZs drawing', why: 'only inside a longer word' },
  ])('refuses a caption with the trigger word $why, naming the image', async ({ caption }) => {
    const error = await refusal([...IMAGES, { file: 'bad.jpg', data: jpeg(4), caption }]);
    expect(error.code).toBe('caption_missing_trigger');
    expect(error.message).toContain('bad.jpg');
  });

  it.each([
    { file: 'dir/a.jpg', code: 'bad_file_name' },
    { file: '../a.jpg', code: 'bad_file_name' },
    { file: '.hidden.jpg', code: 'bad_file_name' },
    { file: 'caption.csv', code: 'bad_file_name' },
    { file: 'CAT.JPG', code: 'duplicate_file_name' },
  ])('refuses the file name $file ($code)', async ({ file, code }) => {
    expect((await refusal([...IMAGES, { file, data: jpeg(5), caption: 'KMPLZ' }])).code).toBe(code);
  });

  it('refuses an empty dataset', async () => {
    expect((await refusal([])).code).toBe('empty_dataset');
  });
});

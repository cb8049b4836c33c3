import { mkdir, readFile, rm, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import sharp from 'sharp';
import yazl from 'yazl';
import { mapConcurrent } from '../src/images/concurrency.js';
import { ensureInputs, type BenchInput } from './inputs.js';
import { round1, run as exec, timed, which, whichImageMagick } from './tools.js';

/**
 * Issue 3's measure: 64 drawings of realistic sizes and formats made square at 1024, side by side
 * in one run: the bot's pipeline (zip read, checks, preprocessing, hashing, files written),
 * ImageMagick, vipsthumbnail and the decode floor, all with the same parallelism. Each is timed
 * ROUNDS times, interleaved, and the best time kept (the least disturbed by the rest of the machine).
 */

const PARALLELISM = 2;
const ROUNDS = 3;
const here = path.dirname(fileURLToPath(import.meta.url));
const out = path.join(here, 'out');

/** The archive a trainer would upload: the 64 files, deflated as every zip tool does by default. */
async function buildArchive(inputs: readonly BenchInput[], file: string): Promise<void> {
  const zip = new yazl.ZipFile();
  for (const input of inputs) zip.addBuffer(await readFile(input.file), `drawings/${path.basename(input.file)}`);
  zip.end();
  const chunks: Buffer[] = [];
  for await (const chunk of zip.outputStream as AsyncIterable<Buffer>) chunks.push(chunk);
  await writeFile(file, Buffer.concat(chunks));
}

/** Splits the files into `PARALLELISM` interleaved halves, so each process gets the same mix. */
function shares(files: readonly string[]): string[][] {
  return Array.from({ length: PARALLELISM }, (_, k) => files.filter((_, i) => i % PARALLELISM === k));
}

async function fresh(dir: string): Promise<string> {
  await rm(dir, { recursive: true, force: true });
  await mkdir(dir, { recursive: true });
  return dir;
}

export async function run(): Promise<Record<string, number | string>> {
  const inputs = await ensureInputs(path.join(out, 'inputs'));
  if (inputs.length !== 64) throw new Error(`expected 64 inputs, found ${inputs.length}`);
  const files = inputs.map((input) => input.file);
  const archive = path.join(out, 'dataset.zip');
  await buildArchive(inputs, archive);

  const figures: Record<string, number | string> = {};
  const notes: string[] = [];
  const best: Record<string, number> = {};
  const peaks: number[] = [];
  const keep = (key: string, ms: number) => {
    best[key] = Math.min(best[key] ?? Infinity, ms);
  };

  const node = process.execPath;
  const child = path.join(here, 'preprocess.child.ts');
  const mogrify = await whichImageMagick('mogrify');
  const vipsthumbnail = await which('vipsthumbnail');
  if (!mogrify) notes.push('ImageMagick (mogrify) not installed: skipped');
  if (!vipsthumbnail) notes.push('vipsthumbnail not installed: skipped');

  const arenaPeaks: number[] = [];
  const pipeline = async (env: NodeJS.ProcessEnv) => {
    const { stdout } = await exec(node, ['--import', 'tsx', child, archive, path.join(out, 'bot'), String(PARALLELISM)], env);
    const result = JSON.parse(stdout.trim().split('\n').pop() ?? '{}') as {
      ms: number;
      peakRssMb: number;
      accepted: number;
      refused: unknown[];
    };
    if (result.accepted !== 64) throw new Error(`the pipeline took ${result.accepted} of 64 pictures: ${JSON.stringify(result.refused)}`);
    return result;
  };

  // The floor decodes from memory, as the pipeline does from the zip buffer.
  const buffers = await Promise.all(files.map((file) => readFile(file)));
  for (let round = 0; round < ROUNDS; round++) {
    // The bot, in its own process; it times itself from reading the zip to the last file written.
    const result = await pipeline({});
    keep('preprocess64_ms', result.ms);
    peaks.push(result.peakRssMb);
    // The same run with glibc held to two malloc arenas, as sharp's documentation advises for
    // Linux: libvips' threads otherwise each grow an arena that is never given back.
    arenaPeaks.push((await pipeline({ MALLOC_ARENA_MAX: '2' })).peakRssMb);

    // Decode floor: every input decoded once, nothing else. The cache is off as in the bot, or a
    // later round would be served from it.
    sharp.cache(false);
    keep(
      'preprocess64_decode_floor_ms',
      await timed(() => mapConcurrent(buffers, PARALLELISM, (buffer) => sharp(buffer).raw().toBuffer())),
    );

    if (vipsthumbnail) {
      const dir = await fresh(path.join(out, 'vipsthumbnail'));
      // Same job: EXIF rotation (vipsthumbnail's default), attention crop, alpha on white,
      // JPEG q94 without chroma subsampling; one libvips thread per process, two processes.
      const target = `${dir}/%s.jpg[Q=94,subsample-mode=off,strip,background=255]`;
      keep(
        'preprocess64_vipsthumbnail_ms',
        await timed(() =>
          Promise.all(
            shares(files).map((share) =>
              exec(vipsthumbnail, [...share, '--size', '1024x1024', '--smartcrop', 'attention', '-o', target], {
                VIPS_CONCURRENCY: '1',
              }),
            ),
          ),
        ),
      );
    }

    if (mogrify) {
      const dir = await fresh(path.join(out, 'imagemagick'));
      // The command, plus what makes it the same job: alpha on white, JPEG q94 4:4:4.
      const args = ['-path', dir, '-format', 'jpg', '-auto-orient', '-background', 'white', '-alpha', 'remove'];
      args.push('-resize', '1024x1024^', '-gravity', 'center', '-extent', '1024x1024', '-quality', '94', '-sampling-factor', '4:4:4');
      keep(
        'preprocess64_imagemagick_ms',
        await timed(() =>
          Promise.all(shares(files).map((share) => exec(mogrify, [...args, ...share], { MAGICK_THREAD_LIMIT: '1' }))),
        ),
      );
    }
  }
  for (const [key, ms] of Object.entries(best)) figures[key] = Math.round(ms);
  figures.preprocess64_peak_rss_mb = round1(Math.max(...peaks));
  figures.preprocess64_peak_rss_arena2_mb = round1(Math.max(...arenaPeaks));
  figures.preprocess64_note =
    `best of ${ROUNDS} rounds, parallelism ${PARALLELISM}; inputs: 16 each of 4032×3024 JPEG with EXIF rotation, ` +
    `A4 300-dpi PNG with alpha, 2048² WebP, 480×640 PNG` +
    (notes.length > 0 ? `; ${notes.join('; ')}` : '');
  return figures;
}

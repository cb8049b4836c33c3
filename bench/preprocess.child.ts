import { mkdir, readFile, rm, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { intakeArchive } from '../src/dataset/intake/pipeline.js';
import { keepableOriginal } from '../src/images/original.js';

/**
 * The bot's own pipeline, alone in a process so that its peak RSS is its own: read the uploaded
 * zip, take every picture in (checks, preprocessing, perceptual hash) and write the original and
 * the training square to disk, as /dataset add does under DATA_DIR (the original upright and without
 * its metadata).
 * Usage: preprocess.child.ts <zip> <output dir> <concurrency>; prints one JSON line.
 */
/**
 * This process's own peak RSS. Not getrusage's maxRSS: Linux carries the forking parent's
 * high-water mark across exec, so a child of a big bench process would report the parent's.
 * VmHWM belongs to the address space this process got at exec.
 */
async function peakRssMb(): Promise<number> {
  try {
    const status = await readFile('/proc/self/status', 'utf8');
    const kb = /^VmHWM:\s+(\d+) kB/m.exec(status)?.[1];
    if (kb) return Number(kb) / 1024;
  } catch {
    // Not Linux: getrusage is the best there is.
  }
  return process.resourceUsage().maxRSS / 1024;
}

const [zipPath, outDir, concurrency] = process.argv.slice(2);
if (!zipPath || !outDir || !concurrency) throw new Error('usage: preprocess.child.ts <zip> <out dir> <concurrency>');
await rm(outDir, { recursive: true, force: true });
await mkdir(outDir, { recursive: true });
const started = performance.now();
const zip = await readFile(zipPath);
const report = await intakeArchive(
  zip,
  { maxEntries: 1000, maxEntryBytes: 64 * 1024 * 1024, maxTotalBytes: 1024 * 1024 * 1024 },
  async (image) => {
    const base = path.basename(image.name).replace(/\.[^.]*$/, '');
    await writeFile(path.join(outDir, `${base}.jpg`), image.processed.image);
    // As addToDataset keeps it: upright, without metadata.
    const kept = await keepableOriginal(image.original, image.processed.original.format);
    await writeFile(path.join(outDir, `original-${base}.${kept.format === 'jpeg' ? 'jpg' : 'png'}`), kept.data);
  },
  { concurrency: Number(concurrency) },
);
const ms = performance.now() - started;
console.log(
  JSON.stringify({
    ms,
    peakRssMb: await peakRssMb(),
    accepted: report.accepted.length,
    refused: report.refused,
  }),
);

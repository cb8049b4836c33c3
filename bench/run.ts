import { readdir, readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

/**
 * `npm run bench [name…]`: runs every bench/*.bench.ts (or those whose name is given), writes
 * their figures to bench/results.json (with names given, figures of benches not run are kept) and
 * rewrites bench/REPORT.md from the merged figures. A name that matches no bench only rewrites
 * the report.
 */

type Figures = Record<string, number | string>;

interface BenchModule {
  run(): Promise<Figures>;
}

const here = path.dirname(fileURLToPath(import.meta.url));
const resultsFile = path.join(here, 'results.json');
const reportFile = path.join(here, 'REPORT.md');

/** Goals from the issues, checked in the report when their figures are present. */
const GOALS: ReadonlyArray<{ goal: string; check(f: Figures): { value: string; met: boolean | 'info' } | undefined }> = [
  ratioGoal('pipeline at least 3.5× faster than ImageMagick', 'preprocess64_imagemagick_ms', 'preprocess64_ms', (r) => r >= 3.5),
  ratioGoal('pipeline no slower than vipsthumbnail', 'preprocess64_vipsthumbnail_ms', 'preprocess64_ms', (r) => r >= 1),
  ratioGoal('pipeline within 1.5× of the decode floor', 'preprocess64_ms', 'preprocess64_decode_floor_ms', (r) => r <= 1.5),
  limitGoal('pipeline peak RSS under 350 MB', 'preprocess64_peak_rss_mb', 350, 'MB'),
  limitGoal('the same, with MALLOC_ARENA_MAX=2 in the environment', 'preprocess64_peak_rss_arena2_mb', 350, 'MB'),
  limitGoal('compose one reply (encoded) in at most 40 ms', 'compose_ms_median', 40, 'ms'),
  limitGoal('acknowledge an interaction in at most 100 ms (p99)', 'ack_p99_ms', 100, 'ms'),
  limitGoal('the same with two processes on one Redis, a burst of 200 from 20 people', 'burst_ack_p99_ms', 100, 'ms'),
  ratioGoal('(for information) that burst: two processes on Redis against one without', 'burst_ack_p99_ms', 'burst_ack_single_p99_ms', () => 'info'),
  ratioGoal('(for information) time to start a job: BullMQ against the in-process queue', 'queue_overhead_ms_median', 'queue_overhead_inprocess_ms_median', () => 'info'),
  limitGoal('/publish of a rank-32 SDXL LoRA (a 186 MB archive) with a peak RSS under 1 GB', 'publish_peak_rss_mb', 1024, 'MB'),
  ratioGoal('(for information) a burst of 50 /kmplz: all pictures in, against the ideal (50 × GPU time ÷ concurrency)', 'burst50_all_pictures_s', 'burst50_ideal_s', () => 'info'),
  ratioGoal('(for information) the same with webhooks (PUBLIC_URL)', 'burst50_webhooks_all_pictures_s', 'burst50_webhooks_ideal_s', () => 'info'),
  limitGoal('per-job overhead outside the GPU service at most 20 ms (median, in that burst)', 'job_overhead_ms_median', 20, 'ms'),
  limitGoal('the same, one job at a time', 'job_overhead_single_ms_median', 20, 'ms'),
];

/** `ok` answers 'info' for a row that informs and sets no goal. */
function ratioGoal(goal: string, numerator: string, denominator: string, ok: (ratio: number) => boolean | 'info') {
  return {
    goal,
    check(f: Figures) {
      const a = f[numerator];
      const b = f[denominator];
      if (typeof a !== 'number' || typeof b !== 'number' || b === 0) return undefined;
      const ratio = a / b;
      return { value: `${numerator} / ${denominator} = ${ratio.toFixed(2)}`, met: ok(ratio) };
    },
  };
}

function limitGoal(goal: string, key: string, limit: number, unit: string) {
  return {
    goal,
    check(f: Figures) {
      const value = f[key];
      if (typeof value !== 'number') return undefined;
      return { value: `${key} = ${value} ${unit}`, met: value <= limit };
    },
  };
}

/**
 * The trainer's GPU figures come from `trainer/bench/run_h100.sh` on an NVIDIA H100 (the device
 * machine; CI and this bench have no GPU), written to trainer/BENCH.md. The report carries its
 * machine line and the sections that compare with diffusers' own example, one level down.
 */
const GPU_SECTIONS = ['Goals', 'End to end', 'Step modes', 'What each change bought'];

function gpuSection(bench: string): string[] {
  const [title = '', ...rest] = bench.split(/^(?=## )/m);
  const [heading = '', ...intro] = title.split('\n');
  const lines = ['', `## ${heading.replace(/^# /, '').trim()}`, '', '(Copied from trainer/BENCH.md, which `bash trainer/bench/run_h100.sh` measures on a GPU; not rerun by `npm run bench`.)'];
  const machine = intro.join('\n').trim().replaceAll('`bench/', '`trainer/bench/');
  if (machine) lines.push('', machine);
  for (const section of rest) {
    if (GPU_SECTIONS.some((name) => section.startsWith(`## ${name}`))) lines.push('', section.trim().replace(/^## /, '### '));
  }
  return lines;
}

function report(figures: Figures, ran: string[], failures: string[], gpuBench?: string): string {
  const lines = [
    '# Benchmarks',
    '',
    `Written by \`npm run bench\` on ${new Date().toISOString().slice(0, 10)} (benches run this time: ${ran.join(', ') || 'none'}).`,
    '',
    '## Goals',
    '',
    '| goal | measured | met |',
    '| --- | --- | --- |',
  ];
  for (const { goal, check } of GOALS) {
    const result = check(figures);
    const met = result?.met === 'info' ? '–' : result?.met ? 'yes' : '**no**';
    lines.push(result ? `| ${goal} | ${result.value} | ${met} |` : `| ${goal} | not measured | – |`);
  }
  lines.push('', '## Figures', '', '| key | value |', '| --- | --- |');
  for (const key of Object.keys(figures).sort()) lines.push(`| ${key} | ${String(figures[key]).replaceAll('|', '\\|')} |`);
  if (failures.length > 0) lines.push('', '## Failed benches', '', ...failures.map((f) => `- ${f}`));
  if (gpuBench) lines.push(...gpuSection(gpuBench));
  return `${lines.join('\n')}\n`;
}

async function main(): Promise<void> {
  const wanted = process.argv.slice(2);
  const names = (await readdir(here))
    .filter((file) => file.endsWith('.bench.ts'))
    .map((file) => file.slice(0, -'.bench.ts'.length))
    .filter((name) => wanted.length === 0 || wanted.includes(name))
    .sort();
  let figures: Figures = {};
  // A full run starts afresh, so no figure of an earlier run (say, of a tool missing this time)
  // is set beside this run's; a run of named benches keeps the others' figures.
  if (wanted.length > 0) {
    try {
      figures = JSON.parse(await readFile(resultsFile, 'utf8')) as Figures;
    } catch {
      // First run: no results yet.
    }
  }
  const failures: string[] = [];
  for (const name of names) {
    console.log(`bench ${name}…`);
    const started = performance.now();
    try {
      const module = (await import(pathToFileURL(path.join(here, `${name}.bench.ts`)).href)) as BenchModule;
      const result = await module.run();
      figures = { ...figures, ...result };
      console.log(`bench ${name}: ${JSON.stringify(result)} (${Math.round((performance.now() - started) / 1000)} s)`);
    } catch (error) {
      const message = error instanceof Error ? error.message : String(error);
      failures.push(`${name}: ${message}`);
      console.error(`bench ${name} failed: ${message}`);
    }
  }
  await writeFile(resultsFile, `${JSON.stringify(figures, null, 2)}\n`);
  const gpuBench = await readFile(path.join(here, '..', 'trainer', 'BENCH.md'), 'utf8').catch(() => undefined);
  await writeFile(reportFile, report(figures, names, failures, gpuBench));
  if (failures.length > 0) process.exitCode = 1;
}

await main();

import os from 'node:os';
import { setTimeout as sleep } from 'node:timers/promises';
import { redisCluster } from '../src/cluster/cluster.js';
import { createLogger } from '../src/log.js';
import { BullJobQueue } from '../src/queue/bull-queue.js';
import { FairQueue } from '../src/queue/fair-queue.js';
import type { JobQueue } from '../src/queue/job-queue.js';
import type { DiscordEmulator } from '../tests/emulators/discord/index.js';
import { startBotProcess } from '../tests/support/bot-process.js';
import { botProcesses, kmplzBurst, newBotPid, percentile, rssMb, sampleRss, startRedis, warmUp, withSeededEmulators, type Burst, type SeededSetup } from './support.js';
import { median, round1 } from './tools.js';

/**
 * Issue #7's measures, with the bot run as `npm start` runs it (a process of its own, the real
 * discord.js client) against the emulators:
 * - burst_ack_p50_ms / burst_ack_p99_ms: two bot processes sharing one Redis (REDIS_URL and
 *   STORE_URL on it), the Discord emulator delivering every interaction to both sessions as
 *   Discord does on one shard, a burst of 200 `/kmplz` from 20 people: dispatch → first accepted
 *   callback. burst_ack_single_*: the same burst to one process without Redis (in-process queue,
 *   SQLite store).
 * - queue_overhead_ms_median: per job, enqueue → the worker starting, on an idle queue, through
 *   BullJobQueue (local Redis) and FairQueue (in process), with a worker that does nothing.
 * - rss_idle_mb / rss_burst_mb: VmRSS of one bot process's node (the tsx wrapper left out), online
 *   and idle for a few seconds, and the peak sampled every 50 ms during the burst.
 */
export async function run(): Promise<Record<string, number | string>> {
  const redis = await startRedis();
  if (!redis) {
    console.warn('\nredis-server not found: skipping the cluster bench, no figures written — install Debian\'s redis-server (bash .ci/install-services.sh)\n');
    return {};
  }
  try {
    // Other work on the machine (a test run beside the bench) shows in every figure here.
    const load = os.loadavg()[0]!.toFixed(1);
    const cluster = await burstOfTwoProcesses(redis.url);
    const single = await burstOfOneProcess();
    const queue = await queueOverhead(redis.url);
    return {
      burst_ack_p50_ms: cluster.p50,
      burst_ack_p99_ms: cluster.p99,
      burst_ack_max_ms: cluster.max,
      burst_ack_single_p50_ms: single.p50,
      burst_ack_single_p99_ms: single.p99,
      burst_ack_single_max_ms: single.max,
      burst_ack_note:
        `${BURST} /kmplz from ${PEOPLE} people at once, every one counted: past the per-person cap (3 waiting or running) the bot still defers, ` +
        `then refuses in a private follow-up (two processes: ${cluster.pictures} pictures, ${cluster.refusals} refusals, ${cluster.answeredTwice} answered twice, ` +
        `${cluster.failedCallbacks} callbacks refused by Discord; one process: ${single.pictures} pictures, ${single.refusals} refusals). ` +
        `Emulators in the measuring process without spec validation; shared ${os.availableParallelism()}-core machine (1-minute load ${load} at the start), so runs differ severalfold (the p99s of four runs in a row spanned 3×).`,
      queue_overhead_note:
        `Per job, one at a time on an idle queue (${QUEUE_JOBS} no-op jobs after ${QUEUE_WARM_UP} to warm up): enqueue → the worker starting (overhead), ` +
        'enqueue → settled listeners (roundtrip); BullJobQueue on a redis-server on loopback, FairQueue in process.',
      queue_overhead_ms_median: queue.bull.start,
      queue_overhead_inprocess_ms_median: queue.local.start,
      queue_roundtrip_ms_median: queue.bull.settled,
      queue_roundtrip_inprocess_ms_median: queue.local.settled,
      rss_note:
        `VmRSS of the bot's node process, run with tsx as npm start does (tsx's own wrapper process, about 50 MB, left out): idle = online for ${IDLE_MS / 1000} s, ` +
        'nothing asked yet; burst = peak sampled every 50 ms during the burst. rss_* with REDIS_URL (one of the two processes), rss_single_* without.',
      rss_idle_mb: cluster.rssIdle,
      rss_burst_mb: cluster.rssBurst,
      rss_single_idle_mb: single.rssIdle,
      rss_single_burst_mb: single.rssBurst,
    };
  } finally {
    await redis.stop();
  }
}

const BURST = 200;
const PEOPLE = 20;
/** How long a process sits online before its idle RSS is read. */
const IDLE_MS = 5000;

interface BurstFigures {
  p50: number;
  p99: number;
  max: number;
  pictures: number;
  refusals: number;
  answeredTwice: number;
  failedCallbacks: number;
  rssIdle: number;
  rssBurst: number;
}

async function burstOfTwoProcesses(redisUrl: string): Promise<BurstFigures> {
  const options = {
    // Real Discord sends every event of a shard to every session identified for it.
    discord: { validate: false, interactionDelivery: 'all-sessions' as const },
    extraEnv: { REDIS_URL: redisUrl, STORE_URL: redisUrl },
  };
  return withSeededEmulators(options, async (setup) => {
    const before = await botProcesses(setup.dataDir);
    const measured = await startBotProcess(setup.env);
    const pid = await newBotPid(setup.dataDir, before);
    const other = await startBotProcess(setup.env);
    try {
      const figures = await measureBurst(setup, pid);
      report('two processes', setup.discord, { measured: measured.output(), other: other.output() });
      return figures;
    } finally {
      await measured.kill('SIGTERM');
      await other.kill('SIGTERM');
    }
  });
}

async function burstOfOneProcess(): Promise<BurstFigures> {
  return withSeededEmulators({ discord: { validate: false } }, async (setup) => {
    const before = await botProcesses(setup.dataDir);
    const bot = await startBotProcess(setup.env);
    const pid = await newBotPid(setup.dataDir, before);
    try {
      const figures = await measureBurst(setup, pid);
      report('one process', setup.discord, { bot: bot.output() });
      return figures;
    } finally {
      await bot.kill('SIGTERM');
    }
  });
}

/** Idle RSS of `pid`, two warm-up pictures, then the burst with `pid`'s RSS sampled throughout. */
async function measureBurst({ discord }: SeededSetup, pid: number): Promise<BurstFigures> {
  await sleep(IDLE_MS);
  const rssIdle = (await rssMb(pid)) ?? NaN;
  // Two: with two sessions each may answer one, and each process's first request compiles its JIT paths.
  await warmUp(discord);
  await warmUp(discord);
  const sampler = sampleRss(pid);
  const burst = await kmplzBurst(discord, BURST, PEOPLE);
  const rssBurst = await sampler.stop();
  const outcome = outcomes(discord, burst);
  // Where the time goes: ack latency by place in the burst (tenths, in dispatch order).
  const inOrder = await Promise.all(burst.handles.map(async (h) => (await h.ack()).latencyMs));
  const tenths = Array.from({ length: 10 }, (_, i) => Math.round(median(inOrder.slice((i * BURST) / 10, ((i + 1) * BURST) / 10))));
  const span = burst.handles.at(-1)!.dispatchedAt - burst.handles[0]!.dispatchedAt;
  console.log(`cluster bench: dispatched over ${span} ms; median ack by tenth of the burst: ${tenths.join(', ')} ms`);
  return {
    p50: round1(percentile(burst.latencies, 0.5)),
    p99: round1(percentile(burst.latencies, 0.99)),
    max: round1(burst.latencies.at(-1)!),
    ...outcome,
    rssIdle: round1(rssIdle),
    rssBurst: round1(rssBurst),
  };
}

function outcomes(discord: DiscordEmulator, { handles }: Burst) {
  const callbacks = (id: string) => discord.requests.filter((r) => r.method === 'POST' && r.path.includes(`/interactions/${id}/`));
  const pictures = handles.filter((h) => (h.original()?.attachments.length ?? 0) > 0).length;
  const refusalTexts = new Map<string, number>();
  for (const h of handles) {
    for (const m of h.followUps()) tally(refusalTexts, m.content.replace(/\d+/g, 'N').slice(0, 120));
  }
  console.log(`cluster bench: follow-ups by text: ${JSON.stringify(Object.fromEntries(refusalTexts))}`);
  return {
    pictures,
    refusals: handles.length - pictures,
    answeredTwice: handles.filter((h) => callbacks(h.id).filter((r) => (r.status ?? 500) < 300).length > 1).length,
    failedCallbacks: handles.reduce((n, h) => n + callbacks(h.id).filter((r) => (r.status ?? 500) >= 300).length, 0),
  };
}

/** Prints what went wrong during a run: Discord's refusals and the bots' warnings and errors, counted by message. */
function report(what: string, discord: DiscordEmulator, outputs: Record<string, string>): void {
  const refused = new Map<string, number>();
  for (const r of discord.requests) {
    if ((r.status ?? 500) < 300) continue;
    const key = `${r.status} ${r.method} ${r.path.replace(/\d{17,20}/g, ':id').replace(/\/[\w-]{40,}/g, '/:token')}`;
    tally(refused, key);
  }
  console.log(`cluster bench, ${what}: requests Discord refused: ${refused.size === 0 ? 'none' : JSON.stringify(Object.fromEntries(refused))}`);
  for (const [name, output] of Object.entries(outputs)) {
    const problems = new Map<string, number>();
    let commands = 0;
    for (const line of output.split('\n')) {
      let record: { level?: number; msg?: string; err?: { message?: string } };
      try {
        record = JSON.parse(line) as typeof record;
      } catch {
        if (line.trim()) tally(problems, `(not JSON) ${line.slice(0, 160)}`);
        continue;
      }
      if (record.msg === 'command') commands++;
      if ((record.level ?? 0) < 40) continue;
      const key = `${record.level} ${record.msg}${record.err?.message ? `: ${record.err.message.slice(0, 160)}` : ''}`;
      tally(problems, key);
    }
    console.log(`cluster bench, ${what}, ${name}: answered ${commands} commands; warnings and errors: ${problems.size === 0 ? 'none' : JSON.stringify(Object.fromEntries(problems), null, 1)}`);
  }
}

const QUEUE_WARM_UP = 30;
const QUEUE_JOBS = 300;

/** Median ms from enqueue to the worker starting (`start`) and to the job settling (`settled`), one job at a time on an idle queue. */
async function queueOverhead(redisUrl: string) {
  const log = createLogger({ level: 'silent' });
  const startedAt = new Map<string, number>();
  const worker = async ({ id }: { id: string }) => void startedAt.set(id, performance.now());
  const cluster = await redisCluster({ url: redisUrl, log, prefix: 'bench' });
  const bull = new BullJobQueue<null, void>({ name: 'overhead', url: redisUrl, prefix: 'bench', worker, concurrency: 1, perUserCap: 1000, cluster, log });
  const local = new FairQueue<null, void>({ worker, concurrency: 1, perUserCap: 1000 });
  try {
    await bull.open();
    return { bull: await timeJobs(bull, 'bull', startedAt), local: await timeJobs(local, 'local', startedAt) };
  } finally {
    await bull.close();
    await local.close();
    await cluster.close();
  }
}

async function timeJobs(queue: JobQueue<null, void>, name: string, startedAt: ReadonlyMap<string, number>) {
  let settle: ((id: string) => void) | undefined;
  const unsubscribe = queue.onSettled((job) => settle?.(job.id));
  const start: number[] = [];
  const settled: number[] = [];
  try {
    for (let n = 0; n < QUEUE_WARM_UP + QUEUE_JOBS; n++) {
      const id = `${name}-${n}`;
      const done = new Promise<number>((resolve) => (settle = (settledId) => settledId === id && resolve(performance.now())));
      const enqueued = performance.now();
      const result = await queue.enqueue({ id, userId: 'bench', data: null });
      if (!result.ok) throw new Error(`${name} queue refused job ${n}: ${result.reason}`);
      const end = await done;
      if (n < QUEUE_WARM_UP) continue;
      start.push(startedAt.get(id)! - enqueued);
      settled.push(end - enqueued);
    }
  } finally {
    unsubscribe();
  }
  return { start: round3(median(start)), settled: round3(median(settled)) };
}

const tally = (counts: Map<string, number>, key: string) => counts.set(key, (counts.get(key) ?? 0) + 1);

const round3 = (ms: number): number => Math.round(ms * 1000) / 1000;

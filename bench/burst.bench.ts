import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import type { GenerationJob } from '../src/generation/jobs.js';
import { startDiscordEmulator } from '../tests/emulators/discord/index.js';
import { startReplicateEmulator } from '../tests/emulators/replicate/index.js';
import { startTestBot } from '../tests/support/bot.js';
import { seedDataset, seedTraining } from '../tests/support/fixtures.js';
import { TEST_DESTINATION, trainCheckpoint } from '../tests/support/replicate-training.js';
import { freePort } from '../tests/training/e2e-helpers.js';
import { percentile, timeInsideGenerator, toPerf, warmUp } from './support.js';
import { round1 } from './tools.js';

/**
 * A class at full speed: 50 `/kmplz` from 10 people at once, against a generator that takes
 * GENERATION_SECONDS of GPU time a picture, with the bot's production settings (the configured
 * GENERATION_CONCURRENCY, the default poll pace and edit throttle; only the per-person cap is
 * raised to 5 so that every one of the 50 is drawn). Run twice: polled (no PUBLIC_URL), and with
 * webhooks (`burst50_webhooks_*`, PUBLIC_URL set, the emulator posting to the bot's HTTP port).
 * - burst50_all_pictures_s: from the burst until every reply carries its picture;
 *   burst50_ideal_s beside it: 50 × GPU time ÷ concurrency, what the GPUs alone need.
 * - job_overhead_ms_median: per job, from leaving the queue (or the dispatch, when it never
 *   waited) to its picture in Discord, minus the time inside the Generator (creating the
 *   prediction, waiting for it, downloading the picture): what the bot adds around the service.
 * - job_overhead_single_ms_median: the same for jobs sent one at a time after the burst (from
 *   the dispatch: nothing waits in the queue), without fifty others sharing the cores.
 * - burst50_wait_beyond_gpu_ms_median: the time inside the Generator minus the prediction's GPU
 *   time: the create, seeing the end (a poll's lateness, or the webhook) and the download.
 * - burst50_reply_edits_max / _median: edits of one reply (queue places, progress, the answer).
 * - burst50_unacknowledged: interactions the bot did not acknowledge within Discord's 3 s (a
 *   starved machine): never answered, so left out of the figures above.
 */
export async function run(): Promise<Record<string, number | string>> {
  const polled = await burst(false);
  const webhooks = await burst(true);
  return {
    ...polled,
    ...Object.fromEntries(Object.entries(webhooks).map(([key, value]) => [key.replace(/^(burst50|job)_/, '$1_webhooks_'), value])),
    burst50_note:
      `${BURST} /kmplz from ${PEOPLE} people at once, ${GENERATION_SECONDS} s of GPU time a picture (the Replicate emulator at timeScale ${TIME_SCALE}), ` +
      'bot and emulators in one process (Discord spec validation off; the Replicate emulator always validates), default poll pace and edit throttle, per-person cap 5; burst50_webhooks_* and ' +
      'job_webhooks_* the same with PUBLIC_URL (predictions report by webhook); shared 2-core machine, so wall times vary with its load.',
  };
}

const BURST = 50;
const PEOPLE = 10;
const GENERATION_SECONDS = 0.3;
/** Jobs run one at a time after the burst, for job_overhead_single_ms_median. */
const SINGLE = 10;
/** Real seconds per emulated second at the emulated Replicate. */
const TIME_SCALE = 0.01;

async function burst(webhooks: boolean): Promise<Record<string, number>> {
  // Discord's spec validation is a test tool's work in the measuring process, not the bot's.
  const discord = await startDiscordEmulator({ validate: false });
  // No queue time at the service; a 2-step picture of GENERATION_SECONDS (the steps nearly
  // free, the rest fixed overhead).
  const replicate = await startReplicateEmulator({
    destinations: [TEST_DESTINATION],
    timeScale: TIME_SCALE,
    queueSeconds: 0,
    timing: { sdxlLoadWeightsSeconds: 0, sdxlSecondsPerStep: 0.001, sdxlOverheadSeconds: GENERATION_SECONDS / TIME_SCALE },
  });
  const dataDir = await mkdtemp(path.join(tmpdir(), 'kmplz-bench-'));
  const { insideGenerator, timed } = timeInsideGenerator();
  try {
    const weights = await trainCheckpoint(replicate);
    const port = webhooks ? await freePort() : undefined;
    const bot = await startTestBot(
      { discord, replicate },
      {
        dataDir,
        env: { LOG_LEVEL: 'warn', ...(port ? { PUBLIC_URL: `http://127.0.0.1:${port}`, HTTP_PORT: String(port) } : {}) },
        // Production pace: the poll backoff and the edit throttle of a real start.
        deps: { generation: { perUserCap: 5, progressEditIntervalMs: undefined }, replicatePoll: undefined, decorateGenerator: timed },
      },
    );
    const concurrency = (bot.app.context.config as { GENERATION_CONCURRENCY?: number }).GENERATION_CONCURRENCY ?? 2;
    const guildId = discord.guild().id;
    await seedDataset(bot.app.context, guildId, [{ name: 'ref', colour: '#707070', caption: 'KMPLZ, a drawing of a bird' }]);
    await seedTraining(bot.app.context, guildId, discord.textChannels()[0]!.id, [{ step: 250, ...weights }]);
    await warmUp(discord);

    const leftQueue = new Map<string, number>();
    bot.app.context.generation.queue.onStart((job) => leftQueue.set(job.id, performance.now()));
    const users = Array.from({ length: PEOPLE }, (_, i) => discord.makeUser(`burst${i}`));
    const started = performance.now();
    const handles = await Promise.all(
      Array.from({ length: BURST }, (_, n) => discord.slash({ name: 'kmplz', user: users[n % PEOPLE], options: { prompt: `bird number ${n}`, steps: 2 } })),
    );
    // An interaction not acknowledged within Discord's 3 s (a starved machine) is never
    // answered: it is counted, and left out of the figures below.
    const acked = await Promise.all(handles.map((h) => h.ack(3000).then(() => true, () => false)));
    const ticker = setInterval(() => {
      const done = handles.filter((h) => (h.original()?.attachments.length ?? 0) > 0).length;
      console.log(`burst${webhooks ? ' (webhooks)' : ''}: ${done}/${BURST} pictures after ${Math.round((performance.now() - started) / 1000)} s`);
    }, 10_000);
    const answered = await Promise.all(
      handles.map((h, n) => (acked[n] ? h.waitForOriginal((m) => m.attachments.length > 0, 600_000).then(() => performance.now()) : undefined)),
    ).finally(() => clearInterval(ticker));
    const allPictures = Math.max(...answered.filter((at) => at !== undefined)) - started;

    const jobs = (await Promise.all([...leftQueue.keys()].map((id) => bot.app.context.generation.jobs.get(guildId, id)))).filter(
      (job): job is GenerationJob => job !== undefined,
    );
    const overheads: number[] = [];
    const beyondGpu: number[] = [];
    for (const [n, handle] of handles.entries()) {
      if (!acked[n]) continue;
      const prompt = `KMPLZ, bird number ${n}`;
      const job = jobs.find((j) => j.parameters.prompt === prompt)!;
      const inside = insideGenerator.get(prompt)!;
      const start = Math.max(toPerf(handle.dispatchedAt), leftQueue.get(job.id)!);
      overheads.push(inside.started - start + (answered[n]! - inside.ended));
      const gpuMs = (replicate.predictions.get(job.result!.predictionId)?.predictTime ?? 0) * 1000 * TIME_SCALE;
      beyondGpu.push(inside.ended - inside.started - gpuMs);
    }
    const edits = handles.filter((_, n) => acked[n]).map((h) => discord.requests.filter((r) => r.method === 'PATCH' && r.path.endsWith(`/${h.token}/messages/@original`)).length);
    const polls = replicate.requests.filter((r) => r.operationId === 'predictions.get').length;

    // The same path one job at a time: what a job costs without fifty others on the same cores.
    const single: number[] = [];
    for (let n = 0; n < SINGLE; n++) {
      const handle = await discord.slash({ name: 'kmplz', user: users[0], options: { prompt: `lone bird ${n}`, steps: 2 } });
      await handle.waitForOriginal((m) => m.attachments.length > 0, 60_000);
      const answeredAt = performance.now();
      const inside = insideGenerator.get(`KMPLZ, lone bird ${n}`)!;
      single.push(inside.started - toPerf(handle.dispatchedAt) + (answeredAt - inside.ended));
    }
    await bot.stop();
    const sorted = (values: number[]) => [...values].sort((a, b) => a - b);
    return {
      burst50_all_pictures_s: round1(allPictures / 1000),
      burst50_ideal_s: round1((BURST * GENERATION_SECONDS) / concurrency),
      burst50_concurrency: concurrency,
      burst50_unacknowledged: acked.filter((a) => !a).length,
      burst50_reply_edits_max: Math.max(...edits),
      burst50_reply_edits_median: percentile(sorted(edits), 0.5),
      burst50_polls: polls,
      burst50_wait_beyond_gpu_ms_median: round1(percentile(sorted(beyondGpu), 0.5)),
      job_overhead_ms_median: round1(percentile(sorted(overheads), 0.5)),
      job_overhead_ms_p90: round1(percentile(sorted(overheads), 0.9)),
      job_overhead_single_ms_median: round1(percentile(sorted(single), 0.5)),
    };
  } finally {
    await replicate.close();
    await discord.close();
    await rm(dataDir, { recursive: true, force: true });
  }
}

import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { recordSpend } from '../../src/money/budget.js';
import { startDiscordEmulator, type DiscordEmulator } from '../emulators/discord/index.js';
import { startTestBot, type TestBot } from '../support/bot.js';
import { drawing } from '../support/fixtures.js';
import { startWorld, type World } from '../support/world.js';
import { freePort } from '../training/e2e-helpers.js';

let discord: DiscordEmulator;
let bot: TestBot;
let port: number;

beforeAll(async () => {
  discord = await startDiscordEmulator();
  port = await freePort();
  bot = await startTestBot({ discord }, { env: { HTTP_PORT: String(port), GPU_PRICE_PER_SECOND: '0.002' } });
});
afterAll(async () => {
  await bot?.stop();
  await discord?.close();
});

describe('GET /metrics', () => {
  it('counts acknowledged interactions with their latency, and shows queue depth and this month’s GPU spend', async () => {
    for (let i = 0; i < 3; i++) await (await discord.slash({ name: 'checkpoints' })).waitForOriginal();
    const { context } = bot.app;
    await recordSpend(context.store, context.config, context.clock, discord.guild().id, 120, 'generation');
    const response = await fetch(`http://127.0.0.1:${port}/metrics`);
    expect(response.status).toBe(200);
    expect(response.headers.get('content-type')).toMatch(/^text\/plain/);
    const text = await response.text();
    expect(text).toContain('kmplz_interactions_total{kind="command"} 3');
    expect(text).toContain('kmplz_ack_latency_seconds_count{kind="command"} 3');
    expect(text).toMatch(/kmplz_ack_latency_seconds_bucket\{kind="command",le="\+Inf"\} 3/);
    expect(text).toContain('kmplz_queue_jobs{state="waiting"} 0');
    expect(text).toContain(`kmplz_gpu_seconds_month{guild="${discord.guild().id}"} 120`);
    expect(text).toContain(`kmplz_gpu_cost_usd_month{guild="${discord.guild().id}"} 0.24`);
    // Every sample line is "name{labels} value": what a Prometheus scraper parses.
    for (const line of text.trim().split('\n').filter((l) => !l.startsWith('#'))) expect(line).toMatch(/^kmplz_[a-z_]+(\{[^}]*\})? -?[\d.e+-]+$/);
  });
});

describe('GET /metrics with pictures drawn', () => {
  let world: World;
  let metricsPort: number;
  beforeAll(async () => {
    metricsPort = await freePort();
    // One job at a time, so a second asker's job waits while the first runs.
    world = await startWorld({ checkpointSteps: [250], env: { HTTP_PORT: String(metricsPort) }, deps: { generation: { concurrency: 1 } } });
  });
  afterAll(() => world?.stop());

  it('counts finished generation jobs by outcome', async () => {
    const { discord: d } = world;
    await (await d.slash({ name: 'kmplz', options: { prompt: 'a cat', steps: 2 } })).waitForOriginal((m) => m.attachments.length > 0, 15_000);
    // The emulated model refuses this prompt as NSFW: the job fails.
    await (await d.slash({ name: 'kmplz', user: d.users.carol, options: { prompt: 'nsfw', steps: 2 } })).waitForOriginal((m) => /NSFW|blocked|safety/i.test(m.content), 15_000);
    const text = await vi.waitFor(
      async () => {
        const body = await (await fetch(`http://127.0.0.1:${metricsPort}/metrics`)).text();
        expect(body).toContain('kmplz_jobs_total{outcome="failed"} 1');
        return body;
      },
      { timeout: 5000, interval: 50 },
    );
    expect(text).toContain('kmplz_jobs_total{outcome="succeeded"} 1');
    expect(text).toContain('kmplz_queue_jobs{state="running"} 0');
    expect(text).toMatch(/kmplz_gpu_seconds_month\{guild="\d+"\} [1-9]/);
  });

  it('shows a waiting job in the queue depth while another runs, and counts both once they succeed', async () => {
    const { discord: d, replicate } = world;
    const scrape = async () => (await fetch(`http://127.0.0.1:${metricsPort}/metrics`)).text();
    /** The value of one series, NaN when the scrape has none. */
    const sample = (text: string, series: string) => Number(new RegExp(`^${series.replace(/[{}]/g, '\\$&')} (\\S+)$`, 'm').exec(text)?.[1]);
    const succeededBefore = sample(await scrape(), 'kmplz_jobs_total{outcome="succeeded"}') || 0;
    // The first picture is held until the test lets it go.
    let release!: () => void;
    const held = new Promise<void>((resolve) => (release = resolve));
    replicate.oncePrediction(replicate.refs.sdxl, async (_input, ctl) => {
      await held;
      return [ctl.serve('held.png', await drawing(1024, 1024, '#996633'), 'image/png')];
    });
    const predictionsBefore = replicate.predictions.size;
    const first = await d.slash({ name: 'kmplz', options: { prompt: 'a slow cat', steps: 2 } });
    await vi.waitFor(() => expect(replicate.predictions.size).toBeGreaterThan(predictionsBefore), { timeout: 10_000, interval: 20 });
    const second = await d.slash({ name: 'kmplz', user: d.users.carol, options: { prompt: 'a patient dog', steps: 2 } });
    await second.waitForOriginal((m) => /in the queue/.test(m.content), 10_000);
    try {
      const busy = await scrape();
      expect(sample(busy, 'kmplz_queue_jobs{state="waiting"}')).toBe(1);
      expect(sample(busy, 'kmplz_queue_jobs{state="running"}')).toBe(1);
    } finally {
      release();
    }
    await first.waitForOriginal((m) => m.attachments.length > 0, 15_000);
    await second.waitForOriginal((m) => m.attachments.length > 0, 15_000);
    const idle = await vi.waitFor(
      async () => {
        const text = await scrape();
        expect(sample(text, 'kmplz_jobs_total{outcome="succeeded"}')).toBe(succeededBefore + 2);
        // The queue lets go of a job just after its outcome is counted: both settle together.
        expect(sample(text, 'kmplz_queue_jobs{state="waiting"}')).toBe(0);
        expect(sample(text, 'kmplz_queue_jobs{state="running"}')).toBe(0);
        return text;
      },
      { timeout: 5000, interval: 50 },
    );
    expect(sample(idle, 'kmplz_queue_jobs{state="running"}')).toBe(0);
  });
});

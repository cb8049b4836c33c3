import { writeFileSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import sharp from 'sharp';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startDiscordEmulator, type DiscordEmulator, type InteractionHandle, type StoredMessage } from '../emulators/discord/index.js';
import { startReplicateEmulator, type ReplicateEmulator } from '../emulators/replicate/index.js';
import { emulatorEnv, startTestBot } from '../support/bot.js';
import { startBotProcess } from '../support/bot-process.js';
import { seedDataset, seedTraining } from '../support/fixtures.js';
import { requireRedisOrSkip } from '../support/redis-server.js';
import { TEST_DESTINATION, trainCheckpoint } from '../support/replicate-training.js';
import { freePort, isFinal, previewsIn, startTraining } from '../training/e2e-helpers.js';

// Persistent, as a production Redis behind BullMQ is: the restart test below needs the queue to survive.
const redis = await requireRedisOrSkip({ persistent: true });

let discord: DiscordEmulator;
let replicate: ReplicateEmulator;
let dataDir: string;
let env: Record<string, string>;

beforeAll(async () => {
  if (!redis) return;
  // Real Discord sends every event of a shard to every session identified for it.
  discord = await startDiscordEmulator({ interactionDelivery: 'all-sessions' });
  // 20 ms per emulated second: a picture takes a few hundred milliseconds.
  replicate = await startReplicateEmulator({ destinations: [TEST_DESTINATION], timeScale: 0.02 });
  const checkpoint = await trainCheckpoint(replicate, 250);
  dataDir = await mkdtemp(path.join(tmpdir(), 'kmplz-cluster-'));
  env = {
    ...emulatorEnv({ discord, replicate }, dataDir),
    REDIS_URL: redis.url,
    STORE_URL: redis.url,
    // A dead process's jobs are taken over after 2 s instead of 30.
    JOB_LOCK_SECONDS: '2',
    LOG_LEVEL: 'debug',
    TRAINER_ROLE_ID: discord.guild().roles.find((r) => r.name === 'Trainer')!.id,
  };
  // The server's dataset and trained checkpoint, written once into the shared store.
  const seeder = await startTestBot({ discord, replicate }, { env, dataDir });
  const guildId = discord.guild().id;
  await seedDataset(seeder.app.context, guildId, [{ name: 'ref', colour: '#808080', caption: 'KMPLZ, a drawing of a cat' }]);
  await seedTraining(seeder.app.context, guildId, discord.textChannels()[0]!.id, [{ step: 250, ...checkpoint }]);
  await seeder.stop();
}, 60_000);
afterAll(async () => {
  await replicate?.close();
  await discord?.close();
  if (dataDir) await rm(dataDir, { recursive: true, force: true });
});

const answered = (m: StoredMessage) => m.attachments.length > 0;
const successfulCallbacks = (interactionId: string) =>
  discord.requests.filter((r) => r.method === 'POST' && r.path.includes(`/interactions/${interactionId}/`) && (r.status ?? 500) < 300).length;

describe.skipIf(!redis)('two bot processes on one Redis', () => {
  it('a burst of /kmplz from ten people, one process SIGKILLed mid-burst: every interaction answered once, every picture paid once', async () => {
    const a = await startBotProcess(env);
    const b = await startBotProcess(env);
    try {
      const students = Array.from({ length: 10 }, (_, i) => discord.makeUser(`student${i}`));
      const predictionsBefore = replicate.predictions.size;
      const picturesBefore = new Set(discord.messagesIn(discord.textChannels()[0]!.id).map((m) => m.id));
      const burst: InteractionHandle[] = [];
      const ask = async (i: number) => burst.push(await discord.slash({ name: 'kmplz', user: students[i % 10]!, options: { prompt: `a cat number ${i}`, steps: 20 } }));
      for (let i = 0; i < 12; i++) await ask(i);
      // Mid-burst, while process A is drawing: its running job, the jobs it accepted and the
      // interactions still arriving must all be answered by B.
      const count = (pattern: RegExp) => a.output().match(pattern)?.length ?? 0;
      await discord.waitFor(() => (count(/prediction created/g) > count(/picture delivered/g) ? true : undefined), 20_000);
      await a.kill('SIGKILL');
      for (let i = 12; i < 30; i++) await ask(i);
      // On failure, the two processes' logs, for finding what became of the interaction.
      const withLogs = (e: unknown): never => {
        const logs = [path.join(tmpdir(), 'kmplz-cluster-a.log'), path.join(tmpdir(), 'kmplz-cluster-b.log')];
        writeFileSync(logs[0]!, a.output());
        writeFileSync(logs[1]!, b.output());
        throw new Error(`${(e as Error).message} (bot logs: ${logs.join(', ')})`);
      };
      const acks = await Promise.all(burst.map((slash) => slash.ack(5000))).catch(withLogs);
      for (const ack of acks) expect(ack.type).toBe(5);
      const replies = await Promise.all(burst.map((slash) => slash.waitForOriginal(answered, 90_000))).catch(withLogs);
      for (const [i, reply] of replies.entries()) expect(reply.embeds[0]?.title).toBe(`KMPLZ, a cat number ${i}`);
      // Once: one acknowledgement each, nobody answered twice, and no picture was drawn (billed) twice.
      for (const slash of burst) expect(successfulCallbacks(slash.id)).toBe(1);
      // …and no second answer by another way: no follow-up, no picture posted apart from the replies.
      for (const slash of burst) expect(slash.followUps()).toEqual([]);
      const replyIds = new Set(replies.map((reply) => reply.id));
      expect(discord.messagesIn(discord.textChannels()[0]!.id).filter((m) => m.attachments.length > 0 && !replyIds.has(m.id) && !picturesBefore.has(m.id))).toEqual([]);
      expect(replicate.predictions.size - predictionsBefore).toBe(30);
      expect(b.output()).toMatch(/took over a job from a process that stopped/);
      expect(b.output()).toMatch(/following a prediction created before a takeover/);
      discord.assertNoSpecErrors();
      expect(replicate.specErrors).toEqual([]);
    } finally {
      await a.kill('SIGKILL');
      await b.kill('SIGTERM');
    }
  }, 150_000);

  it('a process stopping gracefully (SIGTERM, a deploy) leaves new interactions to the other: nobody is told "restarting"', async () => {
    const a = await startBotProcess(env);
    const b = await startBotProcess(env);
    try {
      const first = await discord.slash({ name: 'kmplz', user: discord.users.carol, options: { prompt: 'a cat during a deploy', steps: 20 } });
      await first.ack(5000);
      const stopping = a.kill('SIGTERM');
      await discord.waitFor(() => (/shutting down/.test(a.output()) ? true : undefined), 10_000);
      const during = [];
      for (let i = 0; i < 5; i++) during.push(await discord.slash({ name: 'kmplz', user: discord.makeUser(`deployer${i}`), options: { prompt: `a deployed cat ${i}`, steps: 20 } }));
      const replies = await Promise.all([first, ...during].map((slash) => slash.waitForOriginal(answered, 60_000).catch(() => slash.original())));
      for (const [i, reply] of replies.entries()) expect(reply?.attachments.length ?? 0, `reply ${i}: ${reply?.content}`).toBeGreaterThan(0);
      await stopping;
      for (const slash of during) expect(successfulCallbacks(slash.id)).toBe(1);
    } finally {
      await a.kill('SIGKILL');
      await b.kill('SIGTERM');
    }
  }, 120_000);

  it('a training followed by one process, SIGKILLed after the first preview: the other takes it over and posts each preview exactly once', async () => {
    const processes = [await startBotProcess(env), await startBotProcess(env)];
    try {
      const { threadId } = await startTraining(discord, { steps: 1000, checkpoint_every: 250 });
      await discord.waitFor(() => previewsIn(discord, threadId).find((p) => p.step === 250), 30_000);
      const follower = await discord.waitFor(() => processes.find((p) => /checkpoint preview posted/.test(p.output())), 5000);
      const other = processes.find((p) => p !== follower)!;
      await follower.kill('SIGKILL');
      await discord.waitForMessage(threadId, isFinal, 60_000);
      expect(previewsIn(discord, threadId).map((p) => p.step).sort((x, y) => x - y)).toEqual([250, 500, 750, 1000]);
      // One status message, four previews, one final message: nothing twice.
      expect(discord.messagesIn(threadId)).toHaveLength(1 + 4 + 1);
      expect(other.output()).toMatch(/took over a background task/);
      discord.assertNoSpecErrors();
      expect(replicate.specErrors).toEqual([]);
    } finally {
      for (const p of processes) await p.kill('SIGKILL');
    }
  }, 120_000);

  it('Redis restarting mid-job: the picture is still delivered, and the bot takes new requests afterwards', async () => {
    const port = await freePort();
    const bot = await startBotProcess({ ...env, HTTP_PORT: String(port) });
    const health = async () => (await fetch(`http://127.0.0.1:${port}/healthz`)).json();
    try {
      expect(await health()).toMatchObject({ status: 'ok', redis: 'ok', queue: { waiting: 0 } });
      let release!: () => void;
      const gate = new Promise<void>((resolve) => (release = resolve));
      replicate.oncePrediction(replicate.refs.sdxl, async (_input, ctl) => {
        await gate;
        await ctl.sleep(5);
        return [ctl.serve('late.png', await sharp({ create: { width: 1024, height: 1024, channels: 3, background: '#aa3366' } }).png().toBuffer(), 'image/png')];
      });
      const first = await discord.slash({ name: 'kmplz', user: discord.users.alice, options: { prompt: 'a cat before the restart', steps: 20 } });
      await first.ack(5000);
      await discord.waitFor(() => (first.original()?.content.includes('Drawing') ? true : undefined), 15_000);
      // Down for a moment, as in a restart or a failover; the queue is kept (append-only file).
      await redis!.restart({ downForMs: 300 });
      release();
      await first.waitForOriginal(answered, 30_000);
      const second = await discord.slash({ name: 'kmplz', user: discord.users.bob, options: { prompt: 'a cat after the restart', steps: 20 } });
      await second.ack(5000);
      await second.waitForOriginal(answered, 60_000);
      expect(await health()).toMatchObject({ status: 'ok', redis: 'ok' });
      expect(bot.output()).toMatch(/store unreachable; waiting for it to come back|redis connection error/);
      discord.assertNoSpecErrors();
    } finally {
      await bot.kill('SIGTERM');
    }
  }, 120_000);
});

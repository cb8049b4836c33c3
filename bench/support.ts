import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtemp, readdir, readFile, readlink, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import type { Generator } from '../src/services/types.js';
import type { BotContext } from '../src/context.js';
import { systemClock } from '../src/clock.js';
import { parseConfig } from '../src/config.js';
import { createLogger } from '../src/log.js';
import { openStore } from '../src/store/store.js';
import { startDiscordEmulator, type DiscordEmulator, type DiscordEmulatorOptions, type InteractionHandle } from '../tests/emulators/discord/index.js';
import { startReplicateEmulator, type ReplicateEmulator } from '../tests/emulators/replicate/index.js';
import { emulatorEnv } from '../tests/support/bot.js';
import { seedDataset, seedTraining } from '../tests/support/fixtures.js';
import { TEST_DESTINATION, trainCheckpoint } from '../tests/support/replicate-training.js';
import { which } from './tools.js';

/** Helpers shared by the benches that run the bot as `npm start` does, against the emulators. */

export interface SeededSetup {
  discord: DiscordEmulator;
  replicate: ReplicateEmulator;
  dataDir: string;
  /** The environment of a bot process: the emulators', at info level (startBotProcess waits for the "online" line), plus `extraEnv`. */
  env: Record<string, string>;
}

/**
 * Starts the emulators, trains a checkpoint, writes a dataset and the trained checkpoint into the
 * bot's store (through the store itself, closed again for the bot to open), runs `body`, then
 * tears everything down.
 */
export async function withSeededEmulators<T>(
  options: { discord?: DiscordEmulatorOptions; extraEnv?: Record<string, string> },
  body: (setup: SeededSetup) => Promise<T>,
): Promise<T> {
  const discord = await startDiscordEmulator(options.discord);
  const replicate = await startReplicateEmulator({ destinations: [TEST_DESTINATION] });
  const dataDir = await mkdtemp(path.join(tmpdir(), 'kmplz-bench-'));
  try {
    const weights = await trainCheckpoint(replicate);
    const env = { ...emulatorEnv({ discord, replicate }, dataDir), LOG_LEVEL: 'info', ...options.extraEnv };
    const config = parseConfig(env);
    const store = await openStore(config.STORE_URL, { dataDir });
    const seedContext = { store, config, clock: systemClock, log: createLogger({ level: 'silent' }) } as unknown as BotContext;
    await seedDataset(seedContext, discord.guild().id, [{ name: 'ref', colour: '#707070', caption: 'KMPLZ, a drawing of a bird' }]);
    await seedTraining(seedContext, discord.guild().id, discord.textChannels()[0]!.id, [{ step: 250, ...weights }]);
    await store.close();
    return await body({ discord, replicate, dataDir, env });
  } finally {
    await replicate.close();
    await discord.close();
    await rm(dataDir, { recursive: true, force: true });
  }
}

/** One /kmplz to its picture: the first request of each kind compiles validators and JIT paths. */
export async function warmUp(discord: DiscordEmulator): Promise<void> {
  await (await discord.slash({ name: 'kmplz', options: { prompt: 'warm up', steps: 2 } })).waitForOriginal((m) => m.attachments.length > 0, 30_000);
}

export interface Burst {
  handles: InteractionHandle[];
  /** Dispatch → first accepted callback, ascending. */
  latencies: number[];
}

/**
 * `count` /kmplz from `people` users at once; resolves once every request is answered: with a
 * picture, or (past the per-person cap) with a private refusal follow-up.
 */
export async function kmplzBurst(discord: DiscordEmulator, count: number, people: number): Promise<Burst> {
  const users = Array.from({ length: people }, (_, i) => discord.makeUser(`bench${i}`));
  const handles = await Promise.all(
    Array.from({ length: count }, (_, n) => discord.slash({ name: 'kmplz', user: users[n % people], options: { prompt: `bird number ${n}`, steps: 2 } })),
  );
  const acks = await Promise.all(handles.map((h) => h.ack(3000)));
  await Promise.all(
    handles.map((h) => discord.waitFor(() => ((h.original()?.attachments.length ?? 0) > 0 || h.followUps().length > 0 ? true : undefined), 120_000, 'every request answered')),
  );
  return { handles, latencies: acks.map((a) => a.latencyMs).sort((a, b) => a - b) };
}

export function percentile(sorted: readonly number[], p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.ceil(p * sorted.length) - 1)]!;
}

/**
 * A private redis-server on 127.0.0.1, storing nothing; undefined when there is no redis-server
 * on PATH. (tests/support/redis-server.ts cannot be imported here: it needs vitest running.)
 */
export async function startRedis(): Promise<{ url: string; stop(): Promise<void> } | undefined> {
  const binary = await which('redis-server');
  if (!binary) return undefined;
  const dir = await mkdtemp(path.join(tmpdir(), 'kmplz-bench-redis-'));
  // A random port; redis-server exits at once when it is taken, and another is tried.
  for (let attempt = 1; ; attempt++) {
    const port = 20_000 + Math.floor(Math.random() * 40_000);
    try {
      const child = await launchRedis(binary, port, dir);
      const killOnExit = () => child.kill('SIGKILL');
      process.once('exit', killOnExit);
      return {
        url: `redis://127.0.0.1:${port}`,
        async stop() {
          process.off('exit', killOnExit);
          await stopChild(child);
          await rm(dir, { recursive: true, force: true });
        },
      };
    } catch (error) {
      if (attempt >= 5) throw error;
    }
  }
}

async function launchRedis(binary: string, port: number, dir: string): Promise<ChildProcess> {
  const child = spawn(binary, ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no', '--dir', dir], { stdio: ['ignore', 'pipe', 'pipe'] });
  await new Promise<void>((resolve, reject) => {
    let output = '';
    child.stdout.on('data', (chunk: Buffer) => {
      output += chunk.toString();
      if (output.includes('Ready to accept connections')) resolve();
    });
    child.once('exit', (code) => reject(new Error(`redis-server exited (${code}) before it was ready:\n${output.slice(-2000)}`)));
  });
  return child;
}

async function stopChild(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  child.kill('SIGTERM');
  await exited;
}

/**
 * The pids of the node processes running `src/main.ts` with `cwd` as their working folder (a
 * bot started by startBotProcess runs in its DATA_DIR). tsx starts the bot in a node process of
 * its own, so a started bot adds two: the tsx wrapper and the bot, its child.
 */
export async function botProcesses(cwd: string): Promise<Map<number, { ppid: number }>> {
  const found = new Map<number, { ppid: number }>();
  for (const entry of await readdir('/proc')) {
    const pid = Number(entry);
    if (!Number.isInteger(pid)) continue;
    try {
      if ((await readlink(`/proc/${pid}/cwd`)) !== cwd) continue;
      if (!(await readFile(`/proc/${pid}/cmdline`, 'utf8')).includes('src/main.ts')) continue;
      const ppid = Number(/^PPid:\s+(\d+)/m.exec(await readFile(`/proc/${pid}/status`, 'utf8'))?.[1]);
      found.set(pid, { ppid });
    } catch {
      // Gone, or not ours to read.
    }
  }
  return found;
}

/** The bot's own node process among those `botProcesses` finds now and did not find in `before`: the one whose parent is the new tsx wrapper. */
export async function newBotPid(cwd: string, before: ReadonlyMap<number, unknown>): Promise<number> {
  const added = [...(await botProcesses(cwd))].filter(([pid]) => !before.has(pid));
  const leaf = added.find(([, { ppid }]) => added.some(([pid]) => pid === ppid));
  if (!leaf) throw new Error(`no new bot process under ${cwd} (found ${added.map(([pid]) => pid).join(', ') || 'none'})`);
  return leaf[0];
}

/** Resident set size in MB (VmRSS), or undefined once the process is gone. */
export async function rssMb(pid: number): Promise<number | undefined> {
  try {
    const kb = Number(/^VmRSS:\s+(\d+) kB/m.exec(await readFile(`/proc/${pid}/status`, 'utf8'))?.[1]);
    return Number.isFinite(kb) ? kb / 1024 : undefined;
  } catch {
    return undefined;
  }
}

/** Samples a process's RSS every `everyMs` until stopped; `stop()` returns the peak. */
export function sampleRss(pid: number, everyMs = 50): { stop(): Promise<number> } {
  let peak = 0;
  const sample = async () => {
    peak = Math.max(peak, (await rssMb(pid)) ?? 0);
  };
  const timer = setInterval(() => void sample(), everyMs);
  return {
    async stop() {
      clearInterval(timer);
      await sample();
      return peak;
    },
  };
}

/**
 * Wraps the bot's generator to note when each request (keyed by its prompt) entered and left the
 * GPU service, so a bench can tell the bot's own time per job from the service's.
 */
export function timeInsideGenerator(): { insideGenerator: Map<string, { started: number; ended: number }>; timed: (generator: Generator) => Generator } {
  const insideGenerator = new Map<string, { started: number; ended: number }>();
  const timed = (generator: Generator): Generator => ({
    async generate(request, options) {
      const started = performance.now();
      const image = await generator.generate(request, options);
      insideGenerator.set(request.prompt, { started, ended: performance.now() });
      return image;
    },
  });
  return { insideGenerator, timed };
}

/** Wall-clock ms (Date.now) → performance.now() timeline. */
export function toPerf(epochMs: number): number {
  return epochMs - (Date.now() - performance.now());
}

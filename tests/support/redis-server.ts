import { spawn, type ChildProcess } from 'node:child_process';
import { accessSync, constants } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { afterAll } from 'vitest';

/** A private redis-server for one test file, on a free port of 127.0.0.1, storing nothing on disk. */
export interface RedisServer {
  url: string;
  port: number;
  /** Stops the server (SIGTERM, then waits for it to exit) and removes its folder. Safe to call twice. */
  stop(): Promise<void>;
  /** Stops the server and starts a new one on the same port: clients see the connection drop. The data is gone unless the server is `persistent`. */
  restart(options?: { downForMs?: number }): Promise<void>;
}

/**
 * Starts redis-server from PATH. When there is none, warns loudly and returns undefined so the
 * suite skips — except under CI (`CI=true`), where a missing server fails the run: CI installs
 * it (.ci/install-services.sh), so its absence there is a broken setup, not a reason to skip.
 */
export async function startRedisServer({ persistent = false }: { persistent?: boolean } = {}): Promise<RedisServer | undefined> {
  const binary = findOnPath('redis-server');
  if (!binary) return serviceMissing('redis-server', 'Redis', "install Debian's redis-server (bash .ci/install-services.sh)");
  const dir = await mkdtemp(path.join(os.tmpdir(), 'kmplz-redis-'));
  const launch = async (port: number) => {
    const child = spawnService(binary, [
      '--port', String(port),
      '--bind', '127.0.0.1',
      '--save', '',
      // Persistent: every write reaches the append-only file before it is acknowledged, as a
      // production Redis behind BullMQ is set up, so a restart keeps the queue.
      ...(persistent ? ['--appendonly', 'yes', '--appendfsync', 'always'] : ['--appendonly', 'no']),
      '--dir', dir,
      '--daemonize', 'no',
    ]);
    await waitUntil(() => redisAnswers(port), child, 'redis-server');
    return child;
  };
  const { port, child: first } = await onFreePort(async (free) => ({ child: await launch(free) }));
  let child = first;
  let stopped = false;
  return {
    url: `redis://127.0.0.1:${port}`,
    port,
    async stop() {
      if (stopped) return;
      stopped = true;
      await stopService(child, 'SIGTERM');
      await rm(dir, { recursive: true, force: true });
    },
    async restart({ downForMs = 0 } = {}) {
      await stopService(child, 'SIGTERM');
      await sleep(downForMs);
      child = await launch(port);
    },
  };
}

/**
 * For a test file: starts its own redis-server and stops it after the file's tests. Call at the
 * top level of the file and skip the suites on undefined:
 * `const redis = await requireRedisOrSkip(); describe.skipIf(!redis)(…)`.
 */
export async function requireRedisOrSkip(options: { persistent?: boolean } = {}): Promise<RedisServer | undefined> {
  const server = await startRedisServer(options);
  if (server) afterAll(() => server.stop());
  return server;
}

/** Sends an inline PING and expects `+PONG`: true only once the server accepts commands. */
function redisAnswers(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = net.connect(port, '127.0.0.1');
    let reply = '';
    const finish = (answered: boolean) => {
      socket.destroy();
      resolve(answered);
    };
    socket.setTimeout(500, () => finish(false));
    socket.on('connect', () => socket.write('PING\r\n'));
    socket.on('data', (chunk) => {
      reply += chunk.toString('latin1');
      if (reply.includes('\r\n')) finish(reply.startsWith('+PONG'));
    });
    socket.on('error', () => finish(false));
  });
}

// Shared with the other service helpers (postgres-server.ts).

export function findOnPath(name: string): string | undefined {
  for (const dir of (process.env.PATH ?? '').split(path.delimiter)) {
    if (!dir) continue;
    const candidate = path.join(dir, name);
    try {
      accessSync(candidate, constants.X_OK);
      return candidate;
    } catch {
      // Not in this folder: try the next one.
    }
  }
  return undefined;
}

/** The skip-or-fail rule for a service the machine lacks. */
export function serviceMissing(service: string, tests: string, install: string): undefined {
  if (process.env.CI === 'true') {
    throw new Error(`${service} not found, and under CI=true that fails the run instead of skipping the ${tests} tests — ${install}`);
  }
  const message = `${service} not found: skipping ${tests} tests — ${install}`;
  const bar = '='.repeat(Math.min(message.length, 100));
  console.warn(`\n${bar}\n${message}\n${bar}\n`);
  return undefined;
}

/** A port that was free a moment ago; onFreePort retries in case someone took it in between. */
function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = net.createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as net.AddressInfo;
      server.close(() => resolve(port));
    });
  });
}

export async function onFreePort<T extends object>(start: (port: number) => Promise<T>): Promise<{ port: number } & T> {
  for (let attempt = 1; ; attempt++) {
    const port = await freePort();
    try {
      return { port, ...(await start(port)) };
    } catch (error) {
      if (attempt >= 3) throw error;
    }
  }
}

/** Spawns a server in the foreground, keeps the tail of its output for error messages, and kills it if the test process exits first. */
export function spawnService(command: string, args: readonly string[]): ChildProcess & { output(): string } {
  const child = spawn(command, args, { stdio: ['ignore', 'pipe', 'pipe'] });
  let output = '';
  const keep = (chunk: Buffer) => {
    output = (output + chunk.toString()).slice(-4000);
  };
  child.stdout?.on('data', keep);
  child.stderr?.on('data', keep);
  const killOnExit = () => child.kill('SIGKILL');
  process.once('exit', killOnExit);
  child.once('exit', () => process.off('exit', killOnExit));
  return Object.assign(child, { output: () => output });
}

/** Polls `ready` until it answers true; fails when the server exits first or takes more than 10 s. */
export async function waitUntil(ready: () => Promise<boolean>, child: ChildProcess & { output(): string }, name: string): Promise<void> {
  const deadline = Date.now() + 10_000;
  while (!(await ready())) {
    if (child.exitCode !== null || child.signalCode !== null) {
      throw new Error(`${name} exited (${child.exitCode ?? child.signalCode}) before answering:\n${child.output()}`);
    }
    if (Date.now() > deadline) {
      await stopService(child, 'SIGKILL');
      throw new Error(`${name} did not answer within 10 s:\n${child.output()}`);
    }
    await sleep(20);
  }
}

/** Sends `signal` and waits for the exit; SIGKILL when the server has not gone after 5 s. */
export async function stopService(child: ChildProcess, signal: NodeJS.Signals): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  child.kill(signal);
  const timer = setTimeout(() => child.kill('SIGKILL'), 5_000);
  await exited;
  clearTimeout(timer);
}

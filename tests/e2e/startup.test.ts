import { spawn } from 'node:child_process';
import { createServer, type AddressInfo } from 'node:net';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startDiscordEmulator, type DiscordEmulator } from '../emulators/discord/index.js';
import { startReplicateEmulator } from '../emulators/replicate/index.js';
import { emulatorEnv } from '../support/bot.js';

const root = path.resolve(import.meta.dirname, '../..');
const tsx = path.join(root, 'node_modules/.bin/tsx');

/** Runs a script as `npm start` / `npm run deploy` would, in `cwd`, with only the given environment. */
function run(script: string, { cwd, env, untilOutput, args = [] }: { cwd: string; env: Record<string, string>; untilOutput?: RegExp; args?: string[] }) {
  return spawnCapturing(tsx, [path.join(root, script), ...args], { cwd, env, untilOutput });
}

/**
 * Starts a program with only the given environment, gathering what it prints. `detached` gives
 * it a process group of its own, for programs that start others (npm → cross-env → node).
 */
function spawnCapturing(command: string, args: string[], { cwd, env, untilOutput, detached = false }: { cwd: string; env: Record<string, string>; untilOutput?: RegExp; detached?: boolean }) {
  const child = spawn(command, args, {
    cwd,
    detached,
    env: { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? '', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (chunk: Buffer) => (stdout += chunk));
  child.stderr.on('data', (chunk: Buffer) => (stderr += chunk));
  const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
  const matched = untilOutput
    ? new Promise<void>((resolve, reject) => {
        const check = () => untilOutput.test(stdout) && resolve();
        child.stdout.on('data', check);
        void exited.then(() => reject(new Error(`exited before ${untilOutput}: ${stdout}\n${stderr}`)));
      })
    : Promise.resolve();
  return { child, exited, matched, output: () => ({ stdout, stderr }) };
}

/** A port nothing listens on: one the system just handed out and took back. */
async function closedPort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  await new Promise((resolve) => server.close(resolve));
  return port;
}

let discord: DiscordEmulator;
let cwd: string;

beforeAll(async () => {
  discord = await startDiscordEmulator();
  cwd = await mkdtemp(path.join(tmpdir(), 'kmplz-start-'));
});
afterAll(async () => {
  await discord?.close();
  await rm(cwd, { recursive: true, force: true });
});

describe('starting the bot', () => {
  it('with no .env, prints one message naming DISCORD_TOKEN and exits non-zero', async () => {
    const started = run('src/main.ts', { cwd, env: {} });
    expect(await started.exited).toBe(1);
    const { stdout, stderr } = started.output();
    expect(stderr).toMatch(/DISCORD_TOKEN/);
    expect(stderr).not.toMatch(/\n\s+at /); // no stack trace
    expect(stderr.trim().split('\n').length).toBeLessThanOrEqual(4);
    expect(stdout).toBe('');
  });

  it('names every malformed key at once', async () => {
    const started = run('src/main.ts', { cwd, env: { DISCORD_TOKEN: 'x', HTTP_PORT: 'eighty', CAPTION_BACKEND: 'openai' } });
    expect(await started.exited).toBe(1);
    expect(started.output().stderr).toMatch(/HTTP_PORT[\s\S]*CAPTION_BACKEND|CAPTION_BACKEND[\s\S]*HTTP_PORT/);
  });

  it.each([
    ['a token Discord refuses', () => ({ DISCORD_TOKEN: 'MTIz.not-the.token' }), /^kmplz could not start: Discord refused DISCORD_TOKEN\./],
    ['a Redis that is not running', async () => ({ REDIS_URL: `redis://127.0.0.1:${await closedPort()}` }), /^kmplz could not start: REDIS_URL: cannot connect to Redis at 127\.0\.0\.1:\d+: connect ECONNREFUSED/],
  ])('with %s, says so in one plain line on stderr and exits non-zero', async (_name, envOf, expected) => {
    const started = run('src/main.ts', { cwd, env: { ...emulatorEnv({ discord }, cwd), LOG_LEVEL: 'fatal', ...(await envOf()) } });
    expect(await started.exited).toBe(1);
    const { stderr } = started.output();
    expect(stderr.trim()).toMatch(expected);
    expect(stderr.trim().split('\n')).toHaveLength(1);
  });

  it('npm run deploy registers every command of the contract with options and bounds', async () => {
    const guildId = discord.guild().id;
    const dryRun = run('deploy/register-commands.ts', { cwd, env: { ...emulatorEnv({ discord }, cwd), DISCORD_GUILD_ID: guildId }, args: ['--dry-run'] });
    expect(await dryRun.exited).toBe(0);
    expect(dryRun.output().stdout).toMatch(/^Dry run: .* would add 11, change 0, remove 0/);
    expect(discord.registeredCommands(guildId)).toEqual([]);
    const deployed = run('deploy/register-commands.ts', { cwd, env: { ...emulatorEnv({ discord }, cwd), DISCORD_GUILD_ID: guildId } });
    expect(await deployed.exited).toBe(0);
    expect(deployed.output().stdout).toMatch(/add 11/);
    const commands = discord.registeredCommands(guildId);
    expect(commands.map((c) => c.name).sort()).toEqual(['Add to kmplz dataset', 'caption', 'checkpoints', 'compare', 'dataset', 'help', 'kmplz', 'publish', 'showcase', 'train', 'vote']);
    const kmplz = commands.find((c) => c.name === 'kmplz')!;
    const option = (name: string) => kmplz.options?.find((o) => o.name === name) as Record<string, unknown> | undefined;
    expect(option('prompt')).toMatchObject({ required: true });
    expect(option('steps')).toMatchObject({ min_value: 1, max_value: 100 });
    expect(option('guidance')).toMatchObject({ min_value: 0, max_value: 20 });
    expect(option('checkpoint')).toMatchObject({ autocomplete: true });
    for (const name of ['negative', 'seed', 'width', 'height']) expect(option(name)).toBeDefined();
    expect(commands.find((c) => c.name === 'Add to kmplz dataset')).toMatchObject({ type: 3, description: '', contexts: [0] });
    const dataset = commands.find((c) => c.name === 'dataset')!;
    expect(dataset.options?.map((o) => o.name).sort()).toEqual(['add', 'clear', 'list', 'remove']);
    expect(discord.specErrors).toEqual([]);

    const again = run('deploy/register-commands.ts', { cwd, env: { ...emulatorEnv({ discord }, cwd), DISCORD_GUILD_ID: guildId } });
    expect(await again.exited).toBe(0);
    // Discord answers the message menu with `description: ""`: still the same command, not sent again.
    expect(again.output().stdout).toMatch(/add 0, change 0, remove 0, keep 11/);
  });

  it('npm start against the emulator registers the commands, logs in and answers /checkpoints within 3 seconds', async () => {
    // A newcomer's first start: no command registered globally yet (the test above used guild commands).
    expect(discord.registeredCommands()).toEqual([]);
    const started = run('src/main.ts', { cwd, env: { ...emulatorEnv({ discord }, cwd), LOG_LEVEL: 'info' }, untilOutput: /kmplz is online/ });
    try {
      await started.matched;
      expect(discord.registeredCommands().map((c) => c.name).sort()).toEqual(['Add to kmplz dataset', 'caption', 'checkpoints', 'compare', 'dataset', 'help', 'kmplz', 'publish', 'showcase', 'train', 'vote']);
      expect(started.output().stdout).toMatch(/registered the slash commands with Discord/);
      const slash = await discord.slash({ name: 'checkpoints' });
      const reply = await slash.waitForOriginal(undefined, 3000);
      expect(reply.content).toMatch(/No checkpoints yet/);
      expect(Date.now() - slash.dispatchedAt).toBeLessThan(3000);
    } finally {
      started.child.kill('SIGTERM');
      expect(await started.exited).toBe(0);
    }
    expect(started.output().stdout).toMatch(/"signal":"SIGTERM"[\s\S]*stopped/);

    // The next start finds them registered and sends nothing.
    const puts = () => discord.requests.filter((r) => r.method === 'PUT' && r.path.endsWith('/commands')).length;
    const before = puts();
    const again = run('src/main.ts', { cwd, env: { ...emulatorEnv({ discord }, cwd), LOG_LEVEL: 'info' }, untilOutput: /kmplz is online/ });
    try {
      await again.matched;
    } finally {
      again.child.kill('SIGTERM');
      await again.exited;
    }
    expect(puts()).toBe(before);
    expect(again.output().stdout).not.toMatch(/registered the slash commands/);
  });

  it('`npm start` (as written in package.json, through npm) prints the ready invite link and names a missing destination model', async () => {
    const replicate = await startReplicateEmulator({ destinations: [] });
    // npm runs the script from the project root; the whole configuration comes from the environment.
    const started = spawnCapturing('npm', ['start'], { cwd: root, detached: true, env: { ...emulatorEnv({ discord, replicate }, cwd), LOG_LEVEL: 'warn' } });
    try {
      await expect.poll(() => started.output().stderr, { timeout: 20_000, interval: 100 }).toMatch(/REPLICATE_TRAINING_DESTINATION names kmplz-tests\/style, which does not exist/);
      const { stdout, stderr } = started.output();
      expect(stderr).toContain(`kmplz is online. Add it to a server with: https://discord.com/oauth2/authorize?client_id=${discord.applicationId}&scope=bot%20applications.commands&permissions=309237763072`);
      expect(stdout).toMatch(/"key":"REPLICATE_TRAINING_DESTINATION","problem":"not-found"/);
    } finally {
      process.kill(-started.child.pid!, 'SIGTERM');
      await started.exited;
      await replicate.close();
    }
  });
});

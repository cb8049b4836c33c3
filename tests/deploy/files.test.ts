import { execFile, spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, copyFileSync, rmSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
// js-yaml is not a dependency of kmplz: it comes with the dev tree (openapi-backend →
// @apidevtools/json-schema-ref-parser). Good enough to check that the compose file parses.
import { load as parseYaml } from 'js-yaml';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { configKeys } from '../../src/config.js';

/**
 * The deployment files, checked without Docker or systemd running: the Dockerfile's final
 * stage, the compose file's structure and keys, the systemd unit, and the one-liners they run.
 */

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const read = (file: string) => readFileSync(path.join(root, file), 'utf8');
const run = promisify(execFile);

/** Variables the deployment sets that are not kmplz configuration but read by node or npm. */
const runtimeVariables = new Set(['NODE_ENV', 'MALLOC_ARENA_MAX', 'NPM_CONFIG_UPDATE_NOTIFIER']);

// --- Dockerfile -----------------------------------------------------------------------------

interface Instruction {
  keyword: string;
  args: string;
}

/** Instructions grouped by stage: comments dropped, `\` continuations joined. */
function dockerStages(text: string): Instruction[][] {
  const logical: string[] = [];
  let current = '';
  for (const raw of text.split('\n')) {
    const line = raw.trim();
    if (line.startsWith('#') || (line === '' && current === '')) continue;
    if (line.endsWith('\\')) {
      current += line.slice(0, -1) + ' ';
      continue;
    }
    logical.push(current + line);
    current = '';
  }
  const stages: Instruction[][] = [];
  for (const line of logical.filter(Boolean)) {
    const [, keyword = '', args = ''] = /^(\S+)\s*(.*)$/.exec(line) ?? [];
    const instruction = { keyword: keyword.toUpperCase(), args: args.trim() };
    if (instruction.keyword === 'FROM') stages.push([]);
    stages.at(-1)?.push(instruction);
  }
  return stages;
}

/** `KEY=value KEY2=value` (the form used here) of ENV instructions. */
function envOf(stage: Instruction[]): Map<string, string> {
  const env = new Map<string, string>();
  for (const { args } of stage.filter((i) => i.keyword === 'ENV')) {
    for (const [, key = '', value = ''] of args.matchAll(/([A-Za-z_][A-Za-z0-9_]*)=(\S*)/g)) env.set(key, value);
  }
  return env;
}

const dockerfile = read('deploy/Dockerfile');
const stages = dockerStages(dockerfile);
const finalStage = stages.at(-1) ?? [];
const only = (keyword: string) => finalStage.filter((i) => i.keyword === keyword);

/** The exec-form command of HEALTHCHECK (its options stripped). */
function healthcheckCommand(): string[] {
  const [healthcheck] = only('HEALTHCHECK');
  const json = healthcheck?.args.replace(/^(--\S+\s+)*CMD\s+/, '') ?? '';
  return JSON.parse(json) as string[];
}

describe('deploy/Dockerfile', () => {
  it('builds dependencies in a separate stage with the toolchain sqlite3 needs', () => {
    expect(stages.length).toBeGreaterThanOrEqual(2);
    const build = stages.slice(0, -1).flat();
    const runs = build.filter((i) => i.keyword === 'RUN').map((i) => i.args).join('\n');
    for (const tool of ['python3', 'make', 'g++']) expect(runs).toContain(` ${tool}`);
    expect(runs).toMatch(/npm ci --omit=dev/);
    // --omit=dev is only right while the runner is a runtime dependency.
    const pkg = JSON.parse(read('package.json')) as { dependencies: Record<string, string>; scripts: Record<string, string> };
    expect(pkg.dependencies).toHaveProperty('tsx');
    expect(pkg.dependencies).toHaveProperty('cross-env');
    expect(pkg.scripts.start).toBe('cross-env MALLOC_ARENA_MAX=2 tsx src/main.ts');
  });

  it('has npm scripts that Windows cmd.exe runs as well as sh (no VAR=value prefix, $VAR, quotes or ;)', () => {
    const pkg = JSON.parse(read('package.json')) as { scripts: Record<string, string> };
    for (const [name, script] of Object.entries(pkg.scripts)) {
      expect({ name, script }).not.toMatchObject({ script: expect.stringMatching(/^\s*\w+=|\$\w|'|;/) });
    }
  });

  it('runs the final stage on node:22-bookworm-slim (Node 20 is past its end of life) as a non-root user', () => {
    expect(finalStage[0]?.args).toMatch(/^node:22-bookworm-slim(\s|$)/);
    // The build stage is the same Debian, so native modules match the runtime's libc.
    expect(stages[0]?.[0]?.args).toMatch(/^node:22-bookworm-slim(\s|$)/);
    const users = only('USER');
    expect(users.length).toBeGreaterThan(0);
    const user = users.at(-1)!.args.split(':')[0];
    expect(['', 'root', '0']).not.toContain(user);
    // The user is created in that stage.
    expect(only('RUN').some((i) => new RegExp(`useradd\\b.*\\b${user}\\b`).test(i.args))).toBe(true);
  });

  it('declares DATA_DIR as a volume owned by that user, and the runtime environment', () => {
    const env = envOf(finalStage);
    expect(env.get('DATA_DIR')).toBe('/data');
    expect(env.get('MALLOC_ARENA_MAX')).toBe('2');
    expect(env.get('HTTP_PORT')).toBe('8080');
    for (const key of env.keys()) expect([...configKeys, ...runtimeVariables]).toContain(key);
    expect(only('VOLUME').map((i) => i.args).join(' ')).toContain('"/data"');
    const user = only('USER').at(-1)!.args;
    // chown happens before VOLUME: changes to a volume path after it are discarded.
    const chown = finalStage.findIndex((i) => i.keyword === 'RUN' && i.args.includes(`chown ${user}:${user} /data`));
    expect(chown).toBeGreaterThanOrEqual(0);
    expect(chown).toBeLessThan(finalStage.findIndex((i) => i.keyword === 'VOLUME'));
    expect(only('EXPOSE').map((i) => i.args)).toEqual(['8080']);
  });

  it('has a HEALTHCHECK on /healthz without curl and a CMD that is what npm start runs, without npm', () => {
    const command = healthcheckCommand();
    expect(command.slice(0, 2)).toEqual(['node', '-e']);
    expect(command[2]).toContain('/healthz');
    expect(stages.flat().map((i) => i.args).join('\n')).not.toMatch(/\bcurl\b|\bwget\b/);
    const cmd = only('CMD');
    expect(cmd).toHaveLength(1);
    expect(JSON.parse(cmd[0]!.args)).toEqual(['node', '--import', 'tsx', 'src/main.ts']);
    expect(only('ENTRYPOINT')).toHaveLength(0);
  });

  it('copies only files that exist and that .dockerignore lets through', () => {
    const ignored = read('.dockerignore')
      .split('\n')
      .map((line) => line.trim())
      .filter((line) => line && !line.startsWith('#') && !line.startsWith('!'))
      .map((pattern) => pattern.replace(/\/$/, ''));
    const isIgnored = (file: string) =>
      ignored.some((pattern) => file === pattern || file.startsWith(`${pattern}/`) || (pattern.includes('*') && globToRegExp(pattern).test(file)));
    const sources = only('COPY')
      .filter((i) => !i.args.startsWith('--from'))
      .flatMap((i) => i.args.split(/\s+/).slice(0, -1));
    expect(sources).toEqual(expect.arrayContaining(['package.json', 'package-lock.json', 'src', 'commands']));
    for (const source of sources) {
      if (source.includes('*')) {
        const dir = path.dirname(source);
        expect(existsSync(path.join(root, dir)), source).toBe(true);
        expect(isIgnored(dir), source).toBe(false);
      } else {
        expect(existsSync(path.join(root, source)), source).toBe(true);
        expect(isIgnored(source), source).toBe(false);
      }
    }
    for (const file of ['src/main.ts', 'deploy/register-commands.ts', 'deploy/registration.ts']) expect(isIgnored(file), file).toBe(false);
    // Secrets and local state never reach the build context.
    for (const file of ['.env', 'node_modules', 'data', '.git', 'bench/out', 'tests']) expect(isIgnored(file), file).toBe(true);
  });
});

function globToRegExp(glob: string): RegExp {
  const source = glob
    .replace(/[.+^${}()|[\]\\]/g, '\\$&')
    .replace(/\*\*\//g, '(?:.*/)?')
    .replace(/\*/g, '[^/]*');
  return new RegExp(`^${source}$`);
}

// --- docker-compose.yml --------------------------------------------------------------------

interface ComposeService {
  image?: string;
  build?: { context: string; dockerfile: string };
  env_file?: string[];
  environment?: Record<string, string>;
  volumes?: string[];
  depends_on?: Record<string, { condition: string }>;
  restart?: string;
  stop_grace_period?: string;
  healthcheck?: { test: string[] };
}

const compose = parseYaml(read('deploy/docker-compose.yml')) as {
  services: Record<string, ComposeService>;
  volumes: Record<string, unknown>;
};

describe('deploy/docker-compose.yml', () => {
  const { bot, redis } = compose.services;

  it('parses into the bot and redis:7', () => {
    expect(Object.keys(compose.services).sort()).toEqual(['bot', 'redis']);
    expect(redis?.image).toBe('redis:7');
    // Build paths are relative to deploy/: the context is the repository root.
    expect(path.resolve(root, 'deploy', bot!.build!.context)).toBe(root);
    expect(existsSync(path.join(root, bot!.build!.dockerfile))).toBe(true);
    expect(bot?.env_file?.map((file) => path.resolve(root, 'deploy', file))).toEqual([path.join(root, '.env')]);
  });

  it('sets only real configuration keys, pointing the store and the queue at redis', () => {
    const environment = bot?.environment ?? {};
    for (const key of Object.keys(environment)) expect(configKeys).toContain(key);
    expect(environment.STORE_URL).toBe('redis://redis:6379');
    expect(environment.REDIS_URL).toBe('redis://redis:6379');
    expect(environment.DATA_DIR).toBe('/data');
    expect(environment.HTTP_PORT).toBe('8080');
  });

  it('keeps /data in a named volume, restarts, waits for a healthy redis and allows a slow stop', () => {
    expect(bot?.volumes).toContain('kmplz-data:/data');
    for (const volume of [...(bot?.volumes ?? []), ...(redis?.volumes ?? [])]) {
      expect(Object.keys(compose.volumes)).toContain(volume.split(':')[0]);
    }
    expect(bot?.restart).toBe('unless-stopped');
    expect(redis?.restart).toBe('unless-stopped');
    expect(bot?.depends_on?.redis?.condition).toBe('service_healthy');
    expect(Number.parseInt(bot?.stop_grace_period ?? '0', 10)).toBeGreaterThanOrEqual(45);
    expect(redis?.healthcheck?.test).toEqual(['CMD', 'redis-cli', 'ping']);
    // The bot's health check is the image's (compose does not interpolate it: no `$`).
    expect(bot?.healthcheck?.test).toEqual(['CMD', ...healthcheckCommand()]);
    expect(read('deploy/docker-compose.yml')).not.toContain('$');
  });
});

// --- docker-compose.gpu.yml (own GPU) ---------------------------------------------------------

describe('deploy/docker-compose.gpu.yml', () => {
  const text = read('deploy/docker-compose.gpu.yml');
  const gpu = parseYaml(text) as { services: Record<string, ComposeService & { command?: string[]; deploy?: unknown }>; volumes: Record<string, unknown> };
  const { bot, generator, captioner, trainer } = gpu.services;

  it('starts the bot beside the three Cog servers, configured for them with real keys only', () => {
    expect(Object.keys(gpu.services).sort()).toEqual(['bot', 'captioner', 'generator', 'trainer']);
    expect(path.resolve(root, 'deploy', bot!.build!.context)).toBe(root);
    expect(bot?.env_file?.map((file) => path.resolve(root, 'deploy', file))).toEqual([path.join(root, '.env')]);
    const environment = bot?.environment ?? {};
    for (const key of Object.keys(environment)) expect(configKeys).toContain(key);
    expect(environment).toMatchObject({ GPU_BACKEND: 'cog', COG_GENERATOR_URL: 'http://generator:5000', COG_CAPTIONER_URL: 'http://captioner:5000', COG_TRAINER_URL: 'http://trainer:5000', COG_CALLBACK_URL: 'http://bot:8080', HTTP_PORT: '8080' });
    expect(bot?.volumes).toContain('kmplz-data:/data');
    expect(Object.keys(gpu.volumes)).toContain('kmplz-data');
  });

  it('runs the same model versions as on Replicate, and the trainer uploads to the bot with the shared token', () => {
    expect(generator?.image).toBe('r8.im/stability-ai/sdxl@sha256:39ed52f2a78e934b3ba6e2a89f5b1c712de7dfea535525255b1aa35c5565e08b');
    expect(captioner?.image).toBe('r8.im/salesforce/blip@sha256:2e1dddc8621f72155f24cf2e0adbde548458d3cab9f00c0139eea840d0ac4746');
    expect(trainer?.command).toEqual(['python', '-m', 'cog.server.http', '--upload-url', 'http://bot:8080/cog/uploads/${COG_WEBHOOK_TOKEN:?set COG_WEBHOOK_TOKEN in .env}/']);
    for (const service of [generator, captioner, trainer]) {
      // coglet sends WEBHOOK_AUTH_TOKEN as a bearer token; the bot checks it against COG_WEBHOOK_TOKEN.
      expect(service?.environment?.WEBHOOK_AUTH_TOKEN).toBe('${COG_WEBHOOK_TOKEN:?set COG_WEBHOOK_TOKEN in .env}');
      expect(JSON.stringify(service?.deploy)).toContain('"capabilities":["gpu"]');
      expect(service?.env_file).toBeUndefined();
    }
    // Only COG_WEBHOOK_TOKEN is interpolated: no other secret of .env reaches the model containers.
    expect(new Set([...text.matchAll(/\$\{(\w+)/g)].map((m) => m[1]))).toEqual(new Set(['COG_WEBHOOK_TOKEN']));
  });
});

// --- systemd unit ---------------------------------------------------------------------------

function unitSections(text: string): Map<string, [string, string][]> {
  const sections = new Map<string, [string, string][]>();
  let current: [string, string][] | undefined;
  for (const raw of text.split('\n')) {
    const line = raw.trim();
    if (line === '' || line.startsWith('#') || line.startsWith(';')) continue;
    const header = /^\[(\w+)\]$/.exec(line);
    if (header) {
      current = [];
      sections.set(header[1]!, current);
      continue;
    }
    const [key, ...rest] = line.split('=');
    current?.push([key!.trim(), rest.join('=').trim()]);
  }
  return sections;
}

describe('deploy/kmplz.service', () => {
  const text = read('deploy/kmplz.service');
  const sections = unitSections(text);
  const service = new Map<string, string[]>();
  for (const [key, value] of sections.get('Service') ?? []) service.set(key, [...(service.get(key) ?? []), value]);
  const one = (key: string) => service.get(key)?.at(-1);

  it('has [Unit], [Service] and [Install], and starts node the way npm start does', () => {
    expect([...sections.keys()]).toEqual(['Unit', 'Service', 'Install']);
    expect(one('ExecStart')).toBe('/usr/bin/node --import tsx src/main.ts');
    expect(one('WorkingDirectory')).toMatch(/^\//);
    expect(one('EnvironmentFile')).toMatch(/^-?\//);
    expect(sections.get('Install')).toContainEqual(['WantedBy', 'multi-user.target']);
  });

  it('runs as a dedicated user, restarts on failure and waits for the graceful shutdown', () => {
    expect(one('User')).toBe('kmplz');
    expect(one('Restart')).toBe('on-failure');
    expect(one('KillSignal')).toBe('SIGTERM');
    expect(Number.parseInt(one('TimeoutStopSec') ?? '0', 10)).toBeGreaterThanOrEqual(45);
  });

  it('is sandboxed with only DATA_DIR writable, and sets only known variables', () => {
    expect(one('NoNewPrivileges')).toBe('yes');
    expect(one('ProtectSystem')).toBe('strict');
    // V8's JIT cannot run under MemoryDenyWriteExecute.
    expect(service.has('MemoryDenyWriteExecute')).toBe(false);
    const environment = new Map((service.get('Environment') ?? []).map((assignment) => assignment.split('=') as [string, string]));
    for (const key of environment.keys()) expect([...configKeys, ...runtimeVariables]).toContain(key);
    expect(environment.get('MALLOC_ARENA_MAX')).toBe('2');
    expect(one('ReadWritePaths')).toBe(environment.get('DATA_DIR'));
  });

  const analyze = spawnSync('systemd-analyze', ['--version']).status === 0 && existsSync('/usr/bin/node');
  it.skipIf(!analyze)('passes systemd-analyze verify (where systemd-analyze is installed)', async () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'kmplz-unit-'));
    try {
      copyFileSync(path.join(root, 'deploy/kmplz.service'), path.join(dir, 'kmplz.service'));
      const { stderr } = await run('systemd-analyze', ['verify', path.join(dir, 'kmplz.service')]);
      expect(stderr).toBe('');
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

// --- the commands the files run ---------------------------------------------------------------

describe('what the container runs', () => {
  let server: Server;
  let status = 200;
  let port = 0;
  beforeAll(async () => {
    server = createServer((req, res) => {
      res.statusCode = req.url === '/healthz' ? status : 404;
      res.end();
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    port = (server.address() as AddressInfo).port;
  });
  afterAll(() => new Promise<void>((resolve) => server.close(() => resolve())));

  /** The health check's exit code, run by this node as the container would. */
  async function check(env: Record<string, string>): Promise<number> {
    const [node, ...args] = healthcheckCommand();
    expect(node).toBe('node');
    return run(process.execPath, args, { env: { PATH: process.env.PATH, ...env }, timeout: 10_000 }).then(
      () => 0,
      (error: { code?: number }) => error.code ?? -1,
    );
  }

  it('the health check passes on 200 from /healthz and fails on 503, a closed port or no HTTP_PORT', async () => {
    status = 200;
    expect(await check({ HTTP_PORT: String(port) })).toBe(0);
    status = 503;
    expect(await check({ HTTP_PORT: String(port) })).toBe(1);
    const closed = createServer();
    await new Promise<void>((resolve) => closed.listen(0, '127.0.0.1', resolve));
    const closedPort = (closed.address() as AddressInfo).port;
    await new Promise<void>((resolve) => closed.close(() => resolve()));
    expect(await check({ HTTP_PORT: String(closedPort) })).toBe(1);
    expect(await check({})).toBe(1);
  });

  it('the CMD loads the TypeScript through tsx on this node (stops at the configuration check)', async () => {
    const cmd = JSON.parse(only('CMD')[0]!.args) as string[];
    // Empty values in the environment win over a developer's .env: the bot stops before connecting.
    const result = await run(process.execPath, cmd.slice(1), {
      cwd: root,
      env: { PATH: process.env.PATH, DISCORD_TOKEN: '', TRIGGER_WORD: '!' },
      timeout: 60_000,
    }).then(
      () => ({ code: 0, stderr: '' }),
      (error: { code?: number; stderr?: string }) => ({ code: error.code, stderr: error.stderr ?? '' }),
    );
    expect(result.code).toBe(1);
    expect(result.stderr).toContain('kmplz cannot start');
    expect(result.stderr).toContain('TRIGGER_WORD');
  });
});

import { execFile } from 'node:child_process';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { chown, mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { afterAll } from 'vitest';
import { findOnPath, onFreePort, serviceMissing, spawnService, stopService, waitUntil } from './redis-server.js';

const run = promisify(execFile);

/** A throwaway PostgreSQL cluster for one test file: trust auth on 127.0.0.1, user `kmplz`, database `postgres`. */
export interface PostgresServer {
  url: string;
  port: number;
  /** Stops the server (fast shutdown, then waits for it to exit) and removes its cluster. Safe to call twice. */
  stop(): Promise<void>;
  /** Stops and starts the server on the same port and cluster: clients see their connections drop, the data stays. */
  restart(): Promise<void>;
}

/** Debian keeps the server binaries out of PATH, under /usr/lib/postgresql/<major>/bin; other systems put initdb on PATH. */
function findBinDir(): string | undefined {
  const debian = '/usr/lib/postgresql';
  if (existsSync(debian)) {
    const majors = readdirSync(debian)
      .filter((name) => existsSync(path.join(debian, name, 'bin', 'initdb')))
      .sort((a, b) => Number(b) - Number(a));
    if (majors[0]) return path.join(debian, majors[0], 'bin');
  }
  const initdb = findOnPath('initdb');
  return initdb && path.dirname(initdb);
}

/**
 * initdb and postgres refuse to run as root. As root, they run as `nobody` through setpriv,
 * which execs the server in place: the pid we hold is the server's, so our signals reach it.
 */
function asServerUser(): { prefix: string[]; uid: number; gid: number } | undefined {
  if (process.getuid?.() !== 0) return undefined;
  const setpriv = findOnPath('setpriv');
  if (!setpriv) throw new Error('running as root and setpriv (util-linux) is missing: cannot start PostgreSQL as an unprivileged user');
  const nobody = readFileSync('/etc/passwd', 'utf8')
    .split('\n')
    .find((line) => line.startsWith('nobody:'))
    ?.split(':');
  if (!nobody) throw new Error('running as root and there is no user nobody: cannot start PostgreSQL as an unprivileged user');
  const [uid, gid] = [Number(nobody[2]), Number(nobody[3])];
  return { prefix: [setpriv, `--reuid=${uid}`, `--regid=${gid}`, '--clear-groups'], uid, gid };
}

/**
 * Creates a cluster in a temp folder and starts it on a free port. When PostgreSQL's server
 * binaries are missing: a loud warning and undefined (the suite skips), or an error under CI.
 */
export async function startPostgresServer(): Promise<PostgresServer | undefined> {
  const bin = findBinDir();
  if (!bin) return serviceMissing('PostgreSQL (initdb)', 'PostgreSQL', "install Debian's postgresql (bash .ci/install-services.sh)");
  const user = asServerUser();
  const command = (name: string, args: string[]): [string, string[]] => {
    const full = [...(user?.prefix ?? []), path.join(bin, name), ...args];
    return [full[0] as string, full.slice(1)];
  };
  const dir = await mkdtemp(path.join(os.tmpdir(), 'kmplz-postgres-'));
  if (user) await chown(dir, user.uid, user.gid);
  const data = path.join(dir, 'data');
  // --no-sync and the settings below trade durability, useless for a throwaway cluster, for speed.
  await run(...command('initdb', ['-D', data, '-U', 'kmplz', '--auth=trust', '--no-sync', '--no-locale', '-E', 'UTF8']));

  const launch = async (port: number) => {
    const child = spawnService(
      ...command('postgres', [
        '-D', data,
        '-p', String(port),
        '-k', dir,
        '-c', 'listen_addresses=127.0.0.1',
        '-c', 'fsync=off',
        '-c', 'synchronous_commit=off',
        '-c', 'full_page_writes=off',
      ]),
    );
    const ready = () =>
      run(path.join(bin, 'pg_isready'), ['-q', '-h', '127.0.0.1', '-p', String(port), '-U', 'kmplz', '-d', 'postgres']).then(
        () => true,
        () => false,
      );
    await waitUntil(ready, child, 'postgres');
    return child;
  };
  const { port, child: first } = await onFreePort(async (free) => ({ child: await launch(free) }));
  let child = first;
  let stopped = false;
  return {
    url: `postgres://kmplz@127.0.0.1:${port}/postgres`,
    port,
    async stop() {
      if (stopped) return;
      stopped = true;
      // SIGINT is PostgreSQL's fast shutdown: it disconnects clients instead of waiting for them (SIGTERM).
      await stopService(child, 'SIGINT');
      await rm(dir, { recursive: true, force: true });
    },
    async restart() {
      await stopService(child, 'SIGINT');
      child = await launch(port);
    },
  };
}

/** For a test file, like requireRedisOrSkip: its own cluster, stopped after the file's tests. */
export async function requirePostgresOrSkip(): Promise<PostgresServer | undefined> {
  const server = await startPostgresServer();
  if (server) afterAll(() => server.stop());
  return server;
}

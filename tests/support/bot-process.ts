import { spawn } from 'node:child_process';
import path from 'node:path';

const root = path.resolve(import.meta.dirname, '../..');
const tsx = path.join(root, 'node_modules/.bin/tsx');

/**
 * `npm start` in a child process with only the given environment; resolves once it is online.
 * tsx runs the bot in a node process of its own: the pair gets a process group, so `kill` takes
 * both down at once, as a crash or an OOM kill of the container would.
 */
export async function startBotProcess(env: Record<string, string>) {
  const child = spawn(tsx, [path.join(root, 'src/main.ts')], {
    cwd: env.DATA_DIR,
    env: { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? '', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
    detached: true,
  });
  let output = '';
  child.stdout.on('data', (chunk: Buffer) => (output += chunk));
  child.stderr.on('data', (chunk: Buffer) => (output += chunk));
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  await new Promise<void>((resolve, reject) => {
    const check = () => /kmplz is online/.test(output) && resolve();
    child.stdout.on('data', check);
    void exited.then(() => reject(new Error(`the bot exited before it was online:\n${output}`)));
  });
  const kill = async (signal: NodeJS.Signals) => {
    try {
      process.kill(-child.pid!, signal);
    } catch {
      // The group is gone already.
    }
    await exited;
  };
  return { kill, output: () => output };
}


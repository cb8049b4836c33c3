#!/usr/bin/env node
// Runs the trainer's Python tests (trainer/tests) as part of `npm test`, on any OS. With
// `--prepare` it only makes the environment: `npm test` does that first, because one of the
// TypeScript end-to-end tests runs the real Cog server from it (tests/e2e/cog-real.test.ts).
//
// The tests need torch, diffusers and the rest pinned in trainer/requirements-test.txt. They live
// in a virtual environment at trainer/.venv, made here on the first run and made again whenever
// the requirements change (a hash of both files is kept beside it). PyPI's Linux torch brings its
// CUDA libraries even where there is no GPU, so the first run downloads about 4 GB and takes
// minutes; later runs start at once.
//
// No Python 3.11+ here: the trainer's tests are skipped with a message, except under CI=true,
// where a missing Python fails the run like any other missing server the tests need.
import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const trainer = fileURLToPath(new URL('../trainer/', import.meta.url));
const venv = path.join(trainer, '.venv');
const marker = path.join(venv, '.kmplz-requirements');
const windows = process.platform === 'win32';
const venvPython = path.join(venv, windows ? 'Scripts/python.exe' : 'bin/python');

function run(command, args, options = {}) {
  const result = spawnSync(command, args, { stdio: 'inherit', cwd: trainer, ...options });
  if (result.error) throw result.error;
  return result.status ?? 1;
}

/** The first of python3/python (py -3 on Windows) that is 3.11 or later. */
function findPython() {
  const candidates = windows ? [['py', ['-3']], ['python', []]] : [['python3', []], ['python', []]];
  for (const [command, prefix] of candidates) {
    const probe = spawnSync(command, [...prefix, '-c', 'import sys; print(sys.version_info >= (3, 11))'], { encoding: 'utf8' });
    if (probe.status === 0 && probe.stdout.trim() === 'True') return [command, prefix];
  }
  return undefined;
}

const requirementsHash = createHash('sha256')
  .update(readFileSync(path.join(trainer, 'requirements.txt')))
  .update(readFileSync(path.join(trainer, 'requirements-test.txt')))
  .digest('hex');

if (!(existsSync(venvPython) && existsSync(marker) && readFileSync(marker, 'utf8').trim() === requirementsHash)) {
  const python = findPython();
  if (!python) {
    const message = 'trainer tests: no Python 3.11 or later found (python3/python)';
    if (process.env.CI === 'true') {
      console.error(`${message}; CI=true, so this fails the run.`);
      process.exit(1);
    }
    console.warn(`${message}; skipping them. Install Python 3.11+ to run them.`);
    process.exit(0);
  }
  console.log('trainer tests: making trainer/.venv from trainer/requirements-test.txt (the first time downloads about 4 GB)…');
  rmSync(venv, { recursive: true, force: true });
  const [command, prefix] = python;
  if (run(command, [...prefix, '-m', 'venv', venv]) !== 0) process.exit(1);
  if (run(venvPython, ['-m', 'pip', 'install', '--quiet', '--disable-pip-version-check', '-r', 'requirements-test.txt']) !== 0) process.exit(1);
  writeFileSync(marker, `${requirementsHash}\n`);
}

const args = process.argv.slice(2);
if (args[0] === '--prepare') process.exit(0);
process.exit(run(venvPython, ['-m', 'pytest', ...args]));

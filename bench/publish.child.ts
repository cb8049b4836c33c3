import { readFile } from 'node:fs/promises';
import { parseConfig } from '../src/config.js';
import { createLogger } from '../src/log.js';
import { publishCheckpoint } from '../src/publishing/publish.js';
import { createHfHub } from '../src/services/hf/hub.js';
import { openMemoryStore } from '../src/store/store.js';
import { GenerationJobs } from '../src/generation/repository.js';
import { StoreTrainingRepository } from '../src/training/repository.js';
import { CheckpointArchives } from '../src/training/checkpoint-archives.js';
import type { TrainingRecord } from '../src/training/records.js';

/**
 * One `/publish` of the checkpoint kept under <data dir>, alone in this process, against the
 * Hub at <hub url>. Usage: publish.child.ts <data dir> <hub url> <token>; prints one JSON line.
 */
const [dataDir, hubUrl, token] = process.argv.slice(2);
if (!dataDir || !hubUrl || !token) throw new Error('usage: publish.child.ts <data dir> <hub url> <token>');

/** VmHWM, not getrusage's maxRSS: Linux carries the forking parent's mark across exec (see preprocess.child.ts). */
async function peakRssMb(): Promise<number> {
  try {
    const kb = /^VmHWM:\s+(\d+) kB/m.exec(await readFile('/proc/self/status', 'utf8'))?.[1];
    if (kb) return Number(kb) / 1024;
  } catch {
    // Not Linux.
  }
  return process.resourceUsage().maxRSS / 1024;
}

const config = parseConfig({ DISCORD_TOKEN: 'bench', DATA_DIR: dataDir, HF_HUB_URL: hubUrl });
const store = openMemoryStore();
const log = createLogger({ level: 'silent' });
const training: TrainingRecord = { id: 'tr1', guildId: 'g1', channelId: 'c1', startedBy: 'u1', status: 'succeeded', steps: 1000, checkpointEvery: 250, checkpoints: [{ step: 1000, createdAt: 0 }], votes: {}, createdAt: 0 };
const trainings = new StoreTrainingRepository(store);
await trainings.create(training);
await trainings.setActiveCheckpoint('g1', { trainingId: 'tr1', step: 1000, chosenBy: 'last' });
const started = performance.now();
const outcome = await publishCheckpoint(
  {
    config,
    log,
    trainings,
    jobs: new GenerationJobs(store),
    archives: new CheckpointArchives({ config, repository: trainings, log }),
    hub: createHfHub({ token, hubUrl, log }),
  },
  { guildId: 'g1', serverName: 'bench' },
);
console.log(JSON.stringify({ ms: performance.now() - started, peakRssMb: await peakRssMb(), committed: outcome.committed }));

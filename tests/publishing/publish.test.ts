import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseConfig } from '../../src/config.js';
import { UserError } from '../../src/errors.js';
import { mayWrite, publishCheckpoint, type PublishDeps } from '../../src/publishing/publish.js';
import { createHfHub } from '../../src/services/hf/hub.js';
import { openMemoryStore } from '../../src/store/store.js';
import { GenerationJobs } from '../../src/generation/repository.js';
import { StoreTrainingRepository } from '../../src/training/repository.js';
import { CheckpointArchives, checkpointArchivePath } from '../../src/training/checkpoint-archives.js';
import type { TrainingRecord } from '../../src/training/records.js';
import { startHubEmulator, type HubEmulator } from '../emulators/hub/index.js';
import { safetensorsWithMetadata, writeTar } from '../emulators/replicate/archive.js';
import { cogLoraShapes, sdxlAttentionProcessors } from '../emulators/replicate/lora.js';
import { captureLogger } from '../support/log.js';

let hub: HubEmulator;
let dir: string;

beforeAll(async () => {
  hub = await startHubEmulator({
    tokens: {
      hf_fine: { user: 'teacher', role: 'fineGrained', orgs: ['school'], scoped: { teacher: ['repo.content.read'], school: ['repo.content.read', 'repo.write'] } },
    },
  });
  dir = await mkdtemp(path.join(tmpdir(), 'kmplz-publish-'));
});
afterAll(async () => {
  await hub.close();
  await rm(dir, { recursive: true, force: true });
});

/** A server with one trained checkpoint (step 500, in use) whose archive kmplz kept. */
async function deps(token: string | undefined): Promise<PublishDeps> {
  const config = parseConfig({ DISCORD_TOKEN: 't', DATA_DIR: dir, HF_HUB_URL: hub.url });
  const store = openMemoryStore();
  const log = captureLogger().log;
  const record: TrainingRecord = { id: 'tr1', guildId: 'g1', channelId: 'c1', startedBy: 'u1', status: 'succeeded', steps: 500, checkpointEvery: 500, checkpoints: [{ step: 500, createdAt: 0 }], votes: { u2: 500 }, createdAt: 0 };
  const file = checkpointArchivePath(config, 'g1', 'tr1', 500);
  await mkdir(path.dirname(file), { recursive: true });
  await writeFile(file, writeTar([{ name: 'lora.safetensors', data: safetensorsWithMetadata({}, cogLoraShapes(sdxlAttentionProcessors().slice(0, 1), 4)) }, { name: 'special_params.json', data: Buffer.from('{"KMPLZ": "<s0><s1>"}') }]));
  const trainings = new StoreTrainingRepository(store);
  await trainings.create(record);
  await trainings.setActiveCheckpoint('g1', { trainingId: 'tr1', step: 500, chosenBy: 'vote' });
  return {
    config,
    log,
    trainings,
    jobs: new GenerationJobs(store),
    archives: new CheckpointArchives({ config, repository: trainings, log }),
    hub: token ? createHfHub({ token, hubUrl: hub.url, log }) : undefined,
  };
}

const refusal = async (promise: Promise<unknown>) => {
  const error = await promise.catch((e: unknown) => e);
  expect(error).toBeInstanceOf(UserError);
  return error as UserError;
};

describe('publishCheckpoint', () => {
  it('without HF_TOKEN says how to set one, in English and Russian', async () => {
    const error = await refusal(publishCheckpoint(await deps(undefined), { guildId: 'g1', serverName: 'Class' }));
    expect(error.code).toBe('publish-no-token');
    expect(error.render('en')).toMatch(/HF_TOKEN/);
    expect(error.render('ru')).toMatch(/токен Hugging Face/);
  });

  it('a token the Hub does not accept: said plainly, nothing created', async () => {
    const error = await refusal(publishCheckpoint(await deps('hf_revoked'), { guildId: 'g1', serverName: 'Class' }));
    expect(error.code).toBe('publish-bad-token');
    expect(hub.repos.size).toBe(0);
  });

  it('a fine-grained token writes only where it has repo.write: refused in its own namespace, published in the organisation', async () => {
    const d = await deps('hf_fine');
    expect((await refusal(publishCheckpoint(d, { guildId: 'g1', serverName: 'Class' }))).render('en')).toMatch(/may not write to \*\*teacher\*\*/);
    const outcome = await publishCheckpoint(d, { guildId: 'g1', serverName: 'Class', repo: 'school/style' });
    expect(outcome).toMatchObject({ repo: 'school/style', committed: true, created: true, step: 500 });
    // No embeddings in this archive: the card and files say so instead of pointing at a missing file.
    expect([...hub.repos.get('school/style')!.files.keys()].sort()).toEqual(['README.md', 'pytorch_lora_weights.safetensors', 'trained_model.tar']);
  });

  it('refuses while a blind vote is open: the card would tell which letter is which step', async () => {
    const d = await deps('hf_fine');
    await d.trainings.update({ guildId: 'g1', trainingId: 'tr1' }, (r) => ({ ...r, blind: { '500': 'A' } }));
    const before = hub.requests.length;
    expect((await refusal(publishCheckpoint(d, { guildId: 'g1', serverName: 'Class', repo: 'school/blind' }))).code).toBe('publish-blind');
    expect(hub.requests.length).toBe(before);
  });

  it('mayWrite: a write token in its user and organisations, a read token nowhere', () => {
    const account = { name: 'teacher', orgs: ['school'], role: 'write', scoped: {} };
    expect(mayWrite(account, 'teacher')).toBe(true);
    expect(mayWrite(account, 'school')).toBe(true);
    expect(mayWrite(account, 'other')).toBe(false);
    expect(mayWrite({ ...account, role: 'read' }, 'teacher')).toBe(false);
  });
});

import { createHash } from 'node:crypto';
import { openAsBlob } from 'node:fs';
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import type { Config } from '../config.js';
import { UserError } from '../errors.js';
import type { GenerationJobs } from '../generation/repository.js';
import { msg } from '../i18n/index.js';
import type { Logger } from '../log.js';
import { HubError, type HubAccount, type HubFileId, type ModelHub } from '../services/types.js';
import { checkpointArchivePath, type KeptArchives } from '../training/checkpoint-archives.js';
import { SAD_GIRL_PROMPT, loadSavedPreview } from '../training/preview.js';
import type { ActiveCheckpoint, TrainingRecord } from '../training/records.js';
import type { TrainingRepository } from '../training/repository.js';
import { isHidden } from '../voting/blind.js';
import { loadDrawing } from '../voting/drawing.js';
import { tally } from '../voting/tally.js';
import { votingPhase } from '../voting/window.js';
import { ConversionError, convertCogSdxlArchive } from './convert.js';
import { LICENSE, modelCard, type CardImage } from './model-card.js';

export interface PublishDeps {
  config: Config;
  log: Logger;
  /** The trainings' records: which checkpoint, and (after the upload) where it was published. */
  trainings: TrainingRepository;
  /** The server's showcased pictures, put on the Hub beside the checkpoint they were made with. */
  jobs: Pick<GenerationJobs, 'showcased' | 'get'>;
  archives: Pick<KeptArchives, 'read'>;
  /** Undefined without HF_TOKEN. */
  hub?: ModelHub;
}

export interface PublishRequest {
  guildId: string;
  /** The server's name, for the default repository `<user>/kmplz-<server>`. */
  serverName: string;
  step?: number;
  repo?: string;
  private?: boolean;
  credit?: string;
}

export interface PublishOutcome {
  repo: string;
  url: string;
  step: number;
  /** False when the Hub already held exactly these files: nothing was sent. */
  committed: boolean;
  created: boolean;
  files: number;
}

const ARCHIVE_PATH = 'trained_model.tar';
const REPO_NAME = /^[\w.-]+\/[\w.-]+$/;
/** Showcase pictures per publish: the card's widget stays readable. */
const MAX_SHOWCASE_PICTURES = 12;

/**
 * Publishes a checkpoint to the Hub in one commit: the LoRA converted for diffusers, its
 * embeddings, the original archive, a model card and the pictures. The token is checked first
 * (whoami), and when the Hub already holds the same bytes at every path nothing is sent. Any
 * failure leaves the Hub as it was (a commit is all or nothing) and loses nothing here.
 */
export async function publishCheckpoint(deps: PublishDeps, request: PublishRequest): Promise<PublishOutcome> {
  const { config, trainings, hub, log } = deps;
  if (!hub) throw new UserError('publish-no-token', msg('error.publish-no-token'));
  const { training, step, chosenBy } = await chooseCheckpoint(trainings, request);
  // The card names steps and their votes: published now, it would tell the class which letter is which.
  if (isHidden(training)) throw new UserError('publish-blind', msg('error.publish-blind'));
  const account = await hubCall(() => hub.account());
  const repo = request.repo ?? config.HF_PUBLISH_REPO ?? `${account.name}/kmplz-${slug(request.serverName) || request.guildId}`;
  if (!REPO_NAME.test(repo)) throw new UserError('publish-bad-repo', msg('error.publish-bad-repo', { repo }));
  const namespace = repo.split('/')[0]!;
  if (account.role === 'read') throw new UserError('publish-read-only', msg('error.publish-read-only'));
  if (!mayWrite(account, namespace)) throw new UserError('publish-no-write-access', msg('error.publish-no-write-access', { user: account.name, namespace }));

  const files = await prepareFiles(deps, { training, step, chosenBy, repo, credit: request.credit });

  const created = await hubCall(() => hub.createRepo(repo, { private: request.private ?? false, license: LICENSE }), repo);
  const onHub = created ? new Map<string, HubFileId>() : await hubCall(() => hub.fileIds(repo, files.map((f) => f.path)), repo);
  const changed = files.filter((file) => !sameContent(onHub.get(file.path), file.ids));
  const outcome = { repo, url: hub.repoUrl(repo), step, created, files: files.length };
  if (changed.length === 0) {
    log.info({ repo, step }, 'checkpoint already published unchanged: no commit');
    await recordPublished(trainings, training, step, repo, training.checkpoints.find((c) => c.step === step)?.published?.revision ?? 'main', hub);
    return { ...outcome, committed: false };
  }
  const { oid } = await hubCall(() => hub.commit(repo, files, `kmplz: ${config.TRIGGER_WORD} LoRA, step ${step} of training ${training.id}`), repo);
  log.info({ repo, step, commit: oid, changed: changed.map((f) => f.path) }, 'checkpoint published');
  await recordPublished(trainings, training, step, repo, oid, hub);
  return { ...outcome, committed: true };
}

/**
 * The commit's files, from the kept archive. Each file's ids are taken here and its bytes handed
 * over as a Blob (the archive's read straight from kmplz's copy on disk), so the buffers of the
 * archive and the conversion can be collected before the upload starts.
 */
async function prepareFiles(
  { config, jobs, archives }: PublishDeps,
  { training, step, chosenBy, repo, credit }: { training: TrainingRecord; step: number; chosenBy?: string; repo: string; credit?: string },
) {
  const archive = await archives.read(training, step);
  if (!archive) throw new UserError('publish-archive-gone', msg('error.publish-archive-gone', { step }));
  let lora: ReturnType<typeof convertCogSdxlArchive>;
  try {
    lora = convertCogSdxlArchive(archive);
  } catch (error) {
    if (!(error instanceof ConversionError)) throw error;
    throw new UserError('publish-not-convertible', msg('error.publish-not-convertible', { step, reason: error.message }));
  }
  const images = await pictures(config, jobs, training, step);
  const card = modelCard({
    repo,
    triggerWord: config.TRIGGER_WORD,
    tokenMap: lora.tokenMap,
    credit: credit ?? config.ARTIST_CREDIT,
    step,
    training: { steps: training.steps, checkpointEvery: training.checkpointEvery, images: training.imageCount, seed: training.seed, strategy: training.strategy, rank: lora.rank, trainer: config.REPLICATE_TRAINER.split(':')[0]! },
    vote: { counts: [...tally(training.votes, training.checkpoints.map((c) => c.step))], chosenBy },
    images: images.map(({ path: p, prompt }): CardImage => ({ path: p, prompt })),
    hasEmbeddings: lora.embeddings !== undefined,
  });
  return [
    upload('README.md', Buffer.from(card)),
    upload('pytorch_lora_weights.safetensors', lora.weights),
    ...(lora.embeddings ? [upload('embeddings.safetensors', lora.embeddings)] : []),
    upload(ARCHIVE_PATH, archive, await openAsBlob(checkpointArchivePath(config, training.guildId, training.id, step))),
    ...images.map(({ path: p, data }) => upload(p, data)),
  ];
}

/**
 * The named step of the last training, else the checkpoint `/kmplz` draws with: while a vote is
 * open after its training that is the live leader (src/voting/drawing.ts), not the stored choice
 * of an earlier vote, so `/publish` and `/kmplz` never disagree about "the class's LoRA".
 */
async function chooseCheckpoint(trainings: TrainingRepository, request: PublishRequest): Promise<{ training: TrainingRecord; step: number; chosenBy?: string }> {
  const drawing = await loadDrawing(trainings, request.guildId);
  if (request.step === undefined) {
    // A blind vote is open and nothing was chosen before it: the leader's step would tell which letter leads.
    if (drawing?.kind === 'hidden') throw new UserError('publish-blind', msg('error.publish-blind'));
    if (!drawing) throw new UserError('publish-no-checkpoint', msg('error.publish-no-checkpoint'));
    return { training: drawing.training, step: drawing.checkpoint.step, chosenBy: describeChoice(drawing.training, drawing.active) };
  }
  const training = await trainings.last(request.guildId);
  if (!training?.checkpoints.some((c) => c.step === request.step)) {
    const available = training?.checkpoints.map((c) => c.step).join(', ');
    throw new UserError('unknown-checkpoint', available ? msg('error.unknown-checkpoint.available', { step: request.step, available }) : msg('error.unknown-checkpoint.none'));
  }
  const inUse = drawing?.kind === 'checkpoint' && drawing.active.trainingId === training.id && drawing.active.step === request.step;
  return { training, step: request.step, chosenBy: inUse ? describeChoice(training, drawing.active) : undefined };
}

function describeChoice(training: TrainingRecord, active: ActiveCheckpoint): string {
  // While the vote is open the leader may still change: the card must not call it the winner.
  if (active.trainingId === training.id && votingPhase(training) === 'open') return 'leading an open vote';
  return active.chosenBy === 'vote' ? 'the vote’s winner' : active.chosenBy === 'trainer' ? 'a trainer’s pick' : 'the last checkpoint, with no votes';
}

/** May this token write in this namespace? A read token never; a fine-grained one where it was given `repo.write`. */
export function mayWrite(account: HubAccount, namespace: string): boolean {
  if (account.role === 'fineGrained') return (account.scoped[namespace] ?? []).includes('repo.write');
  if (account.role === 'write' || account.role === 'admin') return namespace === account.name || account.orgs.includes(namespace);
  return false;
}

/** The checkpoint's preview sheet and the server's showcased pictures made with it. */
async function pictures(config: Config, jobs: PublishDeps['jobs'], training: TrainingRecord, step: number): Promise<{ path: string; prompt: string; data: Buffer }[]> {
  const folder = `images/step-${step}`;
  const found: { path: string; prompt: string; data: Buffer }[] = [];
  const preview = await loadSavedPreview(config, training, step);
  if (preview) found.push({ path: `${folder}/${preview.image.filename}`, prompt: `${config.TRIGGER_WORD}, ${SAD_GIRL_PROMPT}`, data: preview.image.data });
  for (const jobId of await jobs.showcased(training.guildId)) {
    const job = await jobs.get(training.guildId, jobId);
    const made = job?.parameters.checkpoint;
    if (!job?.result || made?.trainingId !== training.id || made.step !== step) continue;
    const data = await readFile(path.join(config.DATA_DIR, job.result.imageFile)).catch(() => undefined);
    if (data) found.push({ path: `${folder}/showcase-${job.id}${path.extname(job.result.imageFile)}`, prompt: job.parameters.prompt, data });
    if (found.length > MAX_SHOWCASE_PICTURES) break;
  }
  return found;
}

/** A file to upload, with the ids the Hub would give its bytes: its git blob id and its sha256 (an LFS file's id). */
function upload(path: string, data: Buffer, content?: Blob): { path: string; content: Blob; ids: HubFileId & { sha256: string } } {
  return {
    path,
    content: content ?? new Blob([data as Uint8Array<ArrayBuffer>]),
    ids: { gitOid: createHash('sha1').update(`blob ${data.length}\0`).update(data).digest('hex'), sha256: createHash('sha256').update(data).digest('hex') },
  };
}

/** Does the Hub hold exactly these bytes? LFS files by their sha256, the others by their git blob id. */
function sameContent(onHub: HubFileId | undefined, ids: HubFileId & { sha256: string }): boolean {
  if (!onHub) return false;
  return onHub.sha256 ? onHub.sha256 === ids.sha256 : onHub.gitOid === ids.gitOid;
}

async function recordPublished(trainings: TrainingRepository, training: TrainingRecord, step: number, repo: string, revision: string, hub: ModelHub): Promise<void> {
  const published = { repo, revision, archiveUrl: hub.fileUrl(repo, ARCHIVE_PATH, revision) };
  await trainings.updateIfPresent({ guildId: training.guildId, trainingId: training.id }, (current) => ({
    ...current,
    checkpoints: current.checkpoints.map((c) => (c.step === step ? { ...c, published } : c)),
  }));
}

function slug(name: string): string {
  return name.toLowerCase().replace(/[^a-z0-9]+/g, '-').replace(/^-+|-+$/g, '').slice(0, 60);
}

/** A Hub call, its failures said in the words of /publish. */
async function hubCall<T>(request: () => Promise<T>, repo?: string): Promise<T> {
  try {
    return await request();
  } catch (error) {
    if (!(error instanceof HubError)) throw error;
    if (error.failure === 'unauthorized') throw new UserError('publish-bad-token', msg('error.publish-bad-token'));
    if (error.failure === 'forbidden' && repo) throw new UserError('publish-repo-forbidden', msg('error.publish-repo-forbidden', { repo }));
    if (error.failure === 'unavailable') throw new UserError('publish-hub-down', msg('error.publish-hub-down', { detail: error.message.slice(0, 200) }));
    throw new UserError('publish-failed', msg('error.publish-failed', { detail: error.message.slice(0, 300) }));
  }
}

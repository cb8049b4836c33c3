import { randomBytes } from 'node:crypto';
import { createWriteStream } from 'node:fs';
import { mkdir, readdir, readFile, rename, rm, stat } from 'node:fs/promises';
import path from 'node:path';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import type { ReadableStream as WebReadableStream } from 'node:stream/web';
import type { Config } from '../config.js';
import type { Logger } from '../log.js';
import type { CheckpointWeights } from '../services/types.js';
import { refKey, type CheckpointRecord, type TrainingRecord, type TrainingRef } from './records.js';
import type { ServedArchive, TrainingRepository } from './repository.js';

/**
 * kmplz's own copy of every checkpoint's archive (cog-sdxl's `trained_model.tar`), because
 * Replicate deletes a training's output files after about an hour: without a copy a checkpoint
 * could not be published, or generated from, days later.
 *
 * Where: `DATA_DIR/guilds/<guild>/trainings/<training>/checkpoints/<step>.tar`, beside the
 * training's preview sheets.
 *
 * Retention: every checkpoint of a training is kept while its vote is open; once voting has
 * closed (the deadline passed, a trainer picked, or the training ended without a deadline) only
 * the checkpoint in use and the last one are kept. A cog-sdxl LoRA archive at the default rank
 * 32 is ≈ 186.0 MB: 185,794,560 bytes of fp32 tensors (tests/publishing/convert.test.ts), plus
 * its header and token embeddings (README, "What kmplz keeps on disk"), so a 4-checkpoint
 * training holds ≈ 744 MB while it is voted on and ≈ 372 MB after.
 */

/** Bigger than any LoRA archive (a full-UNet fine-tune is not kept: it is the trained version's job). */
const MAX_ARCHIVE_BYTES = 1024 ** 3;
const DOWNLOAD_TIMEOUT_MS = 10 * 60_000;

export interface CheckpointArchivesOptions {
  config: Config;
  repository: TrainingRepository;
  log: Logger;
  fetch?: typeof fetch;
}

export function checkpointArchivePath(config: Config, guildId: string, trainingId: string, step: number): string {
  return path.join(config.DATA_DIR, 'guilds', guildId, 'trainings', trainingId, 'checkpoints', `${step}.tar`);
}

/** 32 random bytes, base64url: the only thing between the internet and an archive, so unguessable. */
export const ARCHIVE_TOKEN = /^[A-Za-z0-9_-]{43}$/;

/**
 * Where a checkpoint's LoRA can be fetched from, in the generator's order. kmplz's own copy is
 * offered only with PUBLIC_URL (Replicate must reach it) and once it has a token (it was kept).
 */
export function checkpointWeights(config: Pick<Config, 'PUBLIC_URL'>, checkpoint: CheckpointRecord): CheckpointWeights {
  const keptUrl = config.PUBLIC_URL && checkpoint.archiveToken ? new URL(`checkpoints/${checkpoint.archiveToken}.tar`, `${config.PUBLIC_URL.replace(/\/*$/, '')}/`).href : undefined;
  return { step: checkpoint.step, weightsUrl: checkpoint.weightsUrl, keptUrl, publishedUrl: checkpoint.published?.archiveUrl, version: checkpoint.version };
}

/** kmplz's own copies of the checkpoints' archives (BotContext.archives), kept by the retention rule. */
export interface KeptArchives {
  /** Brings a training's kept archives in line with its record; never throws. */
  sync(ref: TrainingRef): Promise<void>;
  /** The kept archive of one checkpoint, or undefined when kmplz has none. */
  read(record: TrainingRecord, step: number): Promise<Buffer | undefined>;
  /** Whether the checkpoint's weights are gone everywhere kmplz could draw them from. */
  lost(record: TrainingRecord, step: number): Promise<boolean>;
  /** Waits for the syncs under way, at most `timeoutMs` (a stopping process). */
  idle(timeoutMs: number): Promise<void>;
}

export class CheckpointArchives implements KeptArchives {
  /** Per training: the sync going on, and whether another call came during it. */
  private readonly syncing = new Map<string, { again: boolean; done: Promise<void> }>();

  constructor(private readonly o: CheckpointArchivesOptions) {}

  /**
   * Brings the training's archives in line with the retention rule: downloads the ones missing
   * (while their weights URL still answers), deletes the ones no longer kept. Never throws: a
   * failed download is logged and tried again on the next call (the next poll or webhook).
   * A call during a sync makes it go round once more, reading the record anew.
   */
  sync(ref: TrainingRef): Promise<void> {
    const key = refKey(ref);
    const current = this.syncing.get(key);
    if (current) {
      current.again = true;
      return current.done;
    }
    const state = { again: false, done: Promise.resolve() };
    state.done = (async () => {
      try {
        do {
          state.again = false;
          await this.syncNow(ref).catch((error: unknown) => this.o.log.warn({ err: error, ...ref }, 'could not keep the checkpoint archives; trying again later'));
        } while (state.again);
      } finally {
        this.syncing.delete(key);
      }
    })();
    this.syncing.set(key, state);
    return state.done;
  }

  /**
   * Resolves once the syncs going on have ended, or after `timeoutMs`: a stop does not wait long
   * for a download (the next sync, or `read` at publish time, fetches it again while the URL lives).
   */
  async idle(timeoutMs: number): Promise<void> {
    let timer: NodeJS.Timeout | undefined;
    const waited = new Promise<void>((resolve) => (timer = setTimeout(resolve, timeoutMs)));
    await Promise.race([Promise.all([...this.syncing.values()].map((state) => state.done)), waited]);
    clearTimeout(timer);
  }

  /** The archive of a checkpoint: kmplz's copy, else downloaded now (and kept) while the weights URL lives. */
  async read(record: TrainingRecord, step: number): Promise<Buffer | undefined> {
    const file = checkpointArchivePath(this.o.config, record.guildId, record.id, step);
    const kept = await readFile(file).catch((error: NodeJS.ErrnoException) => {
      if (error.code === 'ENOENT') return undefined;
      throw error;
    });
    if (kept) return kept;
    const url = record.checkpoints.find((c) => c.step === step)?.weightsUrl;
    if (!url || !(await this.download(url, file))) return undefined;
    await this.name(record, step);
    return readFile(file);
  }

  /**
   * Can nothing draw with this checkpoint any more? True when kmplz keeps no copy of its archive,
   * it has neither a published archive nor a trained version, and Replicate answers 404/410 for
   * its weights (deleted, about an hour after the training). A network failure is not taken as gone.
   */
  async lost(record: TrainingRecord, step: number): Promise<boolean> {
    const checkpoint = record.checkpoints.find((c) => c.step === step);
    if (!checkpoint || checkpoint.published || checkpoint.version) return false;
    if (await exists(checkpointArchivePath(this.o.config, record.guildId, record.id, step))) return false;
    if (!checkpoint.weightsUrl) return true;
    const response = await (this.o.fetch ?? fetch)(checkpoint.weightsUrl, { method: 'HEAD', signal: AbortSignal.timeout(10_000) }).catch(() => undefined);
    return response?.status === 404 || response?.status === 410;
  }

  private async syncNow(ref: TrainingRef): Promise<void> {
    const record = await this.o.repository.load(ref);
    if (!record) return;
    const kept = await this.keptSteps(record);
    for (const checkpoint of record.checkpoints) {
      if (!kept.has(checkpoint.step) || !checkpoint.weightsUrl) continue;
      const file = checkpointArchivePath(this.o.config, ref.guildId, ref.trainingId, checkpoint.step);
      if (!(await exists(file))) {
        if (!(await this.download(checkpoint.weightsUrl, file))) continue;
        this.o.log.info({ ...ref, step: checkpoint.step }, 'checkpoint archive kept');
      }
      await this.name(record, checkpoint.step);
    }
    const dir = path.dirname(checkpointArchivePath(this.o.config, ref.guildId, ref.trainingId, 0));
    for (const name of await readdir(dir).catch(() => [] as string[])) {
      const step = /^(\d+)\.tar$/.exec(name)?.[1];
      if (step !== undefined && !kept.has(Number(step))) {
        await rm(path.join(dir, name), { force: true });
        // Its URL answers 404 from now on; the index entry goes with the file.
        const token = record.checkpoints.find((c) => c.step === Number(step))?.archiveToken;
        if (token) await this.o.repository.unserveArchive(token);
        this.o.log.info({ ...ref, step: Number(step) }, 'checkpoint archive removed: voting has closed and it is neither the chosen nor the last checkpoint');
      }
    }
  }

  /**
   * Gives a kept archive the token it is served under, once: the index first, so a token on the
   * record always resolves (a crash between the two leaves only an unused index entry).
   */
  private async name(record: TrainingRecord, step: number): Promise<void> {
    const served: ServedArchive = { guildId: record.guildId, trainingId: record.id, step };
    const named = record.checkpoints.find((c) => c.step === step)?.archiveToken;
    if (named) {
      // Kept again after retention let it go (a later pick, while Replicate's URL lived): served again under its name.
      if (!(await this.o.repository.servedArchive(named))) await this.o.repository.serveArchive(named, served);
      return;
    }
    const token = randomBytes(32).toString('base64url');
    await this.o.repository.serveArchive(token, served);
    await this.o.repository.updateIfPresent({ guildId: record.guildId, trainingId: record.id }, (current) => ({
      ...current,
      checkpoints: current.checkpoints.map((c) => (c.step === step && !c.archiveToken ? { ...c, archiveToken: token } : c)),
    }));
  }

  /** The retention rule (see the file's comment). */
  private async keptSteps(record: TrainingRecord): Promise<Set<number>> {
    const steps = record.checkpoints.map((c) => c.step);
    const votingOpen = record.status === 'running' || (record.votingClosesAt !== undefined && record.votingClosedAt === undefined);
    if (votingOpen || steps.length === 0) return new Set(steps);
    const active = await this.o.repository.activeCheckpoint(record.guildId);
    const kept = new Set([Math.max(...steps)]);
    if (active?.trainingId === record.id) kept.add(active.step);
    if (record.override) kept.add(record.override.step);
    return kept;
  }

  /** Downloads to a temporary file and renames it: a half-written archive is never read. False when the URL is gone. */
  private async download(url: string, file: string): Promise<boolean> {
    const response = await (this.o.fetch ?? fetch)(url, { signal: AbortSignal.timeout(DOWNLOAD_TIMEOUT_MS) });
    if (response.status === 404 || response.status === 410) {
      await response.body?.cancel();
      return false;
    }
    if (!response.ok || !response.body) throw new Error(`the weights could not be downloaded (HTTP ${response.status})`);
    if (Number(response.headers.get('content-length') ?? 0) > MAX_ARCHIVE_BYTES) {
      await response.body.cancel();
      throw new Error(`the weights archive is larger than ${MAX_ARCHIVE_BYTES} bytes: not kept`);
    }
    await mkdir(path.dirname(file), { recursive: true });
    const temporary = `${file}.${process.pid}.tmp`;
    try {
      await pipeline(Readable.fromWeb(response.body as WebReadableStream<Uint8Array>), createWriteStream(temporary));
      await rename(temporary, file);
    } finally {
      await rm(temporary, { force: true });
    }
    return true;
  }
}

async function exists(file: string): Promise<boolean> {
  return stat(file).then(
    () => true,
    () => false,
  );
}

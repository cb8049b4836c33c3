import { mkdir, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { ActionRowBuilder, AttachmentBuilder, ButtonBuilder, ButtonStyle, EmbedBuilder } from 'discord.js';
import type { Clock } from '../clock.js';
import type { Config } from '../config.js';
import { loadDataset, readDisplayImage } from '../dataset/dataset.js';
import { UserError } from '../errors.js';
import { msg, t, type Locale } from '../i18n/index.js';
import { comparisonGrid, composeSideBySide, encodeToFit } from '../images/compose.js';
import { customId } from '../interactions/command.js';
import type { Replier, ReplyContent } from '../interactions/reply-target.js';
import type { Logger } from '../log.js';
import { estimateGenerationSeconds, recordSpend, requireBudget } from '../money/budget.js';
import { usdPerSecond } from '../money/prices.js';
import { JobLostError } from '../queue/bull-queue.js';
import { FairQueue } from '../queue/fair-queue.js';
import type { Job, JobQueue, JobWorker } from '../queue/job-queue.js';
import { ServiceError, type Generator, type Progress } from '../services/types.js';
import type { Store } from '../store/store.js';
import { estimateEta } from '../training/progress.js';
import type { TrainingRecord } from '../training/records.js';
import { MessageEditor } from '../util/message-editor.js';
import { discordRelativeTime, progressBar } from '../util/progress-bar.js';
import { createReferenceMatcher } from './reference-match.js';
import { displaySafe } from './prompt.js';
import { fingerprint, variantOf, withStrength, type Comparison, type GenerationJob, type GenerationParameters } from './jobs.js';
import type { ModelGate } from '../services/replicate/model-checks.js';
import { checkpointWeights } from '../training/checkpoint-archives.js';
import { keys } from '../store/keys.js';

export interface GenerationServiceOptions {
  store: Store;
  config: Config;
  clock: Clock;
  log: Logger;
  generator: Generator;
  /** Refuses drawing while REPLICATE_GENERATOR's model does not fit (src/services/replicate/model-checks.ts). */
  models?: ModelGate;
  replier: Replier;
  /** Predictions in flight at once, for the whole bot; `GENERATION_CONCURRENCY` by default. */
  concurrency?: number;
  /** Jobs one person may have waiting or running. */
  perUserCap?: number;
  /** Minimum time between two edits of one reply that only inform (queue place, progress): Discord rate-limits edits. */
  progressEditIntervalMs?: number;
  /** The queue to run jobs on (BullMQ when `REDIS_URL` is set); the in-process `FairQueue` by default. */
  queue?: (worker: JobWorker<JobRef, JobEnd>, limits: { concurrency: number; perUserCap: number }) => JobQueue<JobRef, JobEnd>;
}

/**
 * How a job ended for the person who asked (the queue only sees that its worker returned):
 * `already-answered` when it had been answered before this run took it up (a takeover).
 */
export type JobEnd = 'succeeded' | 'failed' | 'canceled' | 'already-answered';

export interface JobRef {
  guildId: string;
  jobId: string;
}

/**
 * Runs `/kmplz` jobs for a busy group chat: a fair queue across users, the reply edited in place
 * (queue position, progress, result), the result composed next to the artist's reference art,
 * every job stored so its buttons work after a restart and unfinished jobs are taken up again.
 */
export class GenerationService {
  readonly queue: JobQueue<JobRef, JobEnd>;
  private readonly edits: MessageEditor;
  /** The server of each job this process accepted or took up and has not finished: its queue places are shown without a store lookup. */
  private readonly guildOf = new Map<string, string>();

  constructor(private readonly options: GenerationServiceOptions) {
    const worker: JobWorker<JobRef, JobEnd> = (job, signal) => this.run(job, signal);
    const limits = { concurrency: options.concurrency ?? options.config.GENERATION_CONCURRENCY, perUserCap: options.perUserCap ?? 3 };
    this.edits = new MessageEditor({
      intervalMs: options.progressEditIntervalMs ?? 1500,
      now: () => options.clock.now(),
      onError: (error, jobId) => options.log.debug({ err: error, jobId }, 'reply edit failed'),
    });
    this.queue =
      options.queue?.(worker, limits) ??
      new FairQueue<JobRef, JobEnd>({ worker, ...limits, onListenerError: (error) => options.log.warn({ err: error }, 'queue listener failed') });
    this.queue.onPositionChange((jobId, position) => this.showPosition(jobId, position));
    // Run detached: a store that fails here is logged, never an unhandled rejection.
    this.queue.onSettled((job, outcome) => {
      if (outcome.status === 'failed' && outcome.error instanceof JobLostError) {
        void this.giveUp(job.data).catch((error: unknown) => options.log.error({ err: error, jobId: job.id }, 'could not tell the asker their job was lost'));
      }
    });
  }

  /**
   * Accepts a job: reuses an identical earlier result when the seed was chosen, checks the
   * budget, stores the job and queues it. From then on the job's reply is the service's to edit
   * (its place in the queue, then its progress, then the answer); only a reused picture is left
   * to the caller to show.
   */
  async submit(job: GenerationJob): Promise<{ state: 'cached'; from: GenerationJob } | { state: 'accepted' }> {
    const { store, config, clock } = this.options;
    if (config.GPU_BACKEND !== 'cog' && !config.REPLICATE_API_TOKEN) throw new UserError('replicate-not-configured', msg('error.replicate-not-configured'));
    await this.options.models?.require('generation');
    if (job.parameters.seedChosen) {
      const cachedId = await store.get<string>(keys.cachedJob(job.guildId, fingerprint(job.parameters)));
      const cached = cachedId && (await store.get<GenerationJob>(keys.job(job.guildId, cachedId)));
      if (cached && cached.status === 'succeeded') return { state: 'cached', from: cached };
    }
    const { width, height } = job.parameters;
    const stepsToDraw = job.comparison?.axis === 'steps' ? job.comparison.values : Array(job.comparison?.values.length ?? 1).fill(job.parameters.steps);
    const estimate = stepsToDraw.reduce((sum: number, steps: number) => sum + estimateGenerationSeconds(steps, width, height), 0);
    await requireBudget(store, config, clock, job.guildId, estimate * usdPerSecond(config, 'generation'));
    const key = keys.job(job.guildId, job.id);
    // Not fresh: the job of this interaction was stored by a process that died answering it.
    const fresh = await store.setIfAbsent(key, job);
    if (!fresh && (await store.get<GenerationJob>(key))?.status !== 'queued') return { state: 'accepted' };
    this.guildOf.set(job.id, job.guildId);
    const result = await this.queue.enqueue({ id: job.id, userId: job.userId, data: { guildId: job.guildId, jobId: job.id } });
    if (!result.ok && result.reason === 'duplicate-id') return { state: 'accepted' };
    if (!result.ok) {
      this.guildOf.delete(job.id);
      if (fresh) await store.delete(key);
      if (result.reason === 'user-cap') {
        throw new UserError('queue-full-for-user', msg('error.queue-full-for-user', { cap: result.cap }));
      }
      throw new UserError('queue-closed', msg('error.queue-closed'));
    }
    await store.update<JobRef[]>(keys.unfinishedJobs(), (refs = []) => [...refs.filter((r) => r.jobId !== job.id), { guildId: job.guildId, jobId: job.id }]);
    // A job that started at once says so itself ("Drawing…"), from whichever process runs it.
    if (result.state === 'waiting') {
      await this.changeReply(job, { content: queuedText(result.position, job.locale), components: [cancelRow(job.id, job.locale)] }, 'queued');
    }
    return { state: 'accepted' };
  }

  /** Cancels a waiting or running job of its owner. */
  async cancel(guildId: string, jobId: string, userId: string): Promise<'canceled' | 'not-running'> {
    const job = await this.options.store.get<GenerationJob>(keys.job(guildId, jobId));
    if (!job) throw new UserError('unknown-job', msg('error.unknown-job'));
    if (job.userId !== userId) throw new UserError('not-your-job', msg('error.not-your-job'));
    const result = await this.queue.cancel(jobId);
    if (result === 'not-found') return 'not-running';
    if (result === 'removed') await this.settle(job, { status: 'canceled' }, t(job.locale ?? 'en', 'kmplz.canceled.nothing-spent'));
    return 'canceled';
  }

  /** Takes up jobs that a previous run of the bot accepted but did not finish. */
  async resumeUnfinished(): Promise<number> {
    const refs = (await this.options.store.get<JobRef[]>(keys.unfinishedJobs())) ?? [];
    let resumed = 0;
    for (const ref of refs) {
      const job = await this.options.store.get<GenerationJob>(keys.job(ref.guildId, ref.jobId));
      if (!job || !isUnanswered(job)) continue;
      this.guildOf.set(job.id, job.guildId);
      const result = await this.queue.enqueue({ id: job.id, userId: job.userId, data: ref });
      if (result.ok) resumed++;
      else this.guildOf.delete(job.id);
    }
    if (resumed > 0) this.options.log.info({ resumed }, 'took up unfinished generation jobs');
    return resumed;
  }

  async close(timeoutMs: number): Promise<void> {
    await this.queue.close({ timeoutMs });
  }

  private async run({ data: ref }: Job<JobRef>, signal: AbortSignal): Promise<JobEnd> {
    const { store, log: rootLog, clock } = this.options;
    const job = await store.get<GenerationJob>(keys.job(ref.guildId, ref.jobId));
    // Not 'queued': its process stopped (a restart, a crash, a SIGKILL) and this one takes it over.
    if (!job || !isUnanswered(job)) return 'already-answered';
    const log = rootLog.child({ jobId: job.id, guildId: job.guildId, userId: job.userId });
    if (job.status !== 'queued') log.info({ predictions: job.predictions }, 'taking over a job whose process stopped');
    const running: GenerationJob = { ...job, parameters: withStrength(job.parameters), status: 'running', result: undefined, takenOver: job.status !== 'queued' };
    await store.set(keys.job(job.guildId, job.id), running);
    const startedAt = clock.now();
    const locale = job.locale ?? 'en';
    // Not awaited: the GPU need not wait for Discord (a 429 on the reply); the edits keep their order.
    void this.changeReply(running, { content: `${t(locale, 'kmplz.drawing')} ${progressBar(0)}`, components: [cancelRow(job.id, locale)] }, 'running');
    try {
      if (running.comparison) {
        await this.runComparison(running, running.comparison, signal, startedAt, log);
        return 'succeeded';
      }
      const image = await this.draw(running, 0, running.parameters, signal, (progress) => this.showProgress(running, progress, startedAt));
      // The picture is kept and the answer composed at once: neither needs the other.
      const [imageFile, reply] = await Promise.all([this.saveResult(running, image.data, extensionOf(image.contentType)), this.composeReply(running, image.data)]);
      await this.succeed(running, { imageFile, predictionId: image.predictionId, gpuSeconds: image.gpuSeconds, referenceName: reply.referenceName }, reply.content);
      log.info({ gpuSeconds: image.gpuSeconds, reference: reply.referenceName }, 'picture delivered');
      return 'succeeded';
    } catch (error) {
      if (signal.aborted) {
        await this.settle(running, { status: 'canceled' }, t(locale, 'kmplz.canceled'));
        return 'canceled';
      }
      log.warn({ err: error }, 'generation failed');
      await this.settle(running, { status: 'failed', failure: String((error as Error).message) }, failureMessage(error, locale));
      return 'failed';
    }
  }

  /**
   * One prediction (picture `index` of the job) through the shared Generator (the path previews
   * take too), its GPU time recorded. The prediction's id is stored as soon as it exists, so a
   * process taking the job over follows that prediction instead of paying for a second one.
   */
  private async draw(job: GenerationJob, index: number, parameters: GenerationParameters, signal: AbortSignal, onProgress: (progress: Progress) => void) {
    const { store, config, clock, generator } = this.options;
    const weights = await this.weightsOf(job.guildId, parameters.checkpoint);
    const key = keys.job(job.guildId, job.id);
    // As stored when the job was taken up: a process that ran it before may have recorded it.
    const existing = job.predictions?.[index];
    const onCreated = async (predictionId: string) => {
      await store.update<GenerationJob>(key, (current) => {
        if (!current) return current;
        const predictions = [...(current.predictions ?? [])];
        predictions[index] = predictionId;
        return { ...current, predictions };
      });
    };
    try {
      // A job taken over without a recorded prediction may still have one: its process could
      // have died between creating it and recording its id.
      const recoverSince = job.takenOver && !existing ? job.createdAt : undefined;
      const image = await generator.generate({ ...parameters, weights }, { signal, onProgress, follow: existing, onCreated, recoverSince });
      await recordSpend(store, config, clock, job.guildId, image.gpuSeconds, 'generation');
      return image;
    } catch (error) {
      // A failed or canceled prediction is billed for the time it ran.
      if (error instanceof ServiceError && error.gpuSeconds > 0) await recordSpend(store, config, clock, job.guildId, error.gpuSeconds, 'generation');
      throw error;
    }
  }

  private async saveResult(job: GenerationJob, data: Buffer, extension: string): Promise<string> {
    const imageFile = path.join('guilds', job.guildId, 'results', `${job.id}${extension}`);
    await mkdir(path.dirname(path.join(this.options.config.DATA_DIR, imageFile)), { recursive: true });
    await writeFile(path.join(this.options.config.DATA_DIR, imageFile), data);
    return imageFile;
  }

  /** `/compare`: one picture per value, same prompt and seed, laid out in one labelled grid. */
  private async runComparison(job: GenerationJob, comparison: Comparison, signal: AbortSignal, startedAt: number, log: Logger): Promise<void> {
    const cells: { image: Buffer; label: string }[] = [];
    let gpuSeconds = 0;
    let lastPrediction = '';
    const locale = job.locale ?? 'en';
    const axis = t(locale, `field.${comparison.axis}`);
    for (const [index, value] of comparison.values.entries()) {
      const parameters = variantOf(job.parameters, comparison.axis, value);
      const drawing = t(locale, 'kmplz.drawing.cell', { index: index + 1, total: comparison.values.length, axis, value });
      void this.changeReply(job, { content: `${drawing} ${progressBar(index / comparison.values.length)}`, components: [cancelRow(job.id, locale)] }, 'running');
      const image = await this.draw(job, index, parameters, signal, () => undefined);
      gpuSeconds += image.gpuSeconds;
      lastPrediction = image.predictionId;
      cells.push({ image: image.data, label: `${comparison.axis} ${value}` });
    }
    const grid = await encodeToFit(
      await comparisonGrid(cells, `${displaySafe(job.parameters.prompt)} · seed ${job.parameters.seed}`.slice(0, 120)),
      job.uploadLimit,
      `kmplz-${job.id}-compare`,
      { lossless: false },
    );
    const imageFile = await this.saveResult(job, grid.data, path.extname(grid.filename));
    const p = job.parameters;
    const varies = t(locale, 'kmplz.varies');
    const embed = new EmbedBuilder()
      .setTitle(truncate(t(locale, 'kmplz.compare.title', { axis, values: comparison.values.join(', ') }), 256))
      .setDescription(truncate(displaySafe(p.prompt), 2000))
      .addFields(
        { name: t(locale, 'field.seed'), value: String(p.seed), inline: true },
        { name: t(locale, 'field.steps'), value: comparison.axis === 'steps' ? varies : String(p.steps), inline: true },
        { name: t(locale, 'field.guidance'), value: comparison.axis === 'guidance' ? varies : String(p.guidance), inline: true },
        { name: t(locale, 'field.strength'), value: comparison.axis === 'strength' ? varies : String(p.strength), inline: true },
        { name: t(locale, 'field.checkpoint'), value: comparison.axis === 'checkpoint' ? varies : t(locale, 'common.step', { step: p.checkpoint.step }), inline: true },
      )
      .setImage(`attachment://${grid.filename}`);
    await this.succeed(
      job,
      { imageFile, predictionId: lastPrediction, gpuSeconds },
      { content: '', embeds: [embed], files: [new AttachmentBuilder(grid.data, { name: grid.filename })], components: [], attachments: [] },
    );
    log.info({ cells: cells.length, gpuSeconds, startedAt }, 'comparison delivered');
  }

  /** Builds the answer: the side-by-side image, the plain picture, the parameters and the buttons. */
  async composeReply(job: GenerationJob, generated: Buffer) {
    const { config } = this.options;
    const reference = await this.chooseReference(job);
    const side = reference
      ? await composeSideBySide({ generated, reference: reference.data, leftLabel: `${config.TRIGGER_WORD} · step ${job.parameters.checkpoint.step}`, rightLabel: `the artist · ${reference.name}` })
      : undefined;
    const limit = job.uploadLimit;
    const files: AttachmentBuilder[] = [];
    if (side) {
      const encoded = await encodeToFit(side, Math.floor(limit * 0.6), `kmplz-${job.id}-side-by-side`, { lossless: false });
      files.push(new AttachmentBuilder(encoded.data, { name: encoded.filename }));
    }
    const plain = await encodeToFit(generated, side ? Math.floor(limit * 0.4) : limit, `kmplz-${job.id}`);
    files.push(new AttachmentBuilder(plain.data, { name: plain.filename }));
    const p = job.parameters;
    const locale = job.locale ?? 'en';
    const embed = new EmbedBuilder()
      .setTitle(truncate(displaySafe(p.prompt), 256))
      .addFields(
        { name: t(locale, 'field.steps'), value: String(p.steps), inline: true },
        { name: t(locale, 'field.guidance'), value: String(p.guidance), inline: true },
        { name: t(locale, 'field.strength'), value: String(p.strength), inline: true },
        { name: t(locale, 'field.seed'), value: String(p.seed), inline: true },
        { name: t(locale, 'field.size'), value: `${p.width}×${p.height}`, inline: true },
        { name: t(locale, 'field.checkpoint'), value: t(locale, 'common.step', { step: p.checkpoint.step }), inline: true },
      )
      .setImage(`attachment://${files[0]!.name}`)
      .setFooter({ text: reference ? t(locale, 'kmplz.footer', { trigger: config.TRIGGER_WORD, step: p.checkpoint.step, reference: reference.name }) : t(locale, 'kmplz.footer.no-reference') });
    if (p.negativePrompt) embed.addFields({ name: t(locale, 'field.negative'), value: truncate(displaySafe(p.negativePrompt), 1024) });
    const notes = job.notes.length ? job.notes.join('\n') : undefined;
    return {
      referenceName: reference?.name,
      content: { content: notes ?? '', embeds: [embed], files, components: [resultRow(job.id, locale)], attachments: [] },
    };
  }

  private async chooseReference(job: GenerationJob): Promise<{ name: string; data: Buffer } | undefined> {
    const { store, config } = this.options;
    const dataset = await loadDataset(store, job.guildId);
    if (dataset.images.length === 0) return undefined;
    const match = createReferenceMatcher(
      dataset.images.map((image) => ({ name: image.name, caption: image.caption ?? image.name })),
      { triggerWord: config.TRIGGER_WORD },
    )(job.parameters.prompt);
    const image = dataset.images.find((i) => i.name === match?.reference.name) ?? dataset.images[0]!;
    return { name: image.name, data: await readDisplayImage(this.options, job.guildId, image) };
  }

  private async weightsOf(guildId: string, { trainingId, step }: GenerationParameters['checkpoint']) {
    const training = await this.options.store.get<TrainingRecord>(keys.training(guildId, trainingId));
    const checkpoint = training?.checkpoints.find((c) => c.step === step);
    if (!checkpoint) throw new UserError('checkpoint-gone', msg('error.checkpoint-gone', { step }));
    return checkpointWeights(this.options.config, checkpoint);
  }

  /**
   * Records the job as done with its result and gives the asker the answer: the twin of `settle`.
   * A chosen seed makes the picture reusable, and it is findable before the answer goes out, so
   * an identical request right after it pays nothing.
   */
  private async succeed(job: GenerationJob, result: NonNullable<GenerationJob['result']>, content: ReplyContent): Promise<void> {
    const { store } = this.options;
    const key = keys.job(job.guildId, job.id);
    await store.set<GenerationJob>(key, { ...job, status: 'succeeded', finishedAt: this.options.clock.now(), result, answered: false });
    if (job.parameters.seedChosen) await store.set(keys.cachedJob(job.guildId, fingerprint(job.parameters)), job.id);
    await this.edits.change(job.id, () => this.options.replier.finish(job.reply, content));
    await store.update<GenerationJob>(key, (current) => current && { ...current, answered: true });
    await this.forget(job);
  }

  private async settle(job: GenerationJob, outcome: { status: 'failed' | 'canceled'; failure?: string }, message: string): Promise<void> {
    const { store, clock, log } = this.options;
    // The asker hears how it ended even when the store cannot record it (a restart picks the job up again).
    await store.set(keys.job(job.guildId, job.id), { ...job, ...outcome, finishedAt: clock.now() }).catch((error: unknown) => log.error({ err: error, jobId: job.id }, 'could not record how the job ended'));
    await this.edits.change(job.id, () => this.options.replier.finish(job.reply, { content: message, embeds: [], components: [], files: [] })).catch((error: unknown) =>
      this.options.log.warn({ err: error, jobId: job.id }, 'could not tell the user how the job ended'),
    );
    await this.forget(job);
  }

  /** Every process that took the job died while running it: tell the asker rather than leave them waiting. */
  private async giveUp(ref: JobRef): Promise<void> {
    const job = await this.options.store.get<GenerationJob>(keys.job(ref.guildId, ref.jobId));
    if (job && isUnanswered(job)) {
      await this.settle(job, { status: 'failed', failure: 'lost' }, t(job.locale ?? 'en', 'kmplz.lost'));
    }
  }

  private async forget(job: GenerationJob): Promise<void> {
    this.edits.forget(job.id);
    this.guildOf.delete(job.id);
    await this.options.store.update<JobRef[]>(keys.unfinishedJobs(), (refs = []) => {
      const rest = refs.filter((r) => r.jobId !== job.id);
      return rest.length ? rest : undefined;
    });
  }

  /**
   * A new place in the queue, coalesced per reply (see ReplyEdits): the newest place goes out at
   * most once per interval. The job is looked up when the edit goes out, not for every move.
   */
  private showPosition(jobId: string, position: number): void {
    this.edits.report(jobId, async () => {
      const guildId = this.guildOf.get(jobId) ?? (await this.options.store.get<JobRef[]>(keys.unfinishedJobs()))?.find((r) => r.jobId === jobId)?.guildId;
      const job = guildId && (await this.options.store.get<GenerationJob>(keys.job(guildId, jobId)));
      if (job && job.status === 'queued') await this.options.replier.edit(job.reply, { content: queuedText(position, job.locale, this.options.config), components: [cancelRow(job.id, job.locale)] });
    });
  }

  private showProgress(job: GenerationJob, progress: Progress, startedAt: number): void {
    const eta = estimateEta({ ...progress, startedAt: new Date(startedAt), now: new Date(this.options.clock.now()) });
    const locale = job.locale ?? 'en';
    const etaText = eta ? ` · ${t(locale, 'common.done-at', { when: discordRelativeTime(eta.finishesAt) })}` : '';
    const content = { content: `${t(locale, 'kmplz.drawing')} ${progressBar(progress.step / progress.total)} ${progress.step}/${progress.total}${etaText}`, components: [cancelRow(job.id, locale)] };
    this.edits.report(job.id, () => this.editIfStill(job, content, 'running'));
  }

  /**
   * A change of state shown at once (after the edit on its way). Never rejects: a reply that
   * cannot be edited must not fail the job, whose answer has its own fallback.
   */
  private async changeReply(job: GenerationJob, content: { content: string; components: ActionRowBuilder<ButtonBuilder>[] }, status: 'queued' | 'running'): Promise<void> {
    await this.edits.change(job.id, () => this.editIfStill(job, content, status)).catch((error: unknown) => this.options.log.debug({ err: error, jobId: job.id }, 'reply edit failed'));
  }

  /**
   * Shows where a job stands, if it still stands there when the edit's turn comes: a queue place
   * worked out just before the job started, or a progress report arriving after the picture, must
   * not overwrite the newer state, since Discord keeps whichever edit lands last.
   */
  private async editIfStill(job: GenerationJob, content: { content: string; components: ActionRowBuilder<ButtonBuilder>[] }, status: 'queued' | 'running'): Promise<void> {
    const current = await this.options.store.get<GenerationJob>(keys.job(job.guildId, job.id));
    if (current?.status === status) await this.options.replier.edit(job.reply, content);
  }
}

/**
 * Still owes its asker an answer: waiting, drawing, or done but stopped before the answer went
 * out (`answered: false`; records from before that flag count as answered).
 */
function isUnanswered(job: GenerationJob): boolean {
  return job.status === 'queued' || job.status === 'running' || (job.status === 'succeeded' && job.answered === false);
}

export function queuedText(position: number, locale: Locale = 'en', config?: Pick<Config, 'GPU_BACKEND' | 'COG_GENERATOR_URL'>): string {
  const text = position <= 1 ? t(locale, 'kmplz.queued.next') : t(locale, 'kmplz.queued', { position });
  // On the class's own Cog servers each draws one picture at a time: the wait is theirs.
  return config?.GPU_BACKEND === 'cog' ? `${text} ${t(locale, 'kmplz.queued.own-gpu', { servers: config.COG_GENERATOR_URL?.length ?? 1 })}` : text;
}

export function cancelRow(jobId: string, locale: Locale = 'en'): ActionRowBuilder<ButtonBuilder> {
  return new ActionRowBuilder<ButtonBuilder>().addComponents(
    new ButtonBuilder().setCustomId(customId('kmplz', 'cancel', jobId)).setLabel(t(locale, 'common.cancel')).setStyle(ButtonStyle.Secondary),
  );
}

function resultRow(jobId: string, locale: Locale): ActionRowBuilder<ButtonBuilder> {
  return new ActionRowBuilder<ButtonBuilder>().addComponents(
    new ButtonBuilder().setCustomId(customId('kmplz', 'again', jobId)).setEmoji('🎲').setLabel(t(locale, 'kmplz.button.again')).setStyle(ButtonStyle.Primary),
    new ButtonBuilder().setCustomId(customId('kmplz', 'showcase', jobId)).setEmoji('⭐').setLabel(t(locale, 'kmplz.button.showcase')).setStyle(ButtonStyle.Secondary),
    new ButtonBuilder().setCustomId(customId('kmplz', 'params', jobId)).setEmoji('📋').setLabel(t(locale, 'kmplz.button.params')).setStyle(ButtonStyle.Secondary),
    new ButtonBuilder().setCustomId(customId('kmplz', 'delete', jobId)).setEmoji('🗑').setLabel(t(locale, 'kmplz.button.delete')).setStyle(ButtonStyle.Danger),
  );
}

export function failureMessage(error: unknown, locale: Locale = 'en'): string {
  if (error instanceof UserError) return error.render(locale);
  if (!(error instanceof ServiceError)) return t(locale, 'kmplz.failure.internal');
  switch (error.failure) {
    case 'nsfw':
    case 'throttled':
    case 'timeout':
    case 'unavailable':
      return t(locale, `kmplz.failure.${error.failure}`);
    case 'canceled':
      return t(locale, 'kmplz.canceled');
    case 'failed':
      return t(locale, 'kmplz.failure.failed', { detail: truncate(error.message, 300) });
  }
}

function extensionOf(contentType: string): string {
  if (contentType.includes('jpeg')) return '.jpg';
  if (contentType.includes('webp')) return '.webp';
  return '.png';
}

function truncate(text: string, max: number): string {
  return text.length <= max ? text : `${text.slice(0, max - 1)}…`;
}

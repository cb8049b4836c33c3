import { keys } from '../store/keys.js';
import { addRef, listRefs, removeRef, removeRefsWhere } from '../store/ref-list.js';
import type { Store } from '../store/store.js';
import { fingerprint, type GenerationJob, type GenerationParameters } from './jobs.js';

/** Where an accepted job lives, as its queue and the list of unfinished jobs carry it. */
export interface JobRef {
  guildId: string;
  jobId: string;
}

/**
 * The one reader and writer of generation job records, of the pointer from a request's
 * fingerprint to the job that drew it, of the list of jobs accepted but not finished, and of the
 * server's showcased jobs. Everything else asks here, so the key layout has a single owner.
 */
export class GenerationJobs {
  constructor(private readonly store: Store) {}

  get(guildId: string, jobId: string): Promise<GenerationJob | undefined> {
    return this.store.get<GenerationJob>(keys.job(guildId, jobId));
  }

  /** Stores a new job; false when its id is taken (the process that took its interaction died answering it). */
  create(job: GenerationJob): Promise<boolean> {
    return this.store.setIfAbsent(keys.job(job.guildId, job.id), job);
  }

  save(job: GenerationJob): Promise<void> {
    return this.store.set(keys.job(job.guildId, job.id), job);
  }

  /** A job the queue refused before it ever ran: nothing of it is kept. */
  async discard(job: GenerationJob): Promise<void> {
    await this.store.delete(keys.job(job.guildId, job.id));
  }

  /** Records the prediction of picture `index`, so a process taking the job over follows it instead of paying again. */
  async recordPrediction(job: GenerationJob, index: number, predictionId: string): Promise<void> {
    await this.store.update<GenerationJob>(keys.job(job.guildId, job.id), (current) => {
      if (!current) return current;
      const predictions = [...(current.predictions ?? [])];
      predictions[index] = predictionId;
      return { ...current, predictions };
    });
  }

  /** The answer of a succeeded job went out: a takeover no longer owes it. */
  async markAnswered(job: GenerationJob): Promise<void> {
    await this.store.update<GenerationJob>(keys.job(job.guildId, job.id), (current) => current && { ...current, answered: true });
  }

  /** The succeeded job that drew exactly these parameters with a chosen seed, if any. */
  async drawnBefore(guildId: string, parameters: GenerationParameters): Promise<GenerationJob | undefined> {
    if (!parameters.seedChosen) return undefined;
    const jobId = await this.store.get<string>(keys.cachedJob(guildId, fingerprint(parameters)));
    const job = jobId ? await this.get(guildId, jobId) : undefined;
    return job?.status === 'succeeded' && job.result ? job : undefined;
  }

  /** Makes a succeeded job's picture reusable by identical requests; only a chosen seed makes it so. */
  async rememberResult(job: GenerationJob): Promise<void> {
    if (job.parameters.seedChosen) await this.store.set(keys.cachedJob(job.guildId, fingerprint(job.parameters)), job.id);
  }

  /** Jobs accepted and not finished, for a restarted bot to take up. */
  unfinished(): Promise<JobRef[]> {
    return listRefs<JobRef>(this.store, keys.unfinishedJobs());
  }

  addUnfinished(job: GenerationJob): Promise<void> {
    return addRef<JobRef>(this.store, keys.unfinishedJobs(), { guildId: job.guildId, jobId: job.id }, refId);
  }

  /** The list's key is deleted when it empties, so an idle bot stores nothing here. */
  removeUnfinished(jobId: string): Promise<void> {
    return removeRef<JobRef>(this.store, keys.unfinishedJobs(), jobId, refId);
  }

  /** A server forgotten (src/privacy/forget.ts): its jobs leave the list of unfinished ones. */
  forgetGuild(guildId: string): Promise<void> {
    return removeRefsWhere<JobRef>(this.store, keys.unfinishedJobs(), (ref) => ref.guildId === guildId);
  }

  /** Ids of the server's jobs posted to the showcase, in order (`/publish` puts their pictures on the Hub). */
  async showcased(guildId: string): Promise<string[]> {
    return (await this.store.get<string[]>(keys.showcased(guildId))) ?? [];
  }

  /**
   * Takes the mark of one picture or drawing (`what`) being posted to the showcase: true the
   * first time only, so it is posted once; released when the post fails, to be tried again.
   */
  claimShowcasePost(guildId: string, what: string, mark: { by: string; at: number }): Promise<boolean> {
    return this.store.setIfAbsent(keys.showcasePost(guildId, what), mark);
  }

  async releaseShowcasePost(guildId: string, what: string): Promise<void> {
    await this.store.delete(keys.showcasePost(guildId, what));
  }

  async markShowcased(job: GenerationJob): Promise<void> {
    await this.store.update<string[]>(keys.showcased(job.guildId), (ids = []) => (ids.includes(job.id) ? ids : [...ids, job.id]));
  }
}

const refId = (ref: JobRef) => ref.jobId;

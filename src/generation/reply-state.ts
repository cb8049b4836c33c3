import { UserError, type UserErrorText } from '../errors.js';
import type { Locale } from '../i18n/index.js';
import type { ReplyTarget } from '../reply-target.js';
import { ServiceError, type ServiceFailure } from '../services/types.js';
import type { Comparison, GenerationParameters } from './jobs.js';

/** Why a job gave no picture, for the view to put in words. */
export type JobFailure =
  /** A refusal meant for the asker (a checkpoint deleted meanwhile, the budget). */
  | { code: 'refused'; text: UserErrorText }
  /** The GPU service's verdict; `detail` is its own words, shown for `failed`. */
  | { code: ServiceFailure; detail: string }
  /** Something broke on kmplz's side: nothing of it is shown. */
  | { code: 'internal' }
  /** Every process that took the job died running it. */
  | { code: 'lost' };

export interface PictureFile {
  name: string;
  data: Buffer;
}

/**
 * What a job's reply shows, as plain data: the service moves a job through these states and a
 * view (src/views/generation-reply.ts) turns each into a Discord message.
 */
export type JobReplyState =
  | { state: 'queued'; jobId: string; locale: Locale; position: number; /** On the class's own Cog servers: how many draw at once. */ ownGpuServers?: number }
  | { state: 'drawing'; jobId: string; locale: Locale; progress?: { step: number; total: number; finishesAt?: number } }
  | { state: 'drawing-cell'; jobId: string; locale: Locale; index: number; total: number; axis: Comparison['axis']; value: number }
  | {
      state: 'succeeded';
      jobId: string;
      locale: Locale;
      parameters: GenerationParameters;
      notes: string[];
      /** An identical earlier request's picture, shown again for free. */
      reused: boolean;
      /** The side-by-side image (when the dataset has a drawing) first, then the plain picture. */
      files: PictureFile[];
      /** The artist's drawing it stands next to. */
      referenceName?: string;
      triggerWord: string;
    }
  | { state: 'compared'; jobId: string; locale: Locale; parameters: GenerationParameters; comparison: Comparison; grid: PictureFile }
  | { state: 'failed'; locale: Locale; failure: JobFailure }
  | { state: 'canceled'; locale: Locale; /** Taken out of the queue before anything was drawn. */ nothingSpent: boolean };

/**
 * The port through which the service shows a job's state in its reply (the Discord
 * implementation renders with the views and goes through the `Replier`).
 */
export interface JobReplies {
  /** Shows the state in the reply while it can be edited; false once it cannot (token expired, reply deleted). */
  edit(target: ReplyTarget, state: JobReplyState): Promise<boolean>;
  /** The job's last state: in the reply, or a channel message that mentions the asker once the reply cannot be edited. */
  finish(target: ReplyTarget, state: JobReplyState): Promise<void>;
}

export function failureOf(error: unknown): JobFailure {
  if (error instanceof UserError) return { code: 'refused', text: error.text };
  if (error instanceof ServiceError) return { code: error.failure, detail: error.message };
  return { code: 'internal' };
}

import { createHash } from 'node:crypto';
import type { Locale } from '../i18n/index.js';
import type { ReplyTarget } from '../reply-target.js';
import type { GenerationRequest } from '../services/types.js';

/**
 * A `/kmplz` job as stored: everything needed to run it, answer it, and serve its buttons
 * (🎲 again, ⭐ showcase, 📋 parameters, 🗑 delete) after a restart. Discord strips image
 * metadata, so the parameters live here, keyed by the job id that every button carries.
 */
export interface GenerationParameters extends Omit<GenerationRequest, 'weights'> {
  /** Whether the user chose the seed (only then may an identical request reuse a result). */
  seedChosen: boolean;
  checkpoint: { trainingId: string; step: number };
}

/** `/compare`: the same prompt and seed drawn once per value of one parameter. */
export interface Comparison {
  axis: 'steps' | 'guidance' | 'strength' | 'checkpoint';
  values: number[];
}

export type JobStatus = 'queued' | 'running' | 'succeeded' | 'failed' | 'canceled';

export interface GenerationJob {
  id: string;
  guildId: string;
  userId: string;
  parameters: GenerationParameters;
  /** What the user typed, for the 📋 view. */
  userPrompt: string;
  /** Set for `/compare` jobs: one grid instead of one picture. */
  comparison?: Comparison;
  notes: string[];
  reply: ReplyTarget;
  /** The server's upload limit per file (`attachment_size_limit` of the interaction). */
  uploadLimit: number;
  status: JobStatus;
  result?: {
    /** Path relative to DATA_DIR of the generated image as the service returned it. */
    imageFile: string;
    referenceName?: string;
    predictionId: string;
    gpuSeconds: number;
  };
  /** The predictions made for it so far, by picture (a comparison makes several): a takeover follows these. */
  predictions?: string[];
  /** Run again after its process stopped mid-job. */
  takenOver?: boolean;
  /** False between recording a success and its answer going out: a takeover answers again. */
  answered?: boolean;
  /** The message that shows the result, for ⭐ and 🗑. */
  messageId?: string;
  failure?: string;
  createdAt: number;
  finishedAt?: number;
  /** The language of the interaction that asked: the reply's later edits are in it. Older jobs have none: English. */
  locale?: Locale;
}

/**
 * The LoRA scale of jobs stored before `strength` existed: nothing was sent, so cog-sdxl applied
 * its own default, 0.6 (predict.py). 🎲 again and 📋 of such a job keep the scale it was drawn at.
 */
export const STRENGTH_BEFORE_OPTION = 0.6;

/** A stored job's parameters with the strength it was (or will be) drawn at, old records included. */
export function withStrength(parameters: GenerationParameters): GenerationParameters {
  return parameters.strength === undefined ? { ...parameters, strength: STRENGTH_BEFORE_OPTION } : parameters;
}

/** The same picture comes from the same prompt, negative, steps, guidance, strength, size, seed and checkpoint. */
export function fingerprint(parameters: GenerationParameters): string {
  const { prompt, negativePrompt = '', steps, guidance, strength, width, height, seed, checkpoint } = withStrength(parameters);
  return createHash('sha256')
    .update(JSON.stringify([prompt, negativePrompt, steps, guidance, strength, width, height, seed, checkpoint.trainingId, checkpoint.step]))
    .digest('base64url')
    .slice(0, 32);
}

/** The parameters of one cell of a comparison. */
export function variantOf(parameters: GenerationParameters, axis: Comparison['axis'], value: number): GenerationParameters {
  if (axis === 'steps') return { ...parameters, steps: value };
  if (axis === 'guidance') return { ...parameters, guidance: value };
  if (axis === 'strength') return { ...parameters, strength: value };
  return { ...parameters, checkpoint: { ...parameters.checkpoint, step: value } };
}

import type { TrainingDraft, TrainingRecord, TrainingRef } from './records.js';
import type { TrainingRepository } from './repository.js';

/**
 * What commands and other domains ask of the training side (BotContext.training): start, stop
 * and cancel a training, close its vote, show new tallies, and its records. The composition
 * root alone sees the rest of TrainingSupervisor (resume, webhooks, close).
 */
export interface TrainingService {
  readonly repository: TrainingRepository;
  /** Starts a confirmed training; resolves once its thread is open (so the reply can link it). */
  begin(draft: TrainingDraft): Promise<TrainingRecord>;
  /** A trainer's Cancel: every run stops; the GPU time that saves. */
  cancel(guildId: string, trainingId: string, userId: string): Promise<{ savedGpuSeconds: number }>;
  /** A trainer's Stop after `step`: the longer runs are canceled. */
  stopAfter(guildId: string, trainingId: string, step: number, userId: string): Promise<{ savedGpuSeconds: number; canceledSteps: number[] }>;
  /** Ends the vote now (a trainer's Close or pick, a new training). */
  closeVoting(ref: TrainingRef): Promise<void>;
  /** After a vote: the previews show the new tallies. */
  showTallies(ref: TrainingRef): Promise<void>;
}

import type { ActiveCheckpoint, CheckpointRecord, TrainingRecord } from '../training/records.js';
import type { TrainingRepository } from '../training/repository.js';
import { drawingChoice } from './window.js';

export type Drawing =
  | { kind: 'checkpoint'; active: ActiveCheckpoint; training: TrainingRecord; checkpoint: CheckpointRecord }
  /** A blind vote is open and nothing was chosen before it: `/kmplz` draws once it closes. */
  | { kind: 'hidden'; closesAt: number };

/**
 * The checkpoint `/kmplz` draws with in a server: the leader of a vote still open after its
 * training, else the stored choice (src/voting/window.ts decides). Undefined: nothing to draw with.
 */
export async function loadDrawing(trainings: TrainingRepository, guildId: string): Promise<Drawing | undefined> {
  const [last, stored] = await Promise.all([trainings.last(guildId), trainings.activeWithRecord(guildId)]);
  const choice = drawingChoice(last, stored?.active);
  if (!choice) return undefined;
  if (choice.kind === 'hidden') return choice;
  const chosen = choice.active;
  const training = chosen.trainingId === last?.id ? last : await trainings.load({ guildId, trainingId: chosen.trainingId });
  const checkpoint = training?.checkpoints.find((c) => c.step === chosen.step);
  return training && checkpoint ? { kind: 'checkpoint', active: chosen, training, checkpoint } : undefined;
}

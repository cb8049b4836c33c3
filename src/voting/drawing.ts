import type { Store } from '../store/store.js';
import { loadActiveCheckpoint, loadLastTraining, type ActiveCheckpoint, type CheckpointRecord, type TrainingRecord } from '../training/records.js';
import { drawingChoice } from './window.js';
import { keys } from '../store/keys.js';

export type Drawing =
  | { kind: 'checkpoint'; active: ActiveCheckpoint; training: TrainingRecord; checkpoint: CheckpointRecord }
  /** A blind vote is open and nothing was chosen before it: `/kmplz` draws once it closes. */
  | { kind: 'hidden'; closesAt: number };

/**
 * The checkpoint `/kmplz` draws with in a server: the leader of a vote still open after its
 * training, else the stored choice (src/voting/window.ts decides). Undefined: nothing to draw with.
 */
export async function loadDrawing(store: Store, guildId: string): Promise<Drawing | undefined> {
  const [last, stored] = await Promise.all([loadLastTraining(store, guildId), loadActiveCheckpoint(store, guildId)]);
  const choice = drawingChoice(last, stored?.active);
  if (!choice) return undefined;
  if (choice.kind === 'hidden') return choice;
  const { active } = choice;
  const training = active.trainingId === last?.id ? last : await store.get<TrainingRecord>(keys.training(guildId, active.trainingId));
  const checkpoint = training?.checkpoints.find((c) => c.step === active.step);
  return training && checkpoint ? { kind: 'checkpoint', active, training, checkpoint } : undefined;
}

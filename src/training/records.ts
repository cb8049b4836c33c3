import type { Store } from '../store/store.js';

/**
 * What the store keeps about trainings. One server's records never mention another server's:
 * every key below starts with the guild id, and a record read through a button is checked
 * against the guild the click came from.
 */

export interface CheckpointRecord {
  step: number;
  /** The trainer's weights URL (`trained_model.tar`); Replicate deletes it after a while. */
  weightsUrl?: string;
  /** The trained model version (`owner/model:hash`): the fallback once the weights URL expired. */
  version?: string;
  /** Link to the posted preview, once it is posted. */
  previewUrl?: string;
  createdAt: number;
}

export type TrainingStatus = 'confirming' | 'running' | 'succeeded' | 'failed' | 'canceled';

export interface TrainingRecord {
  id: string;
  guildId: string;
  channelId: string;
  threadId?: string;
  startedBy: string;
  status: TrainingStatus;
  steps: number;
  checkpointEvery: number;
  checkpoints: CheckpointRecord[];
  /** userId → the step that person voted for: one vote per person, voting again moves it. */
  votes: Record<string, number>;
  /** A trainer's pick, which beats the vote. */
  override?: { step: number; by: string };
  createdAt: number;
}

/** The checkpoint `/kmplz` generates with. */
export interface ActiveCheckpoint {
  trainingId: string;
  step: number;
  chosenBy: 'vote' | 'trainer' | 'last';
}

export const keys = {
  training: (guildId: string, trainingId: string) => `guild:${guildId}:training:${trainingId}`,
  lastTraining: (guildId: string) => `guild:${guildId}:training:last`,
  activeCheckpoint: (guildId: string) => `guild:${guildId}:checkpoint:active`,
};

export async function loadLastTraining(store: Store, guildId: string): Promise<TrainingRecord | undefined> {
  const trainingId = await store.get<string>(keys.lastTraining(guildId));
  return trainingId ? store.get<TrainingRecord>(keys.training(guildId, trainingId)) : undefined;
}

export async function loadActiveCheckpoint(
  store: Store,
  guildId: string,
): Promise<{ active: ActiveCheckpoint; training: TrainingRecord; checkpoint: CheckpointRecord } | undefined> {
  const active = await store.get<ActiveCheckpoint>(keys.activeCheckpoint(guildId));
  if (!active) return undefined;
  const training = await store.get<TrainingRecord>(keys.training(guildId, active.trainingId));
  const checkpoint = training?.checkpoints.find((c) => c.step === active.step);
  return training && checkpoint ? { active, training, checkpoint } : undefined;
}

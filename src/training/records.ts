import type { TrainingRunStatus, TrainingStrategy } from '../services/types.js';
import type { Locale } from '../i18n/index.js';
import type { ProgressOrigin, TrainingEstimate } from './plan.js';

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
  /** Where `/publish` last put it on the Hub: the archive there outlives Replicate's and kmplz's copies. */
  published?: { repo: string; revision: string; archiveUrl: string };
  /**
   * The unguessable name under which kmplz serves its kept copy of the archive
   * (`PUBLIC_URL/checkpoints/<token>.tar`), so Replicate can draw with it after deleting its own.
   */
  archiveToken?: string;
}

/** One training run on the service: a ladder has one per checkpoint, streaming one in all. */
export interface TrainingRunRecord {
  steps: number;
  /** The steps whose weights this run yields, in output order. */
  checkpointSteps: number[];
  /** The service's id, once the create answered. */
  id?: string;
  /** When the create was first sent: a create whose answer was lost is found again from here. */
  createRequestedAt?: number;
  status: 'pending' | TrainingRunStatus;
  progress?: { step: number; total: number };
  progressFrom?: ProgressOrigin;
  startedAt?: number;
  /** Billed GPU time, once terminal. */
  gpuSeconds?: number;
  error?: string;
}

/** A prompt every checkpoint is previewed with, with its seed and the drawing shown first in its row. */
export interface PreviewSample {
  prompt: string;
  seed: number;
  /** Dataset image name of the reference drawing. */
  reference: string;
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
  // What /train adds; trainings stored before it have none of these.
  strategy?: TrainingStrategy;
  /** The one seed of every run. */
  seed?: number;
  imageCount?: number;
  runs?: TrainingRunRecord[];
  samples?: PreviewSample[];
  estimate?: TrainingEstimate;
  /** The zip as uploaded: every run reads this URL. */
  dataset?: { fileId: string; url: string };
  /** The server's upload limit per file, from the /train interaction. */
  uploadLimit?: number;
  announcementId?: string;
  statusMessageId?: string;
  /** GPU time of the preview pictures so far. */
  previewGpuSeconds?: number;
  /** A trainer stopped the training after this checkpoint; the longer runs were canceled. */
  stopAfter?: { step: number; by: string; savedGpuSeconds: number };
  canceled?: { by: string; savedGpuSeconds: number };
  failure?: string;
  finishedAt?: number;
  /** Blind mode: step → the letter the class sees until voting closes (src/voting/blind.ts). */
  blind?: Record<string, string>;
  /** Voting stays open this many minutes after the last checkpoint (without it, DEFAULT_VOTE_MINUTES), then the result is announced. */
  voteMinutes?: number;
  /** When the voting deadline falls, set once the training has succeeded (src/voting/window.ts). */
  votingClosesAt?: number;
  /** When voting closed (the deadline passed, a trainer closed it or picked, a blind training failed): later votes are refused. */
  votingClosedAt?: number;
  /** The language of the trainer who started it: the thread's messages are in it. Older records have none: English. */
  locale?: Locale;
  /**
   * Discord refused this training's posts or edits for missing permissions (50013) or access
   * (50001): how many refusals in a row (a success of the refused post starts the count again),
   * which post and code came last, and when kmplz gave up posting for the training (src/training/thread.ts).
   */
  discordRefusals?: { count: number; what: string; code: number; at: number; gaveUpAt?: number };
}

/** A /train waiting for its Start button: kept an hour, then forgotten. */
export interface TrainingDraft {
  id: string;
  guildId: string;
  channelId: string;
  startedBy: string;
  steps: number;
  checkpointEvery: number;
  uploadLimit: number;
  createdAt: number;
  blind?: boolean;
  voteMinutes?: number;
  /** The language of the /train interaction. */
  locale?: Locale;
}

/** A training this bot follows until it is done; kept in a list so a restarted bot picks it up. */
export interface TrainingRef {
  guildId: string;
  trainingId: string;
}

/** A training's id across the bot (its task, its place in the stored lists, its messages' editor keys): `<guild>/<training>`. */
export const refKey = ({ guildId, trainingId }: TrainingRef): string => `${guildId}/${trainingId}`;

/**
 * Marks that make an effect happen once. A message mark is set before its message is posted:
 * `by` names the run of the bot (boot id) that posts it, `messageId` is filled in once posted.
 */
export interface MessageMark {
  by: string;
  at: number;
  messageId?: string;
}

/** The checkpoint `/kmplz` generates with. */
export interface ActiveCheckpoint {
  trainingId: string;
  step: number;
  chosenBy: 'vote' | 'trainer' | 'last';
}

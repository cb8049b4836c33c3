/** How trainings are polled and their messages edited (tests against an accelerated emulator go faster). */
export interface TrainingTiming {
  /** Bounded backoff between polls of running runs: back to `baseMs` whenever something moved. */
  poll: { baseMs: number; maxMs: number };
  /** With webhooks: how often runs are polled anyway, in case a delivery was lost for good. */
  reconcileMs: number;
  /** Minimum time between two edits of a status message (Discord allows about one per second per channel). */
  statusEditIntervalMs: number;
  /** Minimum time between two tally edits of one preview message: a burst of votes becomes a couple of edits. */
  tallyEditIntervalMs: number;
  /** How often due voting deadlines are looked for. */
  deadlineSweepMs: number;
}

export const DEFAULT_TRAINING_TIMING: TrainingTiming = { poll: { baseMs: 2000, maxMs: 30_000 }, reconcileMs: 5 * 60_000, statusEditIntervalMs: 5000, tallyEditIntervalMs: 3000, deadlineSweepMs: 15_000 };

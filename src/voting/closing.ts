import type { Clock } from '../clock.js';
import type { Logger } from '../log.js';
import type { TrainingRecord, TrainingRef } from '../training/records.js';
import type { TrainingRepository } from '../training/repository.js';
import type { Winner } from './tally.js';
import { activeFor, isDue, leaderOf } from './window.js';

export interface VotingCloserOptions {
  repository: TrainingRepository;
  clock: Clock;
  log: Logger;
  /** How often due deadlines are looked for. */
  sweepMs: number;
  /** Brings the previews' tallies and the end message's vote lines up to date with the record. */
  refresh: (ref: TrainingRef) => Promise<void>;
  /** Posts the result in the training's thread, exactly once whatever restarts happen. */
  announce: (ref: TrainingRef, record: TrainingRecord, chosen: Winner | undefined) => Promise<void>;
  /** The close is complete: stored, announced, off the deadline list. */
  closed?: (ref: TrainingRef, chosen: Winner | undefined) => void;
}

/**
 * Opens and closes trainings' votes (when: src/voting/window.ts). An open vote's deadline is on
 * its record and its ref in a stored list, which a sweep reads: a deadline that fell while the
 * bot was down is processed at the next start, and a close interrupted half way is finished by
 * the next sweep (the ref leaves the list only once the result is announced).
 */
export class VotingCloser {
  private timer: NodeJS.Timeout | undefined;
  private sweeping: Promise<void> | undefined;
  private stopped = false;

  constructor(private readonly o: VotingCloserOptions) {}

  /** Sweeps now (deadlines that fell meanwhile), then every `sweepMs`. */
  async start(): Promise<void> {
    if (this.stopped || this.timer) return;
    this.timer = setInterval(() => void this.sweep(), this.o.sweepMs);
    this.timer.unref();
    await this.sweep();
  }

  stop(): void {
    this.stopped = true;
    clearInterval(this.timer);
  }

  /** The vote stays open until `closesAt` (kept if already set, as after a restart). */
  async open(ref: TrainingRef, closesAt: number): Promise<TrainingRecord> {
    const record = await this.o.repository.update(ref, (current) => (current.votingClosesAt === undefined ? { ...current, votingClosesAt: closesAt } : current));
    await this.o.repository.addDeadline(ref);
    return record;
  }

  /**
   * Ends the vote of a training: later votes are refused, blind steps are revealed on the
   * previews, the winner (a trainer's pick, else the `winner` rule) becomes active once the
   * training has succeeded, and the thread gets the result. Safe to call again and after a
   * restart: the result is posted under a mark, so exactly once.
   */
  async close(ref: TrainingRef): Promise<void> {
    const now = this.o.clock.now();
    const record = await this.o.repository.update(ref, (current) => (current.votingClosedAt === undefined ? { ...current, votingClosedAt: now } : current));
    const chosen = leaderOf(record);
    if (chosen && (record.status === 'succeeded' || chosen.rule === 'trainer')) {
      await this.o.repository.setActiveCheckpoint(ref.guildId, activeFor(record, chosen));
    }
    await this.o.refresh(ref);
    await this.o.announce(ref, record, chosen);
    await this.o.repository.removeDeadline(ref);
    this.o.log.info({ ...ref, winner: chosen?.step }, 'voting closed');
    this.o.closed?.(ref, chosen);
  }

  /** Closes the vote of every training whose deadline has passed; one sweep at a time. */
  private sweep(): Promise<void> {
    this.sweeping ??= (async () => {
      try {
        for (const ref of await this.o.repository.deadlines()) {
          if (this.stopped) return;
          const record = await this.o.repository.load(ref);
          if (!record) await this.o.repository.removeDeadline(ref);
          else if (isDue(record, this.o.clock.now())) await this.close(ref);
        }
      } catch (error) {
        this.o.log.warn({ err: error }, 'could not process the voting deadlines; trying again on the next sweep');
      } finally {
        this.sweeping = undefined;
      }
    })();
    return this.sweeping;
  }
}

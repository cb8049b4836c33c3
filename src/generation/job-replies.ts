import type { Logger } from '../log.js';
import type { ReplyTarget } from '../reply-target.js';
import { MessageEditor } from '../util/message-editor.js';
import type { GenerationJob, JobStatus } from './jobs.js';
import type { JobReplies, JobReplyState } from './reply-state.js';
import type { GenerationJobs } from './repository.js';

/**
 * The edits of every job's reply, in order and throttled (see the editor): a change of state
 * goes out next, a report that only informs (a queue place, a progress bar) at most once per
 * interval, and nothing a job no longer stands at overwrites what it stands at now.
 */
export class JobReplyUpdates {
  private readonly editor: MessageEditor;

  constructor(private readonly o: { jobs: GenerationJobs; replies: JobReplies; log: Logger; intervalMs: number; now: () => number }) {
    this.editor = new MessageEditor({
      intervalMs: o.intervalMs,
      now: o.now,
      onError: (error, jobId) => o.log.debug({ err: error, jobId }, 'reply edit failed'),
    });
  }

  /**
   * A change of state shown at once (after the edit on its way), if the job still stands there
   * when the edit's turn comes. Never rejects: a reply that cannot be edited must not fail the
   * job, whose answer has its own fallback.
   */
  async show(job: GenerationJob, state: JobReplyState, status: JobStatus): Promise<void> {
    await this.editor
      .change(job.id, async () => {
        if (await this.stillAt(job, status)) await this.o.replies.edit(job.reply, state);
      })
      .catch((error: unknown) => this.o.log.debug({ err: error, jobId: job.id }, 'reply edit failed'));
  }

  /**
   * A report that only informs, coalesced per reply: `current` is asked when the edit goes out
   * (not for every report) and gives what to show then, or nothing when the job has moved on.
   */
  inform(jobId: string, current: () => Promise<{ target: ReplyTarget; state: JobReplyState } | undefined>): void {
    this.editor.report(jobId, async () => {
      const now = await current();
      if (now) await this.o.replies.edit(now.target, now.state);
    });
  }

  /** Progress of a running job: shown only while it is still running (a late report must not overwrite the answer). */
  progress(job: GenerationJob, state: JobReplyState): void {
    this.inform(job.id, async () => ((await this.stillAt(job, 'running')) ? { target: job.reply, state } : undefined));
  }

  /** The job's last state, after the edits before it; rejects when it could not be delivered at all. */
  finish(job: GenerationJob, state: JobReplyState): Promise<void> {
    return this.editor.change(job.id, () => this.o.replies.finish(job.reply, state));
  }

  /** The job is over: nothing held for its reply is sent any more. */
  forget(jobId: string): void {
    this.editor.forget(jobId);
  }

  /**
   * Whether the job still stands where an edit shows it: a queue place worked out just before the
   * job started, or a progress report arriving after the picture, must not overwrite the newer
   * state, since Discord keeps whichever edit lands last.
   */
  private async stillAt(job: GenerationJob, status: JobStatus): Promise<boolean> {
    return (await this.o.jobs.get(job.guildId, job.id))?.status === status;
  }
}

/**
 * Where a long job answers: the interaction's own reply while its token lives (15 minutes),
 * then an ordinary channel message. Stored with the job, so a job picked up after a restart
 * still finds its way back to the person who asked.
 */
export interface ReplyTarget {
  applicationId: string;
  interactionToken: string;
  /** Discord refuses edits with 50027 once the token is 15 minutes old; a margin avoids the race. */
  tokenExpiresAt: number;
  channelId: string;
  userId: string;
}

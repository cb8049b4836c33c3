/**
 * One input the intake did not take, and why: shown to the user as "name: reason". `code` is
 * stable for tests and for the lead's UserError; `reason` is a short sentence.
 */
export interface Refusal {
  name: string;
  code: string;
  reason: string;
}

/**
 * A failure of the whole download, archive or export (as opposed to one file in it), with a
 * stable `code` and a message meant for the user.
 */
export class IntakeError extends Error {
  override readonly name = 'IntakeError';

  constructor(
    readonly code: string,
    message: string,
  ) {
    super(message);
  }
}

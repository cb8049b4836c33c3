import { CatalogError } from '../../errors.js';
import type { Message } from '../../i18n/index.js';

/**
 * One input the intake did not take, and why: shown to the user as "name: reason", the reason in
 * their language. `code` is stable for tests and for the lead's UserError; `reason` is a short
 * sentence of the catalog (`refusal.<code>…`, or `image.<code>…` for a picture that failed).
 */
export interface Refusal {
  name: string;
  /** Shown instead of `name` where the refusal is not about one file ("3 more entries"). */
  label?: Message;
  code: string;
  reason: Message;
}

/**
 * A failure of the whole download, archive or export (as opposed to one file in it), with a
 * stable `code` and a message meant for the user (`error.<code>…`, so that a UserError with the
 * same code finds it).
 */
export class IntakeError extends CatalogError {
  override readonly name = 'IntakeError';
}

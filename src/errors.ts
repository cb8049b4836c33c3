import { randomBytes } from 'node:crypto';
import { render, type Locale, type Message } from './i18n/index.js';

/**
 * What a refusal says: a catalog message (`msg('error.<code>…', params)`), several of them (one
 * line each), or a plain string for words that come from elsewhere (a service's own message).
 */
export type UserErrorText = Message | readonly Message[] | string;

/**
 * An expected failure whose message is meant for the person who caused it: bad input, a missing
 * permission, a budget reached. The central handler shows it (ephemeral) in the caller's language
 * and logs it at info level without a stack. `code` is stable so tests and translations can rely
 * on it: its catalog messages are `error.<code>` and `error.<code>.<variant>`. `message` is the
 * English text, for logs.
 */
export class UserError extends Error {
  constructor(
    readonly code: string,
    readonly text: UserErrorText,
  ) {
    super(renderUserErrorText('en', text));
    this.name = 'UserError';
  }

  /** The refusal in the language of the person who gets it. */
  render(locale: Locale): string {
    return renderUserErrorText(locale, this.text);
  }
}

/** A refusal's text in one language (the views render refusals carried as data). */
export function renderUserErrorText(locale: Locale, text: UserErrorText): string {
  return Array.isArray(text) ? text.map((line: Message) => render(locale, line)).join('\n') : render(locale, text as Message | string);
}

/**
 * A failure with a stable `code` and a catalog message, for code below the commands (the file
 * intake, the image pipeline) that does not know who will read it. `text` is rendered in the
 * reader's language where it is shown (a UserError built from it, a line of a report);
 * `message` is the English text, for logs.
 */
export class CatalogError<Code extends string = string> extends Error {
  constructor(
    readonly code: Code,
    readonly text: Message,
  ) {
    super(render('en', text));
  }
}

export function isUserError(error: unknown): error is UserError {
  return error instanceof UserError;
}

/** A short id the user can quote and an operator can grep for in the logs. */
export function newErrorReference(): string {
  return randomBytes(4).toString('hex');
}

import { randomBytes } from 'node:crypto';

/**
 * An expected failure whose message is meant for the person who caused it: bad input, a missing
 * permission, a budget reached. The central handler shows `message` (ephemeral) and logs it at
 * info level without a stack. `code` is stable so tests and translations can rely on it.
 */
export class UserError extends Error {
  constructor(
    readonly code: string,
    message: string,
  ) {
    super(message);
    this.name = 'UserError';
  }
}

export function isUserError(error: unknown): error is UserError {
  return error instanceof UserError;
}

/** A short id the user can quote and an operator can grep for in the logs. */
export function newErrorReference(): string {
  return randomBytes(4).toString('hex');
}

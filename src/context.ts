import type { Client } from 'discord.js';
import type { Clock } from './clock.js';
import type { Config } from './config.js';
import type { Logger } from './log.js';
import type { Store } from './store/store.js';

/**
 * What every command and job receives, built once in the composition root (src/app.ts).
 * Handlers get a copy whose `log` is a child logger bound to their interaction or job.
 */
export interface BotContext {
  readonly config: Config;
  readonly log: Logger;
  readonly store: Store;
  readonly clock: Clock;
  readonly client: Client;
}

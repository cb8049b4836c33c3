import type { Client } from 'discord.js';
import type { Clock } from './clock.js';
import type { Config } from './config.js';
import type { GenerationService } from './generation/service.js';
import type { Logger } from './log.js';
import type { Captioner, Generator } from './services/types.js';
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
  /** `/kmplz` jobs: the fair queue, the replies, the results. */
  readonly generation: GenerationService;
  readonly services: Services;
}

export interface Services {
  readonly generator: Generator;
  readonly captioner: Captioner;
}

import type { Client } from 'discord.js';
import type { Clock } from './clock.js';
import type { Config } from './config.js';
import type { BotEventBus } from './events.js';
import type { Generation } from './generation/service.js';
import type { Replies } from './interactions/reply-target.js';
import type { Logger } from './log.js';
import type { TaskRunner } from './queue/tasks.js';
import type { ModelGate } from './services/replicate/model-checks.js';
import type { Captioner, Generator, ModelHub, Trainer } from './services/types.js';
import type { Store } from './store/store.js';
import type { KeptArchives } from './training/checkpoint-archives.js';
import type { TrainingService } from './training/service.js';

/**
 * What every command and job receives, built once in the composition root (src/app.ts).
 * Handlers get a copy whose `log` is a child logger bound to their interaction or job.
 */
export interface BotContext {
  readonly config: Config;
  readonly log: Logger;
  readonly store: Store;
  readonly clock: Clock;
  /** Discord, for what the commands look up themselves (a showcase or thread channel); everything else goes through ports. */
  readonly client: Pick<Client, 'channels'>;
  /** Typed events of what happened (src/events.ts): what tests and metrics observe. */
  readonly events: BotEventBus;
  /** `/kmplz` jobs: the fair queue, the replies, the results. */
  readonly generation: Generation;
  /** `/train`: trainings followed to their last preview, across restarts. */
  readonly training: TrainingService;
  /** kmplz's own copies of the trained checkpoints' archives (`/publish` reads them). */
  readonly archives: KeptArchives;
  readonly services: Services;
  /** Background work that outlives an interaction (batch captioning), in one process at a time. */
  readonly tasks: TaskRunner;
  /** Answers a stored interaction later: edits its reply while the token lives, then posts in the channel. */
  readonly replier: Replies;
}

export interface Services {
  readonly generator: Generator;
  readonly captioner: Captioner;
  readonly trainer: Trainer;
  /** Refuses a feature whose configured model's own schema does not fit what kmplz sends and reads. */
  readonly models: ModelGate;
  /** The Hugging Face Hub for `/publish`; undefined without HF_TOKEN. */
  readonly hub?: ModelHub;
}

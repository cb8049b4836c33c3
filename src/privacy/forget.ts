import { rm } from 'node:fs/promises';
import path from 'node:path';
import type { Config } from '../config.js';
import type { Store } from '../store/store.js';
import { keys } from '../store/keys.js';
import { GenerationJobs } from '../generation/repository.js';
import { StoreTrainingRepository } from '../training/repository.js';

export interface ForgetDeps {
  store: Store;
  config: Pick<Config, 'DATA_DIR'>;
}

export interface Forgotten {
  /** Store records removed (dataset, trainings, votes, jobs, marks…). */
  records: number;
  /** Whether the server's folder under DATA_DIR was there. */
  files: boolean;
}

/** Discord ids are snowflakes: anything else never names a server (and could name a path). */
const GUILD_ID = /^\d{17,20}$/;

/**
 * Removes everything kmplz keeps of one server: its folder `DATA_DIR/guilds/<id>` (dataset
 * originals and training squares, `/kmplz` results, training previews) and every store record
 * `guild:<id>:…` (the dataset with captions, trainings with their votes, generation jobs with
 * prompts, showcase marks), and its entries in the bot-wide lists of unfinished work.
 * `keepSpending` keeps the months' GPU spending (amounts only, no person in them) so that
 * forgetting from inside Discord cannot reset `BUDGET_USD`. What Discord itself holds (posted
 * messages) and the trained style in the Replicate model are not the bot's to delete.
 */
export async function forgetGuild({ store, config }: ForgetDeps, guildId: string, { keepSpending = false } = {}): Promise<Forgotten> {
  if (!GUILD_ID.test(guildId)) throw new RangeError(`not a Discord server id: ${JSON.stringify(guildId)}`);
  const spendPrefix = keys.spend(guildId, '');
  const doomed = (await store.keys(keys.guild(guildId))).filter((key) => !(keepSpending && key.startsWith(spendPrefix)));
  for (const key of doomed) await store.delete(key);
  // The bot-wide lists name this server's jobs and trainings; a restart would look for them.
  // Through their owners (plain classes over the store, so `npm run forget` needs no running bot).
  await new GenerationJobs(store).forgetGuild(guildId);
  await new StoreTrainingRepository(store).forgetGuild(guildId);
  const folder = path.join(config.DATA_DIR, 'guilds', guildId);
  const files = await rm(folder, { recursive: true }).then(
    () => true,
    (error: NodeJS.ErrnoException) => {
      if (error.code === 'ENOENT') return false;
      throw error;
    },
  );
  return { records: doomed.length, files };
}

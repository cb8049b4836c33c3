import type { Interaction } from 'discord.js';
import type { Config } from '../config.js';
import { BOT_NEEDS, requireAppPermissions } from './bot-permissions.js';
import { requireGuildId, requireTrainer } from './permissions.js';

/**
 * Work the bot does in the interaction's channel, whose permissions it needs there (`BOT_NEEDS`).
 * The showcase is not one: it posts in another channel, checked where that channel is fetched.
 */
export type BotWork = Exclude<keyof typeof BOT_NEEDS, 'showcase'>;

/**
 * A precondition the dispatcher checks, in the declared order, before a handler runs; the first
 * that fails refuses the interaction with its `UserError` (shown to the caller alone):
 * - `'trainer'`: the caller may change the dataset, spend on training, override the vote
 *   (`isTrainer`): `not-a-trainer`.
 * - `{ bot: work }`: the bot holds in this channel what `work` needs (`BOT_NEEDS[work]`), so
 *   nothing is planned or paid that it could not deliver: `bot-missing-permissions`.
 */
export type Guard = 'trainer' | { bot: BotWork };

/**
 * The guards of one handler. Every dataset, training, vote and picture belongs to one server, so
 * `'guild'` (refused in direct messages: `guild-only`) comes first in every list, and what it
 * establishes, the server's id, is what each handler gets in `Granted`.
 */
export type Guards = readonly ['guild', ...Guard[]];

/** What the guards established, handed to the handler: it need not ask again. */
export interface Granted {
  guildId: string;
}

/** Checks `guards` in order; throws the first refusal, or returns what they established. */
export function checkGuards(interaction: Interaction, guards: Guards, config: Config): Granted {
  const [, ...rest] = guards;
  const granted: Granted = { guildId: requireGuildId(interaction) };
  for (const guard of rest) {
    if (guard === 'trainer') requireTrainer(interaction, config);
    else requireAppPermissions(interaction, BOT_NEEDS[guard.bot], workChannelOf(interaction, guard.bot));
  }
  return granted;
}

/**
 * The channel the work goes in, whose name a permission refusal gives. A training posts its announcement and opens
 * its thread in a channel, and a thread cannot hold a thread: from inside one, the training goes
 * in its parent (whose permissions a thread has, so the interaction's app permissions still
 * tell). A picture is the interaction's own reply, wherever it was asked.
 */
export function workChannelOf<I extends Interaction>(interaction: I, work: BotWork): string | I['channelId'] {
  const channel = interaction.channel;
  if (work === 'training' && channel?.isThread() && channel.parentId) return channel.parentId;
  return interaction.channelId;
}

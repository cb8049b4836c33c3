import type { Client } from 'discord.js';
import { hasChanges, registerCommands } from '../../deploy/registration.js';
import type { Config } from '../config.js';
import { definitionsOf, type SlashCommand } from '../interactions/command.js';
import type { Logger } from '../log.js';

const COMMAND_SYNC_TIMEOUT_MS = 15_000;

/**
 * Registers the slash commands when Discord's set differs from the bot's, so that a first
 * `npm start` is enough to see them (`npm run deploy` does the same on demand, with a dry run).
 * Guild commands with DISCORD_GUILD_ID, else global ones. A refusal is logged, not fatal: the
 * bot still answers the commands registered before.
 */
export async function syncCommands(client: Client, commands: readonly SlashCommand[], config: Config, log: Logger): Promise<void> {
  try {
    const plan = await registerCommands({
      rest: client.rest,
      applicationId: client.application!.id,
      guildId: config.DISCORD_GUILD_ID,
      commands: definitionsOf(commands),
      onlyIfChanged: true,
      // The start (webhooks, unfinished jobs) does not wait long on it: the next start tries again.
      signal: AbortSignal.timeout(COMMAND_SYNC_TIMEOUT_MS),
    });
    if (hasChanges(plan)) {
      log.info({ scope: plan.scope, added: plan.added, changed: plan.changed, removed: plan.removed }, 'registered the slash commands with Discord');
    }
  } catch (error) {
    log.warn({ err: error }, 'could not register the slash commands (was the bot invited with the applications.commands scope?); `npm run deploy` says more');
  }
}


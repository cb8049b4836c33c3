import { REST, Routes, type RESTGetCurrentApplicationResult } from 'discord.js';
import { commandDefinitions } from '../commands/index.js';
import { ConfigError, loadDotEnv, parseConfig } from '../src/config.js';
import { describePlan, registerCommands } from './registration.js';

/**
 * `npm run deploy [-- --dry-run]`: registers every slash command of kmplz, as guild commands
 * when DISCORD_GUILD_ID is set (instant), else globally (may take a while to show up).
 */

const dryRun = process.argv.includes('--dry-run');
loadDotEnv();

try {
  const config = parseConfig(process.env);
  const rest = new REST({ api: config.DISCORD_API_URL }).setToken(config.DISCORD_TOKEN);
  // Without DISCORD_APP_ID the token itself tells which application it belongs to.
  const applicationId =
    config.DISCORD_APP_ID ?? ((await rest.get(Routes.currentApplication())) as RESTGetCurrentApplicationResult).id;
  const plan = await registerCommands({ rest, applicationId, guildId: config.DISCORD_GUILD_ID, commands: commandDefinitions, dryRun });
  console.log(describePlan(plan, dryRun));
} catch (error) {
  console.error(error instanceof ConfigError ? error.message : `Registering the commands failed: ${(error as Error).message}`);
  process.exit(1);
}

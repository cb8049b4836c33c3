import { parseConfig } from '../src/config.js';
import { forgetGuild } from '../src/privacy/forget.js';
import { openStore } from '../src/store/store.js';

/**
 * `npm run forget -- <server id>`: removes everything kmplz keeps of one server, spending records
 * included, from the store and DATA_DIR of this `.env`. For the operator: it works after the bot
 * has left the server (when `/dataset clear everything:true` can no longer be used there). Run it
 * with the bot stopped, or at least with nothing running for that server.
 */
export async function runForget(args: readonly string[], env: NodeJS.ProcessEnv): Promise<string> {
  const guildId = args.find((arg) => !arg.startsWith('-'));
  if (!guildId || !/^\d{17,20}$/.test(guildId)) {
    throw new Error('Usage: npm run forget -- <server id>  (Discord: Developer Mode on, right-click the server → Copy Server ID)');
  }
  const config = parseConfig(env);
  const store = await openStore(config.STORE_URL, { dataDir: config.DATA_DIR });
  try {
    const { records, files } = await forgetGuild({ store, config }, guildId);
    return `Server ${guildId}: removed ${records} store record${records === 1 ? '' : 's'}${files ? ` and ${config.DATA_DIR}/guilds/${guildId}` : '; it had no files'}.`;
  } finally {
    await store.close();
  }
}

import { createApp, type App } from './app.js';
import { inviteUrl } from './interactions/bot-permissions.js';
import { ConfigError, loadDotEnv, parseConfig, type Config } from './config.js';
import { explainStartFailure } from './startup-failure.js';

/** The entry point: read the configuration, start the bot, stop it cleanly on SIGINT/SIGTERM. */

function readConfig(): Config {
  loadDotEnv();
  return parseConfig(process.env);
}

let config: Config;
try {
  config = readConfig();
} catch (error) {
  if (!(error instanceof ConfigError)) throw error;
  // One short message naming every bad key, no stack trace: this is a setup problem, not a bug.
  console.error(error.message);
  process.exit(1);
}

let app: App | undefined;
try {
  app = await createApp(config);
  // Beside the JSON log: plain lines for the person who runs `npm start`.
  app.context.events.on('setup.checked', ({ problems }) => problems.forEach(({ message }) => console.error(`kmplz: ${message}`)));
  const started = app;
  for (const signal of ['SIGINT', 'SIGTERM'] as const) {
    process.once(signal, () => {
      started.context.log.info({ signal }, 'signal received');
      started.stop().then(
        () => process.exit(0),
        (error: unknown) => {
          started.context.log.error({ err: error }, 'shutdown failed');
          process.exit(1);
        },
      );
    });
  }
  await app.start();
  console.error(`kmplz is online. Add it to a server with: ${inviteUrl(app.client.application!.id)}`);
} catch (error) {
  app?.context.log.fatal({ err: error }, 'could not start');
  // Besides the JSON log: one line a person can act on (a wrong token, a busy port, a server not running).
  console.error(`kmplz could not start: ${explainStartFailure(error, config)}`);
  await app?.stop().catch(() => undefined);
  process.exit(1);
}

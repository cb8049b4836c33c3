import { createApp } from './app.js';
import { ConfigError, parseConfig, type Config } from './config.js';

/** The entry point: read the configuration, start the bot, stop it cleanly on SIGINT/SIGTERM. */

function readConfig(): Config {
  try {
    process.loadEnvFile('.env');
  } catch (error) {
    // No .env is fine: the environment alone may carry the configuration (containers, systemd).
    if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw error;
  }
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

const app = await createApp(config);
for (const signal of ['SIGINT', 'SIGTERM'] as const) {
  process.once(signal, () => {
    app.context.log.info({ signal }, 'signal received');
    app.stop().then(
      () => process.exit(0),
      (error: unknown) => {
        app.context.log.error({ err: error }, 'shutdown failed');
        process.exit(1);
      },
    );
  });
}
try {
  await app.start();
} catch (error) {
  app.context.log.fatal({ err: error }, 'could not start');
  await app.stop().catch(() => undefined);
  process.exit(1);
}

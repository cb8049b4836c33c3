import { ConfigError, loadDotEnv } from '../src/config.js';
import { runForget } from './forget.js';

loadDotEnv();
try {
  console.log(await runForget(process.argv.slice(2), process.env));
} catch (error) {
  console.error(error instanceof ConfigError ? error.message : (error as Error).message);
  process.exit(1);
}

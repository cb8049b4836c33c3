import { ConfigError } from '../src/config.js';
import { runForget } from './forget.js';

try {
  process.loadEnvFile('.env');
} catch (error) {
  if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw error;
}
try {
  console.log(await runForget(process.argv.slice(2), process.env));
} catch (error) {
  console.error(error instanceof ConfigError ? error.message : (error as Error).message);
  process.exit(1);
}

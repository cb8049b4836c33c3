import { DiscordAPIError } from 'discord.js';
import type { Config } from './config.js';

/**
 * One plain sentence for the person starting the bot about why it could not start: the log line
 * beside it has the details, but a wrong token or a busy port should not have to be read out of
 * JSON. Setup problems name the key of `.env` to fix.
 */
export function explainStartFailure(error: unknown, config: Pick<Config, 'DISCORD_API_URL' | 'HTTP_PORT'>): string {
  const code = (error as { code?: unknown } | null)?.code;
  const message = error instanceof Error ? error.message : String(error);
  // discord.js checks the token's shape itself (TokenInvalid) and Discord answers 401 to one it does not know.
  if (code === 'TokenInvalid' || (error instanceof DiscordAPIError && error.status === 401)) {
    return 'Discord refused DISCORD_TOKEN. Copy the bot token again (Developer Portal → your application → Bot → Reset Token) into .env.';
  }
  if (code === 'EADDRINUSE') {
    return `HTTP_PORT ${config.HTTP_PORT} is already in use by another program. Choose another port, or stop that program.`;
  }
  // openStore and the Redis connection say which key their message is about.
  if (/^(STORE_URL|REDIS_URL):/.test(message)) return `${message}. Check that key in .env, and that the server is running.`;
  if (typeof code === 'string' && NETWORK_ERRORS.has(code)) {
    const { address, port, hostname } = error as { address?: string; port?: number; hostname?: string };
    const where = hostname ?? (address ? `${address}${port ? `:${port}` : ''}` : 'a server');
    return `Cannot reach ${where} (${code}). Check the network, and DISCORD_API_URL (now ${config.DISCORD_API_URL}) if it is not Discord's.`;
  }
  return `${message} (an unexpected error; the log line above has the details).`;
}

const NETWORK_ERRORS = new Set(['ECONNREFUSED', 'ENOTFOUND', 'EAI_AGAIN', 'ETIMEDOUT', 'ECONNRESET', 'EHOSTUNREACH', 'ENETUNREACH', 'UND_ERR_CONNECT_TIMEOUT']);

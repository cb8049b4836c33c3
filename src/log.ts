import pino, { type DestinationStream, type Logger } from 'pino';

export type { Logger } from 'pino';

/**
 * Object keys whose values are secrets wherever they appear in a log line: tokens of the bot,
 * of Replicate and Hugging Face, interaction tokens (they let anyone edit the bot's reply for
 * 15 minutes) and Authorization headers.
 */
const REDACTED_PATHS = [
  'token',
  '*.token',
  '*.*.token',
  'authorization',
  'Authorization',
  '*.authorization',
  '*.Authorization',
  '*.headers.authorization',
  '*.headers.Authorization',
  'headers.authorization',
  'headers.Authorization',
  'config.DISCORD_TOKEN',
  'config.REPLICATE_API_TOKEN',
  'config.HF_TOKEN',
  'config.REPLICATE_WEBHOOK_SECRET',
  'DISCORD_TOKEN',
  'REPLICATE_API_TOKEN',
  'HF_TOKEN',
  'REPLICATE_WEBHOOK_SECRET',
];

/**
 * Secrets also hide inside strings that no key path reaches: a failed request's URL carries the
 * interaction token (`/webhooks/{app}/{token}/…`, `/interactions/{id}/{token}/callback`), an error
 * message may quote an Authorization header. These patterns scrub them from the finished line.
 */
const SECRET_PATTERNS: readonly RegExp[] = [
  /(\/(?:webhooks|interactions)\/\d{5,20}\/)[A-Za-z0-9_.-]{20,}/g,
  /\b(Bot|Bearer|Token)\s+[A-Za-z0-9_.\-=+/]{16,}/g,
  /\b(r8_)[A-Za-z0-9]{10,}/g,
  /\b(hf_)[A-Za-z0-9]{10,}/g,
  /\b(whsec_)[A-Za-z0-9+/=]{8,}/g,
  // A Discord bot token on its own (base64 user id, timestamp, HMAC), e.g. a second bot's token
  // pasted into a prompt or a config value quoted in an error: not only the configured one.
  /\b()[MNO][A-Za-z0-9_-]{23,27}\.[A-Za-z0-9_-]{6}\.[A-Za-z0-9_-]{27,}/g,
];

export interface LoggerOptions {
  level: string;
  /** Exact secret values (the configured tokens) to scrub from every line, wherever they appear. */
  secrets?: readonly (string | undefined)[];
  /** Where lines go; stdout by default. Tests pass a stream to read the lines back. */
  destination?: DestinationStream;
}

export function createLogger({ level, secrets = [], destination }: LoggerOptions): Logger {
  const exactSecrets = secrets.filter((s): s is string => typeof s === 'string' && s.length >= 6);
  return pino(
    {
      level,
      base: { app: 'kmplz' },
      redact: { paths: REDACTED_PATHS, censor: '[redacted]' },
      hooks: { streamWrite: (line) => scrubSecrets(line, exactSecrets) },
    },
    destination,
  );
}

export function scrubSecrets(text: string, exactSecrets: readonly string[] = []): string {
  let scrubbed = text;
  for (const secret of exactSecrets) scrubbed = scrubbed.split(secret).join('[redacted]');
  for (const pattern of SECRET_PATTERNS) scrubbed = scrubbed.replace(pattern, '$1[redacted]');
  return scrubbed;
}

import { z } from 'zod';

/**
 * The bot's configuration: the public keys (docs/contract.md), plus REPLICATE_TRAINER_MODE and
 * JOB_LOCK_SECONDS (README lists them all). Parsed once at start from the environment (and
 * `.env`), frozen, and handed to everything that needs it.
 */

const DEFAULT_GENERATOR =
  'stability-ai/sdxl:39ed52f2a78e934b3ba6e2a89f5b1c712de7dfea535525255b1aa35c5565e08b';
const DEFAULT_TRAINER =
  'stability-ai/sdxl:39ed52f2a78e934b3ba6e2a89f5b1c712de7dfea535525255b1aa35c5565e08b';
const DEFAULT_CAPTIONER =
  'salesforce/blip:2e1dddc8621f72155f24cf2e0adbde548458d3cab9f00c0139eea840d0ac4746';
/**
 * The vision-language model that captions through Hugging Face's Inference Providers when no
 * HF_CAPTION_ENDPOINT is set: no provider serves BLIP, they serve VLMs through chat completion
 * (docs/services.md#what-hugging-face-serves-for-captions). Llama 4 Scout is the VLM that Hugging
 * Face's own chat-completion and image-text-to-text docs show with the most providers (cerebras,
 * fireworks-ai, groq, novita, nscale, sambanova, together; hub-docs, 2026).
 */
export const DEFAULT_HF_CAPTION_MODEL = 'meta-llama/Llama-4-Scout-17B-16E-Instruct';

// parseConfig drops empty values before parsing, so "optional" below also covers `KEY=` lines.
const optionalString = z.string().trim().optional();

const snowflake = z
  .string()
  .trim()
  .regex(/^\d{17,20}$/, 'a Discord id (17–20 digits)');

const optionalSnowflake = snowflake.optional();

const httpUrl = z
  .string()
  .trim()
  .refine((value) => URL.canParse(value) && /^https?:$/.test(new URL(value).protocol), 'an http(s) URL')
  .transform((value) => value.replace(/\/+$/, ''));

const optionalHttpUrl = httpUrl.optional();

/** A comma list of http(s) URLs: several Cog servers of one kind share its work. */
const optionalUrlList = z
  .string()
  .trim()
  .optional()
  .transform((value, ctx) => {
    if (value === undefined) return undefined;
    const urls = value.split(',').map((url) => url.trim()).filter(Boolean);
    if (urls.length && urls.every((url) => URL.canParse(url) && /^https?:$/.test(new URL(url).protocol))) return urls.map((url) => url.replace(/\/+$/, ''));
    ctx.addIssue({ code: 'custom', message: 'a comma list of http(s) URLs' });
    return z.NEVER;
  });

/** `owner/name` or `owner/name:version`: how Replicate names a model or one of its versions. */
const modelRef = z
  .string()
  .trim()
  .regex(/^[\w.-]+\/[\w.-]+(:[0-9a-f]{16,64})?$/, 'owner/name or owner/name:version');

/** A number given as text. */
const optionalNumber = (isValid: (n: number) => boolean, expected: string) =>
  z
    .string()
    .trim()
    .optional()
    .transform((value, ctx) => {
      if (value === undefined) return undefined;
      const n = Number(value);
      if (Number.isFinite(n) && isValid(n)) return n;
      ctx.addIssue({ code: 'custom', message: expected });
      return z.NEVER;
    });

const configSchema = z.object({
  DISCORD_TOKEN: z.string({ error: 'the bot token from the Discord developer portal' }).trim().min(1, 'the bot token from the Discord developer portal'),
  DISCORD_APP_ID: optionalSnowflake,
  DISCORD_GUILD_ID: optionalSnowflake,
  DISCORD_API_URL: httpUrl.default('https://discord.com/api'),
  ALLOWED_ATTACHMENT_HOSTS: z
    .string()
    .default('cdn.discordapp.com,media.discordapp.net')
    .transform((value) => value.split(',').map((host) => host.trim().toLowerCase()).filter(Boolean))
    .refine((hosts) => hosts.length > 0 && hosts.every((host) => /^[a-z0-9.-]+(:\d{1,5})?$/.test(host)), 'a comma list of host or host:port'),
  REPLICATE_API_TOKEN: optionalString,
  REPLICATE_BASE_URL: httpUrl.default('https://api.replicate.com/v1'),
  REPLICATE_GENERATOR: modelRef.default(DEFAULT_GENERATOR),
  REPLICATE_TRAINER: modelRef.default(DEFAULT_TRAINER),
  REPLICATE_TRAINER_MODE: z.enum(['ladder', 'streaming'], { error: '"ladder" or "streaming"' }).default('ladder'),
  REPLICATE_TRAINING_DESTINATION: z.string().trim().regex(/^[\w.-]+\/[\w.-]+$/, 'owner/model').optional(),
  REPLICATE_CAPTIONER: modelRef.default(DEFAULT_CAPTIONER),
  HF_TOKEN: optionalString,
  CAPTION_BACKEND: z.enum(['replicate', 'hf'], { error: '"replicate" or "hf"' }).default('replicate'),
  HF_CAPTION_ENDPOINT: optionalHttpUrl,
  // A Hub model id, optionally with the router's `:provider` or `:policy` suffix.
  HF_CAPTION_MODEL: z
    .string()
    .trim()
    .regex(/^[\w.-]+\/[\w.-]+(:[\w-]+)?$/, 'a Hugging Face model id (owner/name, optionally :provider)')
    .default(DEFAULT_HF_CAPTION_MODEL),
  /** `/publish`: the model repository on the Hub; unset: `<the token's user>/kmplz-<server>`. */
  HF_PUBLISH_REPO: z.string().trim().regex(/^[\w.-]+\/[\w.-]+$/, 'owner/name of a Hugging Face model repository').optional(),
  /** Where the Hub is (tests point it at an emulator). */
  HF_HUB_URL: httpUrl.default('https://huggingface.co'),
  /** How a published model card credits the artist (a `/publish` option can say it instead). */
  ARTIST_CREDIT: z.string().trim().max(300, 'at most 300 characters').optional(),
  TRIGGER_WORD: z
    .string()
    .trim()
    .regex(/^[A-Za-z0-9_]{2,32}$/, 'one word of letters, digits or _ (2–32 characters)')
    .default('KMPLZ'),
  STORE_URL: z
    .string()
    .trim()
    .regex(/^(sqlite|redis|rediss|postgres|postgresql):\/\//, 'a sqlite://, redis:// or postgres:// URL')
    .default('sqlite://./data/kmplz.sqlite'),
  REDIS_URL: z.string().trim().regex(/^rediss?:\/\//, 'a redis:// URL').optional(),
  // Predictions in flight at once for the whole bot. Replicate runs
  // predictions in parallel on its own GPUs, so this is not one GPU's queue: 8 keeps a class's
  // burst moving at several pictures a second while staying far inside Replicate's limits
  // (600 prediction creates a minute, 3000 reads a minute: 8 polled about once a second is some
  // 640 reads a minute — the pace slows for more, see app.ts — and with PUBLIC_URL they are not
  // polled but told by webhook).
  GENERATION_CONCURRENCY: optionalNumber((n) => Number.isInteger(n) && n >= 1 && n <= 64, 'a whole number of predictions at once, 1–64').transform((n) => n ?? 8),
  JOB_LOCK_SECONDS: optionalNumber((n) => Number.isInteger(n) && n >= 2 && n <= 600, 'whole seconds, 2–600').transform((n) => n ?? 30),
  HTTP_PORT: optionalNumber((n) => Number.isInteger(n) && n >= 0 && n <= 65535, 'a port number (0–65535)'),
  PUBLIC_URL: optionalHttpUrl,
  REPLICATE_WEBHOOK_SECRET: z.string().trim().startsWith('whsec_', 'a secret starting with whsec_').optional(),
  SHOWCASE_CHANNEL_ID: optionalSnowflake,
  TRAINER_ROLE_ID: optionalSnowflake,
  DATA_DIR: z.string().trim().min(1).default('./data'),
  // Unset: each model's own hardware price (src/money/prices.ts).
  GPU_PRICE_PER_SECOND: optionalNumber((n) => n > 0, 'a positive number (USD per GPU second)'),
  BUDGET_USD: optionalNumber((n) => n > 0, 'a positive number (USD per server per month)'),
  // Own GPU (README "Run it on your own GPU"): Cog servers instead of Replicate.
  GPU_BACKEND: z.enum(['replicate', 'cog'], { error: '"replicate" or "cog"' }).default('replicate'),
  COG_GENERATOR_URL: optionalUrlList,
  COG_CAPTIONER_URL: optionalUrlList,
  COG_TRAINER_URL: optionalUrlList,
  COG_CALLBACK_URL: optionalHttpUrl,
  COG_WEBHOOK_TOKEN: z.string().trim().regex(/^[\w-]{16,128}$/, '16–128 letters, digits, _ or -').optional(),
  LOG_LEVEL: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'], { error: 'fatal, error, warn, info, debug, trace or silent' }).default('info'),
});

export type Config = Readonly<z.output<typeof configSchema>>;

/** Thrown when the environment cannot make a valid configuration; its message names every bad key. */
export class ConfigError extends Error {
  constructor(readonly problems: readonly { key: string; expected: string }[]) {
    super(
      `kmplz cannot start: fix these settings in .env or the environment:\n` +
        problems.map(({ key, expected }) => `  ${key}: ${expected}`).join('\n'),
    );
    this.name = 'ConfigError';
  }
}

/** Every configuration key: the public ones (docs/contract.md) in their order, then kmplz's own. */
export const configKeys = Object.keys(configSchema.shape) as (keyof z.input<typeof configSchema>)[];

/**
 * Adds `.env` of the working directory to `process.env` (keys already set win). No `.env` is
 * fine: the environment alone may carry the configuration (containers, systemd). The bot and the
 * npm scripts read their configuration the same way.
 */
export function loadDotEnv(): void {
  try {
    process.loadEnvFile('.env');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw error;
  }
}

export function parseConfig(env: Record<string, string | undefined>): Config {
  // An empty value (as in a copied .env.example) means "not set", so the default applies.
  const given = Object.fromEntries(
    configKeys.flatMap((key) => (env[key]?.trim() ? [[key, env[key]]] : [])),
  );
  const result = configSchema.safeParse(given);
  const problems = new Map<string, string>();
  for (const issue of result.error?.issues ?? []) {
    const key = String(issue.path[0] ?? '(unknown)');
    if (!problems.has(key)) problems.set(key, describeIssue(issue, given[key]));
  }
  // Checked on the given text, not the parsed config, so they are named in the same round as
  // malformed keys: one edit of .env fixes everything.
  for (const { key, expected } of crossKeyProblems(given)) if (!problems.has(key)) problems.set(key, expected);
  if (!result.success || problems.size > 0) throw new ConfigError([...problems].map(([key, expected]) => ({ key, expected })));
  return Object.freeze(result.data);
}

/** Keys that another key's value makes necessary. `given` holds only non-empty values. */
function crossKeyProblems(given: Record<string, string | undefined>): { key: string; expected: string }[] {
  const problems: { key: string; expected: string }[] = [];
  if (given.PUBLIC_URL && !given.HTTP_PORT) {
    problems.push({ key: 'HTTP_PORT', expected: 'required when PUBLIC_URL is set (webhooks are received on it)' });
  }
  problems.push(...cogProblems(given));
  if (given.CAPTION_BACKEND?.trim() === 'hf' && !given.HF_TOKEN) {
    problems.push({ key: 'HF_TOKEN', expected: 'required when CAPTION_BACKEND=hf' });
  } else if (given.CAPTION_BACKEND?.trim() === 'hf' && !given.HF_CAPTION_ENDPOINT && !given.HF_TOKEN?.trim().startsWith('hf_')) {
    // The router picks the provider only for Hugging Face's own tokens; @huggingface/inference
    // refuses any other key there ("Cannot select auto-router when using non-Hugging Face API key").
    problems.push({ key: 'HF_TOKEN', expected: 'a Hugging Face token (hf_…) when captions go through Inference Providers (no HF_CAPTION_ENDPOINT)' });
  }
  return problems;
}

/** GPU_BACKEND=cog: where each model's servers are, and how they reach kmplz back. */
function cogProblems(given: Record<string, string | undefined>): { key: string; expected: string }[] {
  if (given.GPU_BACKEND?.trim() !== 'cog') return [];
  const problems: { key: string; expected: string }[] = [];
  const needed = ['COG_GENERATOR_URL', 'COG_TRAINER_URL', ...(given.CAPTION_BACKEND?.trim() === 'hf' ? [] : ['COG_CAPTIONER_URL'])];
  for (const key of needed) if (!given[key]) problems.push({ key, expected: 'required when GPU_BACKEND=cog (a comma list of Cog server URLs)' });
  if (!given.HTTP_PORT) problems.push({ key: 'HTTP_PORT', expected: 'required when GPU_BACKEND=cog (the Cog servers send their webhooks and uploads to it)' });
  if (!given.COG_WEBHOOK_TOKEN) problems.push({ key: 'COG_WEBHOOK_TOKEN', expected: 'required when GPU_BACKEND=cog (the Cog containers run with WEBHOOK_AUTH_TOKEN set to it)' });
  // One Cog container serves one model: a URL named for two kinds would fail one schema check.
  const owner = new Map<string, string>();
  for (const key of ['COG_GENERATOR_URL', 'COG_CAPTIONER_URL', 'COG_TRAINER_URL']) {
    for (const url of (given[key] ?? '').split(',').map((u) => u.trim().replace(/\/+$/, '')).filter(Boolean)) {
      const other = owner.get(url);
      if (other && other !== key) problems.push({ key, expected: `${url} is also in ${other}: one Cog server runs one model (run two containers on one GPU, each on its own port)` });
      owner.set(url, key);
    }
  }
  return problems;
}

function describeIssue(issue: z.core.$ZodIssue, given: string | undefined): string {
  if (given === undefined && issue.code === 'invalid_type') return `missing — ${issue.message}`;
  return issue.message;
}

import { describe, expect, it } from 'vitest';
import { ConfigError, parseConfig } from '../src/config.js';

const minimal = { DISCORD_TOKEN: 'token' };

function problemsOf(env: Record<string, string>): string[] {
  try {
    parseConfig(env);
  } catch (error) {
    if (error instanceof ConfigError) return error.problems.map((p) => p.key);
    throw error;
  }
  return [];
}

describe('parseConfig', () => {
  it('applies the contract defaults', () => {
    const config = parseConfig(minimal);
    expect(config).toMatchObject({
      DISCORD_API_URL: 'https://discord.com/api',
      ALLOWED_ATTACHMENT_HOSTS: ['cdn.discordapp.com', 'media.discordapp.net'],
      REPLICATE_BASE_URL: 'https://api.replicate.com/v1',
      CAPTION_BACKEND: 'replicate',
      TRIGGER_WORD: 'KMPLZ',
      STORE_URL: 'sqlite://./data/kmplz.sqlite',
      DATA_DIR: './data',
      LOG_LEVEL: 'info',
      REPLICATE_TRAINER_MODE: 'ladder',
    });
    expect(config.REDIS_URL).toBeUndefined();
    expect(config.BUDGET_USD).toBeUndefined();
    // Unset: each model is priced from its own hardware (src/money/prices.ts).
    expect(config.GPU_PRICE_PER_SECOND).toBeUndefined();
  });

  it('is frozen', () => {
    const config = parseConfig(minimal);
    expect(Object.isFrozen(config)).toBe(true);
  });

  it('treats empty values (as in a copied .env.example) as unset', () => {
    const config = parseConfig({ ...minimal, REDIS_URL: '', HTTP_PORT: '', BUDGET_USD: '', SHOWCASE_CHANNEL_ID: '' });
    expect(config.REDIS_URL).toBeUndefined();
    expect(config.HTTP_PORT).toBeUndefined();
    expect(config.SHOWCASE_CHANNEL_ID).toBeUndefined();
  });

  it.each([
    [{}, ['DISCORD_TOKEN']],
    [{ DISCORD_TOKEN: '  ' }, ['DISCORD_TOKEN']],
    [{ ...minimal, DISCORD_API_URL: 'not a url' }, ['DISCORD_API_URL']],
    [{ ...minimal, DISCORD_API_URL: 'ftp://x' }, ['DISCORD_API_URL']],
    [{ ...minimal, CAPTION_BACKEND: 'openai' }, ['CAPTION_BACKEND']],
    [{ ...minimal, HTTP_PORT: '99999' }, ['HTTP_PORT']],
    [{ ...minimal, HTTP_PORT: 'eighty' }, ['HTTP_PORT']],
    [{ ...minimal, GPU_PRICE_PER_SECOND: '-1' }, ['GPU_PRICE_PER_SECOND']],
    [{ ...minimal, BUDGET_USD: 'lots' }, ['BUDGET_USD']],
    [{ ...minimal, STORE_URL: 'mysql://x' }, ['STORE_URL']],
    [{ ...minimal, REDIS_URL: 'http://x' }, ['REDIS_URL']],
    [{ ...minimal, TRAINER_ROLE_ID: 'admins' }, ['TRAINER_ROLE_ID']],
    [{ ...minimal, TRIGGER_WORD: 'two words' }, ['TRIGGER_WORD']],
    [{ ...minimal, REPLICATE_WEBHOOK_SECRET: 'abc' }, ['REPLICATE_WEBHOOK_SECRET']],
    [{ ...minimal, REPLICATE_TRAINING_DESTINATION: 'just-a-name' }, ['REPLICATE_TRAINING_DESTINATION']],
    [{ ...minimal, ALLOWED_ATTACHMENT_HOSTS: 'cdn.discordapp.com, http://evil/' }, ['ALLOWED_ATTACHMENT_HOSTS']],
    [{ ...minimal, LOG_LEVEL: 'loud' }, ['LOG_LEVEL']],
    [{ ...minimal, REPLICATE_TRAINER_MODE: 'steps' }, ['REPLICATE_TRAINER_MODE']],
    [{ ...minimal, PUBLIC_URL: 'https://bot.example' }, ['HTTP_PORT']],
    [{ ...minimal, CAPTION_BACKEND: 'hf' }, ['HF_TOKEN']],
    [{ DISCORD_API_URL: 'nope', LOG_LEVEL: 'x' }, ['DISCORD_TOKEN', 'DISCORD_API_URL', 'LOG_LEVEL']],
    // Rules between keys are named in the same round as malformed keys, not after they are fixed.
    [{ CAPTION_BACKEND: 'hf', PUBLIC_URL: 'https://bot.example', LOG_LEVEL: 'x' }, ['DISCORD_TOKEN', 'HF_TOKEN', 'HTTP_PORT', 'LOG_LEVEL']],
    [{ ...minimal, PUBLIC_URL: 'https://bot.example', HTTP_PORT: 'eighty' }, ['HTTP_PORT']],
    [{ ...minimal, CAPTION_BACKEND: 'HF' }, ['CAPTION_BACKEND']],
    [{ ...minimal, HF_CAPTION_MODEL: 'https://huggingface.co/Qwen/Qwen2.5-VL-7B-Instruct' }, ['HF_CAPTION_MODEL']],
    // Without an endpoint the router picks the provider, which it does for Hugging Face tokens only.
    [{ ...minimal, CAPTION_BACKEND: 'hf', HF_TOKEN: 'sk-provider-key' }, ['HF_TOKEN']],
    [{ ...minimal, CAPTION_BACKEND: 'hf', HF_TOKEN: 'sk-provider-key', HF_CAPTION_ENDPOINT: 'https://x.endpoints.huggingface.cloud' }, []],
  ])('names every bad key: %j', (env, keys) => {
    expect(problemsOf(env as Record<string, string>).sort()).toEqual([...keys].sort());
  });

  it('says what a missing key expects in one short message', () => {
    expect(() => parseConfig({})).toThrowError(/DISCORD_TOKEN: missing — the bot token/);
  });

  it('parses lists, ports and money', () => {
    const config = parseConfig({
      ...minimal,
      ALLOWED_ATTACHMENT_HOSTS: ' 127.0.0.1:8080 , CDN.example.org ',
      HTTP_PORT: '8080',
      BUDGET_USD: '12.5',
      DISCORD_API_URL: 'http://127.0.0.1:3000/api/',
    });
    expect(config.ALLOWED_ATTACHMENT_HOSTS).toEqual(['127.0.0.1:8080', 'cdn.example.org']);
    expect(config.HTTP_PORT).toBe(8080);
    expect(config.BUDGET_USD).toBe(12.5);
    expect(config.DISCORD_API_URL).toBe('http://127.0.0.1:3000/api');
  });

  it('captions on Hugging Face with a vision-language model unless told otherwise', () => {
    expect(parseConfig(minimal).HF_CAPTION_MODEL).toBe('meta-llama/Llama-4-Scout-17B-16E-Instruct');
    expect(parseConfig({ ...minimal, HF_CAPTION_MODEL: 'Qwen/Qwen2.5-VL-7B-Instruct:hyperbolic' }).HF_CAPTION_MODEL).toBe('Qwen/Qwen2.5-VL-7B-Instruct:hyperbolic');
  });

  it('takes the streaming trainer mode', () => {
    expect(parseConfig({ ...minimal, REPLICATE_TRAINER_MODE: 'streaming' }).REPLICATE_TRAINER_MODE).toBe('streaming');
  });
});

describe('.env.example', () => {
  it('lists every configuration key, each with a comment above it', async () => {
    const { readFile } = await import('node:fs/promises');
    const { configKeys } = await import('../src/config.js');
    const lines = (await readFile(new URL('../.env.example', import.meta.url), 'utf8')).split('\n');
    const listed = lines.flatMap((line, i) => {
      const match = /^([A-Z_]+)=/.exec(line);
      return match ? [{ key: match[1], commented: lines[i - 1]?.startsWith('#') }] : [];
    });
    expect(listed.map((l) => l.key).sort()).toEqual([...configKeys].sort());
    expect(listed.filter((l) => !l.commented)).toEqual([]);
  });

  it('parses as a valid configuration once the token is filled in', async () => {
    const { readFile } = await import('node:fs/promises');
    const text = await readFile(new URL('../.env.example', import.meta.url), 'utf8');
    const env = Object.fromEntries(text.split('\n').flatMap((line) => (/^[A-Z_]+=/.test(line) ? [line.split(/=(.*)/s).slice(0, 2)] : [])));
    expect(() => parseConfig({ ...env, DISCORD_TOKEN: 'token' })).not.toThrow();
  });
});

describe('GPU_BACKEND=cog', () => {
  const cog = { ...minimal, GPU_BACKEND: 'cog', COG_GENERATOR_URL: 'http://gpu:5001, http://gpu2:5001/', COG_CAPTIONER_URL: 'http://gpu:5002', COG_TRAINER_URL: 'http://gpu:5003', COG_WEBHOOK_TOKEN: 'a-token-of-16-chars', HTTP_PORT: '8080' };
  const problems = (env: Record<string, string>) => {
    try {
      parseConfig(env);
      return [];
    } catch (error) {
      return (error as ConfigError).problems.map((p) => p.key);
    }
  };

  it('reads each kind as a list of server URLs, no Replicate key needed', () => {
    const config = parseConfig(cog);
    expect(config.COG_GENERATOR_URL).toEqual(['http://gpu:5001', 'http://gpu2:5001']);
    expect(config.REPLICATE_API_TOKEN).toBeUndefined();
  });

  it('names every missing key: the servers, HTTP_PORT and the webhook token', () => {
    expect(problems({ ...minimal, GPU_BACKEND: 'cog' }).sort()).toEqual(['COG_CAPTIONER_URL', 'COG_GENERATOR_URL', 'COG_TRAINER_URL', 'COG_WEBHOOK_TOKEN', 'HTTP_PORT']);
    // With captions on Hugging Face no captioner server is needed.
    expect(problems({ ...cog, COG_CAPTIONER_URL: '', CAPTION_BACKEND: 'hf', HF_TOKEN: 'hf_x' })).toEqual([]);
  });

  it('refuses one server under two kinds (a Cog server runs one model)', () => {
    expect(problems({ ...cog, COG_CAPTIONER_URL: 'http://gpu:5001' })).toEqual(['COG_CAPTIONER_URL']);
  });
});

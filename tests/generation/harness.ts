import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import sharp from 'sharp';
import { parseConfig, type Config } from '../../src/config.js';
import { EventBus, type BotEvent } from '../../src/events.js';
import type { GenerationJob, GenerationParameters } from '../../src/generation/jobs.js';
import type { JobReplies, JobReplyState } from '../../src/generation/reply-state.js';
import { GenerationService, type GenerationServiceOptions } from '../../src/generation/service.js';
import type { TrainingRecord } from '../../src/training/records.js';
import type { GenerateOptions, GeneratedImage, GenerationRequest, Generator } from '../../src/services/types.js';
import { openMemoryStore, type Store } from '../../src/store/store.js';
import { captureLogger } from '../support/log.js';

/**
 * The generation service without Discord or Replicate: the memory store, a Generator whose
 * every call the test decides, and a reply port that records each state it is handed.
 */
export interface Harness {
  service: GenerationService;
  store: Store;
  config: Config;
  clock: { now: () => number; ms: number };
  generator: FakeGenerator;
  /** Every state shown, in the order the port got it. */
  shown: { how: 'edit' | 'finish'; jobId: string; state: JobReplyState }[];
  /** Every typed event the service emitted, in order. */
  events: BotEvent[];
  job: (id: string, overrides?: Omit<Partial<GenerationJob>, 'parameters'> & { parameters?: Partial<GenerationParameters> }) => GenerationJob;
  stop: () => Promise<void>;
}

export interface GeneratorCall {
  request: GenerationRequest;
  options: GenerateOptions;
  resolve: (image: GeneratedImage) => void;
  reject: (error: unknown) => void;
}

/** Each `generate` waits until the test settles it: `calls` lists them in order. */
export class FakeGenerator implements Generator {
  readonly calls: GeneratorCall[] = [];
  private waiters: ((call: GeneratorCall) => void)[] = [];

  generate(request: GenerationRequest, options: GenerateOptions = {}): Promise<GeneratedImage> {
    return new Promise((resolve, reject) => {
      const call = { request, options, resolve, reject };
      this.calls.push(call);
      options.signal?.addEventListener('abort', () => reject(new Error('aborted')));
      for (const waiter of this.waiters.splice(0)) waiter(call);
    });
  }

  /** The `index`th call, once it is made. */
  async call(index: number): Promise<GeneratorCall> {
    while (!this.calls[index]) await new Promise<GeneratorCall>((resolve) => this.waiters.push(resolve));
    return this.calls[index]!;
  }
}

export async function picture(predictionId: string, gpuSeconds = 3): Promise<GeneratedImage> {
  const data = await sharp({ create: { width: 64, height: 64, channels: 3, background: '#336699' } }).png().toBuffer();
  return { data, contentType: 'image/png', predictionId, gpuSeconds };
}

export const GUILD = '100000000000000001';

export async function startHarness(env: Record<string, string> = {}, options: Partial<GenerationServiceOptions> = {}): Promise<Harness> {
  const dataDir = await mkdtemp(path.join(tmpdir(), 'kmplz-generation-'));
  const config = parseConfig({ DISCORD_TOKEN: 't', REPLICATE_API_TOKEN: 'r8_test', DATA_DIR: dataDir, GPU_PRICE_PER_SECOND: '0.01', ...env });
  const store = openMemoryStore();
  const clock = { ms: Date.parse('2026-12-05T12:00:00Z'), now: () => clock.ms };
  // The one training the jobs draw with (its checkpoint's weights), through the repository's port.
  const training = { id: 't1', guildId: GUILD, checkpoints: [{ step: 500, weightsUrl: 'https://example.test/w.tar', createdAt: 0 }] } as unknown as TrainingRecord;
  const trainings: GenerationServiceOptions['trainings'] = { load: async ({ guildId, trainingId }) => (guildId === GUILD && trainingId === 't1' ? training : undefined) };
  const generator = new FakeGenerator();
  const shown: Harness['shown'] = [];
  const events = new EventBus((error) => {
    throw error;
  });
  const emitted: BotEvent[] = [];
  events.onAny((event) => emitted.push(event));
  const replies: JobReplies = {
    edit: async (target, state) => {
      shown.push({ how: 'edit', jobId: target.interactionToken, state });
      return true;
    },
    finish: async (target, state) => void shown.push({ how: 'finish', jobId: target.interactionToken, state }),
  };
  const service = new GenerationService({ store, config, clock, log: captureLogger().log, events, generator, trainings, replies, progressEditIntervalMs: 0, ...options });
  const job: Harness['job'] = (id, { parameters, ...overrides } = {}) => ({
    id,
    guildId: GUILD,
    userId: 'u1',
    parameters: { prompt: 'KMPLZ, a heron', steps: 20, guidance: 7, strength: 0.8, width: 1024, height: 1024, seed: 42, seedChosen: true, checkpoint: { trainingId: 't1', step: 500 }, ...parameters },
    userPrompt: 'a heron',
    notes: [],
    // The token names the job, so the recorded states say whose reply they went to.
    reply: { applicationId: 'app', interactionToken: id, tokenExpiresAt: Number.MAX_SAFE_INTEGER, channelId: 'c1', userId: 'u1' },
    uploadLimit: 10 * 1024 * 1024,
    status: 'queued',
    createdAt: clock.now(),
    locale: 'en',
    ...overrides,
  });
  return {
    service,
    store,
    config,
    clock,
    generator,
    shown,
    events: emitted,
    job,
    stop: async () => {
      await service.close(50);
      await rm(dataDir, { recursive: true, force: true });
    },
  };
}

/** Waits for `check` to hold, failing after a while (the lifecycle runs detached from the test). */
export async function until(check: () => boolean | Promise<boolean>, timeoutMs = 3000): Promise<void> {
  const started = Date.now();
  while (!(await check())) {
    if (Date.now() - started > timeoutMs) throw new Error('condition not met in time');
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
}

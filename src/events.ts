import type { SetupProblem } from './services/replicate/setup-check.js';
import type { TrainingStrategy } from './services/types.js';
import type { TrainingStatus } from './training/records.js';

/**
 * What happened in the bot, as typed events: what tests and metrics observe instead of log text
 * or store keys. Logs stay for people; an event's name and payload are a contract, so a test
 * that waits for `picture.delivered` keeps working when a log line is reworded.
 *
 * Each area adds its events to `BotEvents` in its own block. Payloads are plain data (ids,
 * steps, reasons), never Discord objects or secrets.
 */
export interface BotEvents {
  // ---- the app and the dispatcher ----
  /** An interaction was acknowledged, `ms` after it arrived (the 3-second rule; metrics and benches). */
  'interaction.acknowledged': { kind: string; ms: number };
  /** Once after the start: what is wrong with the Replicate setup (empty when nothing is). */
  'setup.checked': { problems: readonly SetupProblem[] };

  // ---- generation (/kmplz, /compare: src/generation) ----
  /** A job's answer went out (in its reply or, once that could not be edited, in the channel). */
  'generation.delivered': { jobId: string; guildId: string; kind: 'picture' | 'comparison'; gpuSeconds: number; reference?: string };
  /** A job ended without a picture; `told` is false when even its asker could not be told so. */
  'generation.ended': { jobId: string; guildId: string; status: 'failed' | 'canceled'; failure?: string; told: boolean };

  // ---- Replicate webhooks (src/http/replicate-webhook.ts) ----
  /** A delivery already taken (a redelivery): answered 200, nothing done. */
  'webhook.duplicate': { webhookId: string };
  /** A delivery refused before it was read: no signature, a wrong one, or too old. */
  'webhook.refused': { reason: 'missing-headers' | 'bad-signature' | 'stale'; webhookId?: string };

  // ---- interactions, answers and configuration (helper guards) ----
  /** An interaction's handler finished without an error. */
  'interaction.handled': InteractionFacts;
  /** A guard or the handler refused the interaction with a `UserError` (`code`), shown to the caller alone. */
  'interaction.refused': InteractionFacts & { code: string };
  /** An unexpected error: the caller was given `reference` to quote, the log holds the error under it. */
  'interaction.failed': InteractionFacts & { reference: string };
  /** The answer to a refused or failed interaction could not be sent (expired, deleted): nobody was told. */
  'interaction.answer-failed': InteractionFacts;
  /** Handling failed outside the dispatcher's own error handling: a bug in the dispatcher. */
  'interaction.crashed': { interactionId: string };
  /** A final answer (`Replier.finish`) reached neither the interaction's reply nor its channel. */
  'reply.undelivered': { channelId: string; userId: string };
  /** Discord answered 429: discord.js waits `retryAfterS` (the Retry-After header) and sends again. */
  'discord.rate-limited': { method: string; route: string; retryAfterS: number };
  /** A valid setting that will not work as meant, found at start (`key` names it). */
  'config.warning': { key: string; value: string; message: string };
  /** A configured model cannot serve: the features that need it are refused until a restart (`problem` in English). */
  'model-check.refused': { key: string; model: string; features: readonly string[]; problem: string };

  // ---- trainings (owner: src/training, src/voting) ----
  /** A confirmed training is stored and followed (its thread may still be opening). */
  'training.started': { guildId: string; trainingId: string; strategy: TrainingStrategy; steps: number };
  /** A checkpoint's preview went up in the thread (not when found again after a restart). */
  'training.preview-posted': { guildId: string; trainingId: string; step: number; messageId: string };
  /** MAX_DISCORD_REFUSALS permission refusals in a row: no more posts or edits for the training (`threadOpened` false: it fails). */
  'training.discord-gave-up': { guildId: string; trainingId: string; what: string; code: number; threadOpened: boolean };
  /** The training ended and is no longer followed: its end message is out, its winner (if any) active. */
  'training.settled': { guildId: string; trainingId: string; status: TrainingStatus; winner?: number };
  /** The vote closed (deadline, a trainer's Close or pick, a new training) and its result was announced. */
  'training.voting-closed': { guildId: string; trainingId: string; winner?: number };
}

/** Who asked what, as the dispatcher's log lines say it. */
export interface InteractionFacts {
  interactionId: string;
  kind: string;
  command?: string;
  customId?: string;
  userId: string;
  guildId?: string;
}

export type BotEventName = keyof BotEvents;
export type BotEvent = { [K in BotEventName]: { name: K; payload: BotEvents[K] } }[BotEventName];

/** Where events are emitted and heard (BotContext.events); parts that only emit take `Pick<BotEventBus, 'emit'>`. */
export interface BotEventBus {
  on<K extends BotEventName>(name: K, listener: (payload: BotEvents[K]) => void): () => void;
  /** Every event, for recorders (tests, metrics). */
  onAny(listener: (event: BotEvent) => void): () => void;
  emit<K extends BotEventName>(name: K, payload: BotEvents[K]): void;
}

/**
 * A small synchronous emitter. A listener that throws is reported to `onListenerError` and the
 * others still run: observing the bot must never break it.
 */
export class EventBus implements BotEventBus {
  private readonly listeners = new Map<BotEventName, Set<(payload: never) => void>>();
  private readonly anyListeners = new Set<(event: BotEvent) => void>();

  constructor(private readonly onListenerError: (error: unknown, name: string) => void = () => undefined) {}

  on<K extends BotEventName>(name: K, listener: (payload: BotEvents[K]) => void): () => void {
    let set = this.listeners.get(name);
    if (!set) this.listeners.set(name, (set = new Set()));
    set.add(listener as (payload: never) => void);
    return () => void set.delete(listener as (payload: never) => void);
  }

  onAny(listener: (event: BotEvent) => void): () => void {
    this.anyListeners.add(listener);
    return () => void this.anyListeners.delete(listener);
  }

  emit<K extends BotEventName>(name: K, payload: BotEvents[K]): void {
    for (const listener of this.listeners.get(name) ?? []) this.call(name, () => (listener as (payload: BotEvents[K]) => void)(payload));
    const event = { name, payload } as BotEvent;
    for (const listener of this.anyListeners) this.call(name, () => listener(event));
  }

  private call(name: string, fn: () => void): void {
    try {
      fn();
    } catch (error) {
      this.onListenerError(error, name);
    }
  }
}

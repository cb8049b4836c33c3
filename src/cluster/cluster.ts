import { randomBytes } from 'node:crypto';
import { Redis } from 'ioredis';
import type { Logger } from '../log.js';
import type { ReplicateRun } from '../services/replicate/client.js';

/**
 * What several bot processes need to agree on, and nothing more: who answers an interaction,
 * which processes are alive, and a way to tell the others something (cancel this job, wake
 * that training). One process alone (`soloCluster`) agrees with itself; with `REDIS_URL` the
 * processes agree through Redis (`redisCluster`).
 */
export interface Cluster {
  /** This run of this process; marks and claims carry it. */
  readonly bootId: string;
  /**
   * Whether this process is to answer the interaction (undefined: another one does). Real
   * Discord sends every event of a shard to every session identified for it, so with two
   * processes both see each interaction and exactly one must answer it. A claim taken over
   * from a process that died after acknowledging says so: the answer then edits that reply.
   */
  claimInteraction(interactionId: string): Promise<InteractionClaim | undefined>;
  /**
   * Whether this process holds the claim on the interaction: after a takeover, Discord may say
   * the interaction was already acknowledged — by the claimer that died before it could record
   * that — and the holder then answers by editing that reply instead of giving up.
   */
  holds(interactionId: string): Promise<boolean>;
  /** The claimer acknowledged the interaction; it is still handling it. */
  acknowledged(interactionId: string): Promise<void>;
  /** The claimer is done with the interaction (its work is handed to the queue, or answered). */
  handled(interactionId: string): Promise<void>;
  /** Whether the run `bootId` still lives (and so may still be doing what it marked as its own). */
  isAlive(bootId: string): Promise<boolean>;
  /** Whether another process is alive to take interactions this one, stopping, leaves alone. */
  othersAlive(): Promise<boolean>;
  publish(signal: ClusterSignal): Promise<void>;
  /** Signals from every process, this one included. */
  onSignal(listener: (signal: ClusterSignal) => void): () => void;
  /** For /healthz: can this process reach what it shares with the others? */
  ping(): Promise<boolean>;
  close(): Promise<void>;
}

export interface InteractionClaim {
  /** Acknowledged by a process that died before it was done: do not acknowledge again. */
  acknowledged: boolean;
}

export type ClusterSignal =
  | { type: 'cancel-job'; jobId: string }
  | { type: 'wake-training'; key: string }
  /** A verified, first-seen webhook about a prediction, for the process that follows it. */
  | { type: 'prediction-update'; prediction: ReplicateRun };

export function newBootId(): string {
  return randomBytes(6).toString('hex');
}

/** One process: every interaction is its own and it is the only run alive. */
export function soloCluster(bootId = newBootId()): Cluster {
  const listeners = new Set<(signal: ClusterSignal) => void>();
  return {
    bootId,
    claimInteraction: async () => ({ acknowledged: false }),
    holds: async () => true,
    acknowledged: async () => undefined,
    handled: async () => undefined,
    isAlive: async (id) => id === bootId,
    othersAlive: async () => false,
    async publish(signal) {
      for (const listener of listeners) listener(signal);
    },
    onSignal(listener) {
      listeners.add(listener);
      return () => listeners.delete(listener);
    },
    ping: async () => true,
    close: async () => undefined,
  };
}

export interface RedisClusterOptions {
  url: string;
  log: Logger;
  /** Key prefix, so several bots (or tests) can share one Redis. */
  prefix?: string;
  /**
   * How long a claimer has to acknowledge before another process answers in its place. Discord
   * gives 3 s; a live process acknowledges in tens of milliseconds, so a claim still unacknowledged
   * after one second belongs to a process that died (or hangs) between claiming and answering.
   * Later, while the claimer handles it, the others check on it at this pace.
   */
  takeoverAfterMs?: number;
  /** How often this process says it is alive, and how long the word lasts. */
  heartbeat?: { everyMs: number; ttlMs: number };
}

/** Compare-and-set: the claim moves to the taker only if it is still as the taker saw it. */
const TAKE_OVER_CLAIM = `
if redis.call('GET', KEYS[1]) == ARGV[1] then
  redis.call('SET', KEYS[1], ARGV[2], 'PX', ARGV[3])
  return 1
end
return 0`;

const TIMER_SLACK_MS = 50;
/** Interaction tokens last 15 minutes: after that nobody can answer anyway. */
const CLAIM_TTL_MS = 15 * 60_000;
/** A claim's value: `<bootId>` (claimed), `acked:<bootId>` (acknowledged, being handled), `handled`. */
const ACKED = 'acked:';
const HANDLED = 'handled';

export async function redisCluster(options: RedisClusterOptions): Promise<Cluster> {
  const { url, log } = options;
  const prefix = options.prefix ?? 'kmplz';
  const takeoverAfterMs = options.takeoverAfterMs ?? 1000;
  // Short, so that a process that died is known to be gone within seconds.
  const heartbeat = options.heartbeat ?? { everyMs: 1000, ttlMs: 3000 };
  const bootId = newBootId();
  // ioredis retries commands while it reconnects (Redis restarting), so callers see a delay, not an error.
  const redis = new Redis(url, { lazyConnect: true });
  const subscriber = new Redis(url, { lazyConnect: true });
  let lastError: Error | undefined;
  redis.on('error', (error: Error) => log.warn({ err: (lastError = error) }, 'redis connection error'));
  subscriber.on('error', (error: Error) => log.warn({ err: error }, 'redis subscriber error'));
  await Promise.all([redis.connect(), subscriber.connect()]).catch((error: unknown) => {
    // ioredis would go on retrying in the background; at start a Redis that is not there is a setup problem.
    redis.disconnect();
    subscriber.disconnect();
    // Its own rejection only says "Connection is closed."; the connection error says why.
    const reason = lastError ?? (error as Error);
    throw new Error(`REDIS_URL: cannot connect to Redis at ${redisAddress(url)}: ${reason.message}`, { cause: reason });
  });

  const channel = `${prefix}:signals`;
  const listeners = new Set<(signal: ClusterSignal) => void>();
  subscriber.on('message', (from: string, message: string) => {
    if (from !== channel) return;
    let signal: ClusterSignal;
    try {
      signal = JSON.parse(message) as ClusterSignal;
    } catch {
      log.warn({ message }, 'ignored a malformed cluster signal');
      return;
    }
    for (const listener of listeners) {
      try {
        listener(signal);
      } catch (error) {
        log.warn({ err: error, signal }, 'a cluster signal listener failed');
      }
    }
  });
  await subscriber.subscribe(channel);

  // Who is alive: each process's id, scored with the time its last word runs out.
  const aliveKey = `${prefix}:alive`;
  const claimKey = (id: string) => `${prefix}:interaction:${id}`;
  const beat = () =>
    redis
      .multi()
      .zadd(aliveKey, Date.now() + heartbeat.ttlMs, bootId)
      .zremrangebyscore(aliveKey, '-inf', Date.now())
      .exec()
      .catch((error: unknown) => log.warn({ err: error }, 'heartbeat failed'));
  // Stops the stand-by loops of interactions other processes answer.
  let closed = false;
  const isAlive = async (id: string) => id === bootId || Number((await redis.zscore(aliveKey, id)) ?? 0) > Date.now();
  await beat();
  const timer = setInterval(() => void beat(), heartbeat.everyMs);
  timer.unref();

  return {
    bootId,
    async claimInteraction(interactionId) {
      const key = claimKey(interactionId);
      if ((await redis.set(key, bootId, 'PX', CLAIM_TTL_MS, 'NX')) === 'OK') return { acknowledged: false };
      // Someone else claimed it. Give them the time a live process needs to acknowledge, then
      // watch them until they are done: a claimer that died before acknowledging, or after but
      // before handing the work on, leaves an interaction nobody would answer.
      for (const giveUpAt = Date.now() + CLAIM_TTL_MS; Date.now() < giveUpAt && !closed; ) {
        await new Promise((resolve) => setTimeout(resolve, takeoverAfterMs));
        if (closed) break;
        const [[, holder], [, ttlMs]] = (await redis.multi().get(key).pttl(key).exec()) as [[null, string | null], [null, number]];
        if (!holder || holder === HANDLED || holder === bootId) return undefined;
        const acknowledged = holder.startsWith(ACKED);
        if (acknowledged && (await isAlive(holder.slice(ACKED.length)))) continue;
        // An unacknowledged claim is given up only once its holder has had the full time to
        // acknowledge: the holder may be a process that has just taken it over itself. The
        // claim's age comes from its TTL (every claim is set for CLAIM_TTL_MS), so the
        // processes' clocks need not agree. (A claim seen after this process's first wait is at
        // least that old; the slack covers timers that fire a little early.)
        if (!acknowledged && CLAIM_TTL_MS - ttlMs < takeoverAfterMs - TIMER_SLACK_MS) continue;
        if ((await redis.eval(TAKE_OVER_CLAIM, 1, key, holder, bootId, String(CLAIM_TTL_MS))) !== 1) return undefined;
        log.warn({ interactionId, from: holder }, 'took over an interaction whose claimer stopped before it was done');
        return { acknowledged };
      }
      return undefined;
    },
    async holds(interactionId) {
      const holder = await redis.get(claimKey(interactionId));
      return holder === bootId || holder === ACKED + bootId;
    },
    async acknowledged(interactionId) {
      await redis.set(claimKey(interactionId), ACKED + bootId, 'PX', CLAIM_TTL_MS);
    },
    async handled(interactionId) {
      await redis.set(claimKey(interactionId), HANDLED, 'PX', CLAIM_TTL_MS);
    },
    isAlive,
    async othersAlive() {
      const alive = await redis.zrangebyscore(aliveKey, Date.now(), '+inf');
      return alive.some((id) => id !== bootId);
    },
    async publish(signal) {
      await redis.publish(channel, JSON.stringify(signal));
    },
    onSignal(listener) {
      listeners.add(listener);
      return () => listeners.delete(listener);
    },
    async ping() {
      return (await redis.ping().catch(() => undefined)) === 'PONG';
    },
    async close() {
      closed = true;
      clearInterval(timer);
      await redis.zrem(aliveKey, bootId).catch(() => undefined);
      await Promise.allSettled([subscriber.quit(), redis.quit()]);
    },
  };
}

/** Host and port of a Redis URL, without the password, for messages. */
function redisAddress(url: string): string {
  const parsed = new URL(url);
  return `${parsed.hostname}:${parsed.port || '6379'}`;
}

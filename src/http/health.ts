import { Status, type Client } from 'discord.js';
import type { JobQueue } from '../queue/job-queue.js';
import type { Store } from '../store/store.js';
import { TIMED_OUT, within } from '../util/within.js';
import type { Route } from './server.js';

const HEALTH_CHECK_MS = 2000;

export interface HealthSources {
  client: Client;
  store: Store;
  queue: JobQueue<unknown, unknown>;
  /** With REDIS_URL: whether this process reaches the Redis it shares with the others. */
  shared?: { ping(): Promise<boolean> };
  /** True once shutdown began: a stopping bot is not healthy, so orchestrators stop routing to it. */
  stopping(): boolean;
}

/**
 * `GET /healthz`: 200 when the gateway is connected, the store answers and the bot is not
 * shutting down; 503 otherwise, with each part's state in the body so an operator sees which.
 */
export function healthRoute({ client, store, queue, shared, stopping }: HealthSources): Route {
  return {
    method: 'GET',
    path: '/healthz',
    async handle() {
      // A queue on a Redis that is away would keep /healthz waiting: it answers within 2 s or counts as down.
      const [storeOk, stats, sharedOk] = await Promise.all([store.ping(), within(HEALTH_CHECK_MS, Promise.resolve(queue.stats())).catch(() => TIMED_OUT), shared && within(HEALTH_CHECK_MS, shared.ping())]);
      // isReady() stays true once the client was ready, through any later disconnect: the shards
      // say whether the gateway is connected now.
      const connected = client.isReady() && [...client.ws.shards.values()].every((shard) => shard.status === Status.Ready);
      const gateway = connected ? 'ready' : 'not connected';
      const queueOk = stats !== TIMED_OUT;
      const redisOk = sharedOk === undefined || sharedOk === true;
      const healthy = gateway === 'ready' && storeOk && queueOk && redisOk && !stopping();
      return {
        status: healthy ? 200 : 503,
        body: {
          status: healthy ? 'ok' : stopping() ? 'stopping' : 'unhealthy',
          gateway,
          store: storeOk ? 'ok' : 'not answering',
          queue: queueOk ? stats : 'not answering',
          ...(shared && { redis: redisOk ? 'ok' : 'not answering' }),
        },
      };
    },
  };
}

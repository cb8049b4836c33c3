import type { Client } from 'discord.js';
import type { JobQueue } from '../queue/job-queue.js';
import type { Store } from '../store/store.js';
import type { Route } from './server.js';

export interface HealthSources {
  client: Client;
  store: Store;
  queue: JobQueue<unknown, unknown>;
  /** True once shutdown began: a stopping bot is not healthy, so orchestrators stop routing to it. */
  stopping(): boolean;
}

/**
 * `GET /healthz`: 200 when the gateway is connected, the store answers and the bot is not
 * shutting down; 503 otherwise, with each part's state in the body so an operator sees which.
 */
export function healthRoute({ client, store, queue, stopping }: HealthSources): Route {
  return {
    method: 'GET',
    path: '/healthz',
    async handle() {
      const [storeOk, stats] = await Promise.all([store.ping(), queue.stats()]);
      const gateway = client.isReady() ? 'ready' : 'not connected';
      const healthy = gateway === 'ready' && storeOk && !stopping();
      return {
        status: healthy ? 200 : 503,
        body: {
          status: healthy ? 'ok' : stopping() ? 'stopping' : 'unhealthy',
          gateway,
          store: storeOk ? 'ok' : 'not answering',
          queue: stats,
        },
      };
    },
  };
}

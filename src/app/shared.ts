import type { Config } from '../config.js';
import { redisCluster, soloCluster, type Cluster } from '../cluster/cluster.js';
import type { JobRef } from '../generation/repository.js';
import type { JobEnd } from '../generation/runner.js';
import type { GenerationServiceOptions } from '../generation/service.js';
import type { Logger } from '../log.js';
import { BullJobQueue } from '../queue/bull-queue.js';
import { BullTasks, LocalTasks, type TaskRunner } from '../queue/tasks.js';

/**
 * What the processes of one bot share. Without `REDIS_URL` the bot is one process: the fair
 * queue and the trainings' followers live in it. With it, jobs and followers are BullMQ jobs in
 * Redis that any of the processes runs, and the processes agree on who answers what.
 */
export async function openShared(config: Config, log: Logger) {
  if (!config.REDIS_URL) {
    return { cluster: soloCluster(), tasks: new LocalTasks(log.child({ component: 'tasks' })) as TaskRunner, generationQueue: undefined, opened: async () => undefined };
  }
  const url = config.REDIS_URL;
  const lockDurationMs = config.JOB_LOCK_SECONDS * 1000;
  const stalledIntervalMs = Math.max(1000, lockDurationMs / 2);
  const cluster: Cluster = await redisCluster({ url, log: log.child({ component: 'cluster' }) });
  const tasks = new BullTasks({ url, log: log.child({ component: 'tasks' }), lockDurationMs, stalledIntervalMs });
  let queue: BullJobQueue<JobRef, JobEnd> | undefined;
  const generationQueue: GenerationServiceOptions['queue'] = (worker, limits) =>
    (queue = new BullJobQueue<JobRef, JobEnd>({ name: 'generation', url, worker, ...limits, cluster, log: log.child({ component: 'queue' }), lockDurationMs, stalledIntervalMs }));
  if (config.STORE_URL.startsWith('sqlite:')) {
    log.warn('REDIS_URL is set but STORE_URL is SQLite: processes on other machines will not see this store; use redis:// or postgres://');
  }
  log.info({ redis: url.replace(/\/\/[^@]*@/, '//***@') }, 'sharing jobs through Redis');
  return {
    cluster,
    tasks: tasks as TaskRunner,
    generationQueue,
    // Called once the generation service made its queue.
    opened: async () => {
      await Promise.all([tasks.open(), queue?.open()]);
    },
  };
}


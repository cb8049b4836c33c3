import type { Client } from 'discord.js';
import type { Clock } from '../clock.js';
import { spentThisMonth } from '../money/budget.js';
import type { JobQueue } from '../queue/job-queue.js';
import type { Store } from '../store/store.js';
import { TIMED_OUT, within } from '../util/within.js';
import type { Route } from './server.js';

/** Upper bounds (seconds) of the acknowledgement histogram: Discord's own limit is 3 s. */
const ACK_BUCKETS = [0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5];

/**
 * The bot's own counters, kept in memory and rendered in Prometheus' text format. Each process
 * counts what it did; a scraper sums across processes.
 */
export class Metrics {
  private readonly acknowledged = new Map<string, number>();
  private readonly ackBuckets = new Map<string, number[]>();
  private readonly ackSums = new Map<string, number>();
  private readonly jobs = new Map<string, number>();

  observeAck(kind: string, ms: number): void {
    this.acknowledged.set(kind, (this.acknowledged.get(kind) ?? 0) + 1);
    const buckets = this.ackBuckets.get(kind) ?? ACK_BUCKETS.map(() => 0);
    ACK_BUCKETS.forEach((bound, i) => {
      if (ms / 1000 <= bound) buckets[i]!++;
    });
    this.ackBuckets.set(kind, buckets);
    this.ackSums.set(kind, (this.ackSums.get(kind) ?? 0) + ms / 1000);
  }

  observeJob(outcome: string): void {
    this.jobs.set(outcome, (this.jobs.get(outcome) ?? 0) + 1);
  }

  render(gauges: { queue?: { waiting: number; running: number }; spend: { guildId: string; gpuSeconds: number; usd: number }[] }): string {
    const lines: string[] = [];
    const family = (name: string, type: string, help: string) => lines.push(`# HELP ${name} ${help}`, `# TYPE ${name} ${type}`);
    family('kmplz_interactions_total', 'counter', 'Interactions acknowledged, by kind.');
    for (const [kind, count] of this.acknowledged) lines.push(`kmplz_interactions_total{kind="${kind}"} ${count}`);
    family('kmplz_ack_latency_seconds', 'histogram', 'Time from receiving an interaction to acknowledging it.');
    for (const [kind, buckets] of this.ackBuckets) {
      ACK_BUCKETS.forEach((bound, i) => lines.push(`kmplz_ack_latency_seconds_bucket{kind="${kind}",le="${bound}"} ${buckets[i]}`));
      lines.push(`kmplz_ack_latency_seconds_bucket{kind="${kind}",le="+Inf"} ${this.acknowledged.get(kind) ?? 0}`);
      lines.push(`kmplz_ack_latency_seconds_sum{kind="${kind}"} ${this.ackSums.get(kind) ?? 0}`);
      lines.push(`kmplz_ack_latency_seconds_count{kind="${kind}"} ${this.acknowledged.get(kind) ?? 0}`);
    }
    // With Redis the queue is shared: these are every process's jobs.
    if (gauges.queue) {
      family('kmplz_queue_jobs', 'gauge', 'Generation jobs waiting and running, by state.');
      lines.push(`kmplz_queue_jobs{state="waiting"} ${gauges.queue.waiting}`, `kmplz_queue_jobs{state="running"} ${gauges.queue.running}`);
    }
    family('kmplz_jobs_total', 'counter', 'Generation jobs finished, by outcome.');
    for (const [outcome, count] of this.jobs) lines.push(`kmplz_jobs_total{outcome="${outcome}"} ${count}`);
    family('kmplz_gpu_seconds_month', 'gauge', 'Billed GPU seconds this calendar month (UTC), by server.');
    for (const s of gauges.spend) lines.push(`kmplz_gpu_seconds_month{guild="${s.guildId}"} ${s.gpuSeconds}`);
    family('kmplz_gpu_cost_usd_month', 'gauge', 'GPU cost this calendar month (UTC) in USD, by server.');
    for (const s of gauges.spend) lines.push(`kmplz_gpu_cost_usd_month{guild="${s.guildId}"} ${s.usd}`);
    return `${lines.join('\n')}\n`;
  }
}

/** `GET /metrics`: the counters above plus what is read at scrape time (queue depth, this month's spend). */
export function metricsRoute({ metrics, client, store, clock, queue }: { metrics: Metrics; client: Client; store: Store; clock: Clock; queue: JobQueue<unknown, unknown> }): Route {
  return {
    method: 'GET',
    path: '/metrics',
    async handle() {
      // Without an answer from the queue (Redis away) the scrape still gives everything else.
      const stats = await within(2000, Promise.resolve(queue.stats())).catch(() => TIMED_OUT);
      const spend = await Promise.all([...client.guilds.cache.keys()].map(async (guildId) => ({ guildId, ...(await spentThisMonth(store, clock, guildId)) })));
      return { status: 200, headers: { 'content-type': 'text/plain; version=0.0.4' }, body: metrics.render({ queue: typeof stats === 'object' ? stats : undefined, spend }) };
    },
  };
}

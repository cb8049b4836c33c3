import type { PlannedRun, Trainer, TrainingRunInput, TrainingSnapshot } from '../../src/services/types.js';
import { ladderPlan } from '../../src/training/plan.js';
import type { TrainingRecord } from '../../src/training/records.js';

/**
 * An in-memory `Trainer` for the run tracker's tests: runs are snapshots the test moves by hand,
 * and every call is counted, so a test can say "created once" or "found, not created again".
 */
export class FakeTrainer implements Trainer {
  readonly strategy = 'ladder' as const;
  readonly runs = new Map<string, TrainingSnapshot & { createdAt: number; input: TrainingRunInput }>();
  readonly calls = { upload: 0, deleteDataset: [] as string[], start: [] as TrainingRunInput[], cancel: [] as string[], find: 0 };
  /** Makes the next `start` fail after the run was created (the answer is lost on its way). */
  loseNextCreateAnswer = false;
  now = 1_000;
  private ids = 0;

  plan(steps: number, every: number): PlannedRun[] {
    return ladderPlan(steps, every);
  }

  async uploadDataset(_zip: Buffer, name: string): Promise<{ fileId: string; url: string }> {
    this.calls.upload++;
    return { fileId: `file-${this.calls.upload}`, url: `https://files.test/${this.calls.upload}/${name}` };
  }

  async deleteDataset(fileId: string): Promise<void> {
    this.calls.deleteDataset.push(fileId);
  }

  async start(input: TrainingRunInput): Promise<TrainingSnapshot> {
    this.calls.start.push(input);
    const id = `run-${++this.ids}`;
    const run = { id, status: 'starting' as const, weights: [], datasetUrl: input.datasetUrl, steps: input.run.steps, createdAt: this.now, input };
    this.runs.set(id, run);
    if (this.loseNextCreateAnswer) {
      this.loseNextCreateAnswer = false;
      throw new Error('socket hang up');
    }
    return strip(run);
  }

  async get(runId: string): Promise<TrainingSnapshot> {
    return strip(this.must(runId));
  }

  async cancel(runId: string): Promise<TrainingSnapshot> {
    this.calls.cancel.push(runId);
    const run = this.must(runId);
    if (run.status === 'starting' || run.status === 'processing') this.runs.set(runId, { ...run, status: 'canceled', gpuSeconds: run.startedAt === undefined ? undefined : 3 });
    return strip(this.must(runId));
  }

  async find(match: { datasetUrl: string; steps: number }, createdAfter: number): Promise<TrainingSnapshot | undefined> {
    this.calls.find++;
    const run = [...this.runs.values()].find((r) => r.datasetUrl === match.datasetUrl && r.steps === match.steps && r.createdAt >= createdAfter);
    return run && strip(run);
  }

  fromWebhook(body: unknown): TrainingSnapshot | undefined {
    return (body as { snapshot?: TrainingSnapshot }).snapshot;
  }

  /** Moves a run at the service (what the next poll or webhook says). */
  set(runId: string, change: Partial<TrainingSnapshot>): TrainingSnapshot {
    const run = { ...this.must(runId), ...change };
    this.runs.set(runId, run);
    return strip(run);
  }

  private must(runId: string) {
    const run = this.runs.get(runId);
    if (!run) throw new Error(`no run ${runId}`);
    return run;
  }
}

function strip({ createdAt: _createdAt, input: _input, ...snapshot }: TrainingSnapshot & { createdAt: number; input: TrainingRunInput }): TrainingSnapshot {
  return snapshot;
}

/** A running training of `steps` with a checkpoint every `every`, as begin stores it. */
export function runningTraining(guildId: string, id: string, steps = 750, every = 250, over: Partial<TrainingRecord> = {}): TrainingRecord {
  return {
    id,
    guildId,
    channelId: 'channel',
    startedBy: 'alice',
    status: 'running',
    steps,
    checkpointEvery: every,
    checkpoints: [],
    votes: {},
    createdAt: 0,
    strategy: 'ladder',
    seed: 42,
    imageCount: 8,
    runs: ladderPlan(steps, every).map((run) => ({ ...run, status: 'pending' as const })),
    ...over,
  };
}

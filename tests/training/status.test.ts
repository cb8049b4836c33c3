import { describe, expect, it } from 'vitest';
import type { TrainingRecord } from '../../src/training/records.js';
import { gpuSecondsSoFar } from '../../src/training/run-state.js';
import { renderStatus } from '../../src/views/training-status.js';

const base: TrainingRecord = {
  id: 'T1',
  guildId: 'G',
  channelId: 'C',
  startedBy: 'U',
  status: 'running',
  steps: 1000,
  checkpointEvery: 250,
  checkpoints: [],
  votes: {},
  createdAt: 0,
  strategy: 'ladder',
  runs: [250, 500, 750, 1000].map((steps) => ({ steps, checkpointSteps: [steps], status: 'pending' as const })),
  estimate: { gpuSeconds: 1000, trainingGpuSeconds: 900, previewGpuSeconds: 100, wallSeconds: 500, usd: 1.5 },
  previewGpuSeconds: 0,
};
const options = { now: 100_000, triggerWord: 'KMPLZ', prices: { training: 0.001, preview: 0.001 } };

describe('the status message', () => {
  it('before any step: starting, an empty bar, every checkpoint waiting, a Cancel button', () => {
    const status = renderStatus(base, options);
    expect(status.content).toMatch(/^\*\*⏳ Starting .*KMPLZ\*\* · ladder · 1000 steps, a checkpoint every 250\n▱{20} 0 \/ 1000\n/);
    expect(status.content).toMatch(/Checkpoints: ⏳ 250 · ⏳ 500 · ⏳ 750 · ⏳ 1000/);
    expect(JSON.stringify(status.components)).toContain('train:cancel:T1');
  });

  it('while training: the longest run’s bar, an ETA from the measured rate, the cost so far', () => {
    const running: TrainingRecord = {
      ...base,
      runs: [
        { steps: 250, checkpointSteps: [250], status: 'succeeded', gpuSeconds: 120, id: 'a' },
        { steps: 500, checkpointSteps: [500], status: 'processing', id: 'b', progress: { step: 400, total: 500 }, startedAt: 50_000 },
        { steps: 750, checkpointSteps: [750], status: 'canceled', id: 'c', gpuSeconds: 10 },
        { steps: 1000, checkpointSteps: [1000], status: 'processing', id: 'd', progress: { step: 500, total: 1000 }, progressFrom: { at: 50_000, step: 0 }, startedAt: 40_000 },
      ],
      checkpoints: [{ step: 250, createdAt: 1, previewUrl: 'https://discord.com/channels/G/T/M' }],
      previewGpuSeconds: 20,
    };
    const status = renderStatus(running, options);
    // 500 of 1000 in 50 s: 50 s more.
    expect(status.content).toContain(`▰▰▰▰▰▰▰▰▰▰▱▱▱▱▱▱▱▱▱▱ 500 / 1000 · done <t:${(100_000 + 50_000) / 1000}:R>`);
    // 120 + 10 billed + 20 previews + 50 s and 60 s running.
    expect(gpuSecondsSoFar(running, options.now)).toEqual({ seconds: 260, exact: false, previewSeconds: 20 });
    expect(status.content).toMatch(/Elapsed 1 min 40 s · cost so far 4 min 20 s of GPU ≈ \$0\.260 \(estimated \$1\.50\)/);
    // The runs at the trainer's price, the 20 s of previews at the generator's: 240 × 0.001 + 20 × 0.01.
    const priced = renderStatus(running, { ...options, prices: { training: 0.001, preview: 0.01 } });
    expect(priced.content).toMatch(/cost so far 4 min 20 s of GPU ≈ \$0\.440 /);
    expect(status.content).toMatch(/Checkpoints: ✅ \[250\]\(https:\/\/discord\.com\/channels\/G\/T\/M\) · ⏳ 500 · ✖️ 750 · ⏳ 1000/);
  });

  it('after a stop: the bar ends at the step stopped after; at the end no buttons and the exact cost', () => {
    const stopped: TrainingRecord = {
      ...base,
      status: 'succeeded',
      finishedAt: 60_000,
      stopAfter: { step: 500, by: 'U2', savedGpuSeconds: 300 },
      runs: base.runs!.map((run) => ({ ...run, id: String(run.steps), status: run.steps > 500 ? ('canceled' as const) : ('succeeded' as const), gpuSeconds: 100 })),
      checkpoints: [250, 500].map((step) => ({ step, createdAt: 1, previewUrl: `https://x/${step}` })),
    };
    const status = renderStatus(stopped, options);
    expect(status.content).toMatch(/^\*\*🏁 Finished: KMPLZ\*\*/);
    expect(status.content).toContain('▰▰▰▰▰▰▰▰▰▰▰▰▰▰▰▰▰▰▰▰ 500 / 500');
    expect(status.content).toMatch(/Elapsed 1 min 0 s · cost 6 min 40 s of GPU/);
    expect(status.content).toContain('Stopped after step 500 by <@U2>.');
    expect(status.components).toEqual([]);
  });
});

import { describe, expect, it } from 'vitest';
import { TRAINING_TIMING, checkpointSteps, describeStrategy, estimateTraining, ladderPlan, measuredSecondsPerStep, remainingRunSeconds, streamingPlan } from '../../src/training/plan.js';

describe('checkpoint plans', () => {
  it('makes a checkpoint every N steps and one at the end', () => {
    expect(checkpointSteps(1000, 250)).toEqual([250, 500, 750, 1000]);
    expect(checkpointSteps(1000, 300)).toEqual([300, 600, 900, 1000]);
    expect(checkpointSteps(250, 250)).toEqual([250]);
    expect(() => checkpointSteps(1000, 0)).toThrow(RangeError);
  });

  it('ladder: one run per checkpoint; streaming: one run yielding them all', () => {
    expect(ladderPlan(1000, 250)).toEqual([
      { steps: 250, checkpointSteps: [250] },
      { steps: 500, checkpointSteps: [500] },
      { steps: 750, checkpointSteps: [750] },
      { steps: 1000, checkpointSteps: [1000] },
    ]);
    expect(streamingPlan(1000, 250)).toEqual([{ steps: 1000, checkpointSteps: [250, 500, 750, 1000] }]);
  });
});

describe('estimates', () => {
  const options = { images: 10, samples: 3, pricePerSecond: 0.001, preview: { steps: 30, width: 1024, height: 1024 } };

  it('ladder GPU time is the sum of its runs (2.5× for four checkpoints), its wait the longest run', () => {
    const ladder = estimateTraining(ladderPlan(1000, 250), options);
    const streaming = estimateTraining(streamingPlan(1000, 250), options);
    const perStep = (e: typeof ladder) => e.trainingGpuSeconds;
    expect(perStep(ladder) - 4 * (TRAINING_TIMING.secondsPerRun + 10 * TRAINING_TIMING.secondsPerImage)).toBeCloseTo(2.5 * 1000 * TRAINING_TIMING.secondsPerStep);
    expect(ladder.wallSeconds).toBe(streaming.wallSeconds);
    // Same checkpoints, so the same previews: 4 × 3 pictures.
    expect(ladder.previewGpuSeconds).toBe(streaming.previewGpuSeconds);
    expect(ladder.previewGpuSeconds).toBeCloseTo(12 * (2 + 30 * 0.12));
    expect(ladder.usd).toBeCloseTo(ladder.gpuSeconds * 0.001);
  });

  it('says what the ladder costs compared with one training', () => {
    expect(describeStrategy('ladder', ladderPlan(1000, 250))).toMatch(/4 runs of 250 \/ 500 \/ 750 \/ 1000 steps.*\(2\.5× one training\)/);
    expect(describeStrategy('streaming', streamingPlan(1000, 250))).toMatch(/^streaming: one run/);
  });
});

describe('what canceling saves', () => {
  it('measures the rate from where progress was first seen', () => {
    expect(measuredSecondsPerStep({ at: 0, step: 100 }, 300, 100_000)).toBe(0.5);
    expect(measuredSecondsPerStep({ at: 0, step: 100 }, 100, 100_000)).toBeUndefined();
    expect(measuredSecondsPerStep(undefined, 100, 100_000)).toBeUndefined();
  });

  it('counts the remaining steps at the measured rate, or setup and all steps at the estimate before any', () => {
    expect(remainingRunSeconds({ steps: 1000, progress: { step: 300 }, progressFrom: { at: 0, step: 100 }, startedAt: 0 }, 10, 100_000)).toBe(700 * 0.5);
    expect(remainingRunSeconds({ steps: 1000 }, 10, 0)).toBe(TRAINING_TIMING.secondsPerRun + 10 * TRAINING_TIMING.secondsPerImage + 1000 * TRAINING_TIMING.secondsPerStep);
    expect(remainingRunSeconds({ steps: 1000, startedAt: 0 }, 10, 0)).toBe(10 * TRAINING_TIMING.secondsPerImage + 1000 * TRAINING_TIMING.secondsPerStep);
  });
});

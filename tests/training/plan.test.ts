import { describe, expect, it } from 'vitest';
import { STREAMING_TRAINING_TIMING, TRAINING_TIMING, checkpointSteps, wholeEpochSteps, describeStrategy, estimateTraining, ladderPlan, measuredSecondsPerStep, remainingRunSeconds, streamingPlan } from '../../src/training/plan.js';

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

describe('whole epochs (cog-sdxl trainer_pti.py)', () => {
  it.each([
    // [asked, images, trained]: an epoch is ceil(images / 4) steps, and only whole epochs run.
    [250, 64, 256],
    [500, 64, 512],
    [750, 64, 752],
    [1000, 64, 1008],
    [1000, 10, 1002],
    [250, 3, 250],
    [100, 4, 100],
    [100, 1, 100],
    [100, 100, 100],
    [100, 101, 104],
  ])('%i steps asked with %i drawings train %i', (asked, images, trained) => {
    expect(wholeEpochSteps(asked, images)).toBe(trained);
  });
});

describe('estimates', () => {
  const options = { images: 10, samples: 3, prices: { training: 0.001, preview: 0.002 }, preview: { steps: 30, width: 1024, height: 1024 } };

  it('ladder GPU time is the sum of its runs in whole epochs, its wait the longest run', () => {
    const ladder = estimateTraining(ladderPlan(1000, 250), { ...options, strategy: 'ladder' });
    const streaming = estimateTraining(streamingPlan(1000, 250), { ...options, strategy: 'streaming' });
    // 10 drawings at batch 4: 3 steps an epoch, so 252 + 501 + 750 + 1002 steps.
    const setup = TRAINING_TIMING.secondsPerRun + 10 * TRAINING_TIMING.secondsPerImage;
    expect(ladder.trainingGpuSeconds).toBeCloseTo(4 * setup + (252 + 501 + 750 + 1002) * TRAINING_TIMING.secondsPerStep);
    expect(ladder.wallSeconds).toBeCloseTo(setup + 1002 * TRAINING_TIMING.secondsPerStep);
    // kmplz's own trainer takes its steps as asked, at its own (H100-measured) rate.
    const S = STREAMING_TRAINING_TIMING;
    expect(streaming.wallSeconds).toBeCloseTo(S.secondsPerRun + 10 * S.secondsPerImage + 1000 * S.secondsPerStep);
    // Same checkpoints, so the same previews: 4 × 3 pictures.
    expect(ladder.previewGpuSeconds).toBe(streaming.previewGpuSeconds);
    expect(ladder.previewGpuSeconds).toBeCloseTo(12 * (2 + 30 * 0.12));
    // Runs at the trainer's price, previews at the generator's.
    expect(ladder.usd).toBeCloseTo(ladder.trainingGpuSeconds * 0.001 + ladder.previewGpuSeconds * 0.002);
  });

  it('says what a rung is and what the ladder costs compared with one training', () => {
    expect(describeStrategy('ladder', ladderPlan(1000, 250), 64)).toMatch(/4 separate trainings of 250 \/ 500 \/ 750 \/ 1000 steps.*not a point of one run.*\(2\.5× one training\).*whole epochs \(64 drawings at batch 4 = 16 steps each\), so they really train 256 \/ 512 \/ 752 \/ 1008 steps/);
    expect(describeStrategy('ladder', ladderPlan(1000, 250), 4)).not.toMatch(/epochs/);
    expect(describeStrategy('streaming', streamingPlan(1000, 250), 64)).toMatch(/^streaming: one run/);
  });
});

describe('what canceling saves', () => {
  it('measures the rate from where progress was first seen', () => {
    expect(measuredSecondsPerStep({ at: 0, step: 100 }, 300, 100_000)).toBe(0.5);
    expect(measuredSecondsPerStep({ at: 0, step: 100 }, 100, 100_000)).toBeUndefined();
    expect(measuredSecondsPerStep(undefined, 100, 100_000)).toBeUndefined();
  });

  it('counts the remaining steps at the measured rate, or setup and all steps at the estimate before any', () => {
    expect(remainingRunSeconds({ steps: 1000, progress: { step: 300 }, progressFrom: { at: 0, step: 100 }, startedAt: 0 }, 10, 100_000, 'streaming')).toBe(700 * 0.5);
    const S = STREAMING_TRAINING_TIMING;
    expect(remainingRunSeconds({ steps: 1000 }, 10, 0, 'streaming')).toBeCloseTo(S.secondsPerRun + 10 * S.secondsPerImage + 1000 * S.secondsPerStep);
    expect(remainingRunSeconds({ steps: 1000, startedAt: 0 }, 10, 0, 'streaming')).toBeCloseTo(10 * S.secondsPerImage + 1000 * S.secondsPerStep);
    // A ladder rung runs on to the end of its last epoch: 1002 steps with 10 drawings.
    expect(remainingRunSeconds({ steps: 1000, startedAt: 0 }, 10, 0)).toBeCloseTo(10 * TRAINING_TIMING.secondsPerImage + 1002 * TRAINING_TIMING.secondsPerStep);
  });
});

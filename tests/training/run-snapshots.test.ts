import { describe, expect, it } from 'vitest';
import type { TrainingSnapshot } from '../../src/services/types.js';
import type { TrainingRecord, TrainingRunRecord } from '../../src/training/records.js';
import { mergeRun, runIndexOf, withRun } from '../../src/training/run-snapshots.js';

const run = (over: Partial<TrainingRunRecord> = {}): TrainingRunRecord => ({ steps: 500, checkpointSteps: [500], status: 'pending', ...over });
const snap = (over: Partial<TrainingSnapshot> = {}): TrainingSnapshot => ({ id: 'r1', status: 'processing', weights: [], ...over });

describe('mergeRun: polls and webhooks in any order fold into one run', () => {
  it.each([
    { case: 'status moves forward', before: run({ id: 'r1', status: 'starting' }), snapshot: snap({ status: 'processing' }), expected: { status: 'processing' } },
    { case: 'a late, older snapshot does not move it back', before: run({ id: 'r1', status: 'succeeded' }), snapshot: snap({ status: 'processing' }), expected: { status: 'succeeded' } },
    { case: 'the first snapshot gives the id', before: run(), snapshot: snap({ status: 'starting' }), expected: { id: 'r1', status: 'starting' } },
    {
      case: 'progress only goes up',
      before: run({ id: 'r1', status: 'processing', progress: { step: 300, total: 500 } }),
      snapshot: snap({ progress: { step: 200, total: 500 } }),
      expected: { progress: { step: 300, total: 500 } },
    },
    {
      case: 'the first progress is where the pace is measured from',
      before: run({ id: 'r1', status: 'processing' }),
      snapshot: snap({ progress: { step: 40, total: 500 } }),
      expected: { progress: { step: 40, total: 500 }, progressFrom: { at: 1000, step: 40 } },
    },
    { case: 'start time is kept once known', before: run({ id: 'r1', status: 'processing', startedAt: 5 }), snapshot: snap({ startedAt: 9 }), expected: { startedAt: 5 } },
    {
      case: 'GPU time and error come with the end',
      before: run({ id: 'r1', status: 'processing' }),
      snapshot: snap({ status: 'failed', gpuSeconds: 42, error: 'CUDA out of memory' }),
      expected: { status: 'failed', gpuSeconds: 42, error: 'CUDA out of memory' },
    },
  ])('$case', ({ before, snapshot, expected }) => {
    expect(mergeRun(before, snapshot, 1000)).toMatchObject(expected);
  });
});

describe('runIndexOf: which stored run a snapshot is about', () => {
  const record = {
    dataset: { url: 'https://files/zip', fileId: 'f' },
    runs: [run({ id: 'r250', steps: 250 }), run({ steps: 500 }), run({ steps: 750 })],
  } as unknown as TrainingRecord;
  it.each([
    { case: 'by id', snapshot: snap({ id: 'r250' }), index: 0 },
    { case: 'a run whose create answer is not stored yet: same steps and zip', snapshot: snap({ id: 'new', steps: 500, datasetUrl: 'https://files/zip' }), index: 1 },
    { case: 'another zip is not ours', snapshot: snap({ id: 'new', steps: 500, datasetUrl: 'https://files/other' }), index: -1 },
    { case: 'unknown steps', snapshot: snap({ id: 'new', steps: 1000, datasetUrl: 'https://files/zip' }), index: -1 },
  ])('$case', ({ snapshot, index }) => {
    expect(runIndexOf(record, snapshot)).toBe(index);
  });

  it('withRun changes that run alone', () => {
    const changed = withRun(record, 2, (r) => ({ ...r, status: 'canceled' }));
    expect(changed.runs!.map((r) => r.status)).toEqual(['pending', 'pending', 'canceled']);
    expect(record.runs![2]!.status).toBe('pending');
  });
});

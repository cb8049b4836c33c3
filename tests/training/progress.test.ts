import { describe, expect, it } from 'vitest';
import { estimateEta, parseTrainingProgress } from '../../src/training/progress.js';

const bar = (step: number, total: number, description = 'Steps') => {
  const percent = Math.floor((step / total) * 100);
  return `${description}: ${String(percent).padStart(3)}%|${'█'.repeat(Math.floor(percent / 10)).padEnd(10)}| ${step}/${total} [00:${String(step % 60).padStart(2, '0')}<00:30, 24.5it/s, loss=0.1${step}, lr=0.0001]`;
};

const preprocessing = [
  'Extracting zip file...',
  'Generating 20 captions...',
  '100%|██████████| 20/20 [00:04<00:00,  4.61it/s]',
  'Generating masks...',
  '100%|██████████| 20/20 [00:02<00:00,  8.98it/s]',
  'Loading pipeline components...: 100%|██████████| 7/7 [00:01<00:00,  5.21it/s]',
].join('\n');

describe('parseTrainingProgress', () => {
  it.each([
    { name: 'no logs yet', logs: '', progress: undefined },
    { name: 'setup lines only', logs: 'Loading model\nDownloading weights\n', progress: undefined },
    { name: 'a tqdm bar with a description', logs: bar(250, 1000), progress: { step: 250, total: 1000 } },
    {
      name: 'the documented example',
      logs: 'Steps:  25%|██▌ | 250/1000 [00:10<00:30, 24.5it/s, loss=0.1]',
      progress: { step: 250, total: 1000 },
    },
    { name: 'a bar without description', logs: ' 50%|█████     | 500/1000 [01:40<01:40,  5.00it/s]', progress: { step: 500, total: 1000 } },
    {
      name: '\\r-separated updates on one line',
      logs: `${preprocessing}\n${[1, 2, 3, 120, 121].map((step) => bar(step, 1000)).join('\r')}`,
      progress: { step: 121, total: 1000 },
    },
    {
      name: '\\r\\n line ends',
      logs: `${bar(10, 1000)}\r\n${bar(11, 1000)}\r\n`,
      progress: { step: 11, total: 1000 },
    },
    {
      name: 'a partial trailing update cut inside the counter',
      logs: `${bar(300, 1000)}\r${bar(301, 1000)}\rSteps:  30%|███       | 302/10`,
      progress: { step: 301, total: 1000 },
    },
    {
      name: 'a partial trailing update cut after the counter',
      logs: `${bar(300, 1000)}\rSteps:  30%|███       | 302/1000 [00:1`,
      progress: { step: 302, total: 1000 },
    },
    {
      name: 'other output printed after the bar',
      logs: `${bar(999, 1000)}\r${bar(1000, 1000)}\nSaving LoRA weights to trained_model.tar\nDone.`,
      progress: { step: 1000, total: 1000 },
    },
    { name: 'numbers that are not a counter', logs: 'Using 2/4 GPUs\nresolution 768/1024', progress: undefined },
    { name: 'an impossible counter', logs: `${bar(10, 1000)}\rweird 5/0 [\rodd 12/5 [`, progress: { step: 10, total: 1000 } },
  ])('$name', ({ logs, progress }) => {
    expect(parseTrainingProgress(logs)).toEqual(progress);
  });

  it.each([
    { name: 'before training, the captioning bars do not count', logs: preprocessing, expectedTotal: 1000, progress: undefined },
    { name: 'without a total they would', logs: preprocessing, expectedTotal: undefined, progress: { step: 7, total: 7 } },
    {
      name: 'the training bar is found among the others',
      logs: `${preprocessing}\n${bar(42, 250)}\rValidation: 100%|██████████| 4/4 [00:01<00:00]`,
      expectedTotal: 250,
      progress: { step: 42, total: 250 },
    },
  ])('with the run total: $name', ({ logs, expectedTotal, progress }) => {
    expect(parseTrainingProgress(logs, expectedTotal)).toEqual(progress);
  });

  it('handles a long log of \\r updates', () => {
    const logs = `${preprocessing}\n${Array.from({ length: 1000 }, (_, index) => bar(index + 1, 1000)).join('\r')}\r`;
    expect(parseTrainingProgress(logs, 1000)).toEqual({ step: 1000, total: 1000 });
  });
});

describe('estimateEta', () => {
  const startedAt = new Date('2025-01-01T12:00:00Z');
  const at = (seconds: number) => new Date(startedAt.getTime() + seconds * 1000);

  it.each([
    { name: 'a quarter done in 100 s', step: 250, total: 1000, elapsed: 100, remainingMs: 300_000 },
    { name: 'half done in 60 s', step: 500, total: 1000, elapsed: 60, remainingMs: 60_000 },
    { name: 'done', step: 1000, total: 1000, elapsed: 400, remainingMs: 0 },
    { name: 'one step in', step: 1, total: 250, elapsed: 2, remainingMs: 498_000 },
  ])('$name → $remainingMs ms left', ({ step, total, elapsed, remainingMs }) => {
    expect(estimateEta({ step, total, startedAt, now: at(elapsed) })).toEqual({
      remainingMs,
      finishesAt: new Date(at(elapsed).getTime() + remainingMs),
    });
  });

  it.each([
    { name: 'no step yet', step: 0, total: 1000, elapsed: 30 },
    { name: 'no total', step: 5, total: 0, elapsed: 30 },
    { name: 'a clock that went backwards', step: 5, total: 1000, elapsed: -10 },
  ])('cannot estimate with $name', ({ step, total, elapsed }) => {
    expect(estimateEta({ step, total, startedAt, now: at(elapsed) })).toBeUndefined();
  });
});

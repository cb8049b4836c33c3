import { describe, expect, it } from 'vitest';
import type { DatasetImage } from '../../src/dataset/records.js';
import type { TrainingItem } from '../../src/training/dataset-export.js';
import { choosePreviewSamples, previewLabels } from '../../src/training/preview.js';

const item = (name: string, caption?: string): TrainingItem => ({
  image: { name, caption } as DatasetImage,
  caption: caption ?? 'KMPLZ, a drawing',
});

describe('preview prompts', () => {
  const items = [
    item('a-cat', 'KMPLZ, a drawing of a cat'),
    item('b-hoodie', 'KMPLZ, a drawing of a girl in a hoodie'),
    item('c-blank'),
    item('d-tree', 'KMPLZ, a drawing of a tree'),
    item('e-boat', 'KMPLZ, a drawing of a boat'),
  ];

  it('takes captions spread over the dataset, then the sad girl in a hoodie next to the closest drawing', () => {
    const samples = choosePreviewSamples(items, 'KMPLZ', 1000);
    expect(samples.map((s) => [s.prompt, s.reference])).toEqual([
      ['KMPLZ, a drawing of a cat', 'a-cat'],
      ['KMPLZ, a drawing of a tree', 'd-tree'],
      ['KMPLZ, a drawing of a sad girl in a hoodie and jeans', 'b-hoodie'],
    ]);
  });

  it('fixes a different seed per prompt, the same for the same training seed', () => {
    const seeds = choosePreviewSamples(items, 'KMPLZ', 1000).map((s) => s.seed);
    expect(new Set(seeds).size).toBe(3);
    expect(choosePreviewSamples(items, 'KMPLZ', 1000).map((s) => s.seed)).toEqual(seeds);
    expect(seeds.every((seed) => Number.isInteger(seed) && seed >= 0 && seed < 2 ** 31)).toBe(true);
  });

  it('with no captions yet, previews the sad girl alone', () => {
    expect(choosePreviewSamples([item('x'), item('y')], 'KMPLZ', 1).map((s) => s.prompt)).toEqual(['KMPLZ, a drawing of a sad girl in a hoodie and jeans']);
  });
});

describe('preview sheet labels', () => {
  it('name the step, or only the letter while a blind vote runs', () => {
    expect(previewLabels({ steps: 1000 }, 250, 'KMPLZ')).toEqual({ title: 'KMPLZ · step 250 of 1000', filename: 'preview-step-250' });
    const blind = { '250': 'C' };
    expect(previewLabels({ steps: 1000, blind }, 250, 'KMPLZ')).toEqual({ title: 'KMPLZ · checkpoint C', filename: 'preview-C' });
    expect(previewLabels({ steps: 1000, blind, votingClosedAt: 1 }, 250, 'KMPLZ').title).toBe('KMPLZ · step 250 of 1000');
  });
});

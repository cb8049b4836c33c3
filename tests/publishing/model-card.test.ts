import { load } from 'js-yaml';
import { describe, expect, it } from 'vitest';
import { modelCard, type ModelCardInput } from '../../src/publishing/model-card.js';

const input: ModelCardInput = {
  repo: 'teacher/kmplz-class',
  triggerWord: 'KMPLZ',
  tokenMap: { KMPLZ: '<s0><s1>' },
  credit: 'kimplz',
  step: 500,
  training: { steps: 1000, checkpointEvery: 250, images: 64, seed: 7, strategy: 'ladder', rank: 32, trainer: 'stability-ai/sdxl' },
  vote: { counts: [[250, 1], [500, 3]], chosenBy: 'the vote’s winner' },
  images: [{ path: 'images/step-500/showcase-1.png', prompt: 'KMPLZ, a "quoted": prompt\nwith a line break # and a hash' }],
  hasEmbeddings: true,
};

const frontOf = (card: string) => load(/^---\n([\s\S]*?)\n---\n/.exec(card)![1]!) as Record<string, unknown>;

describe('model card', () => {
  it('keeps a prompt’s quotes, colons, hashes and line breaks inside its widget text', () => {
    const front = frontOf(modelCard(input));
    expect(front.widget).toEqual([{ text: input.images[0]!.prompt, output: { url: 'images/step-500/showcase-1.png' } }]);
    expect(front.base_model).toBe('stabilityai/stable-diffusion-xl-base-1.0');
  });

  it('is the same text for the same input (so a second publish sends nothing), and says where the credit is missing', () => {
    expect(modelCard(input)).toBe(modelCard({ ...input }));
    const uncredited = modelCard({ ...input, credit: undefined });
    expect(uncredited).toMatch(/has not set ARTIST_CREDIT/);
    expect(modelCard({ ...input, images: [] })).not.toMatch(/^widget:/m);
  });

  it('tells diffusers users to write the trained tokens where kmplz takes the trigger word', () => {
    const card = modelCard(input);
    expect(card).toContain('tokens = ["<s0>","<s1>"]');
    expect(card).toContain('image = pipe("<s0><s1>, a drawing of a sad girl in a hoodie and jeans")');
    expect(card).toContain('| 500 (published) | 3 |');
  });
});

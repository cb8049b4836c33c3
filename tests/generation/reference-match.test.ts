import { describe, expect, it } from 'vitest';
import { createReferenceMatcher, tokenize } from '../../src/generation/reference-match.js';

const triggerWord = 'KMPLZ';

const dataset = [
  { name: '01.png', caption: 'KMPLZ, a drawing of a girl' },
  { name: '02.png', caption: 'KMPLZ, a drawing of a girl in a hoodie and jeans' },
  { name: '03.png', caption: 'KMPLZ, a drawing of a cat sleeping on a chair' },
  { name: '04.png', caption: 'KMPLZ, a drawing of two puppies in the snow' },
  { name: '05.png', caption: 'KMPLZ, a drawing of a boy with glasses and boxes' },
  { name: '06.png', caption: 'KMPLZ, a sketch of a girl with a red umbrella in the rain' },
];

describe('tokenize', () => {
  it.each([
    { text: 'KMPLZ, a drawing of a sad girl in a hoodie', tokens: ['sad', 'girl', 'hoody'] },
    { text: 'Two PUPPIES and a puppy', tokens: ['two', 'puppy', 'puppy'] },
    { text: 'hoodies, a hoodie', tokens: ['hoody', 'hoody'] },
    { text: 'boxes, glasses, dresses, cats', tokens: ['box', 'glass', 'dress', 'cat'] },
    { text: 'a bus, his dress', tokens: ['bus', 'his', 'dress'] },
    { text: 'drawings of sketches', tokens: [] },
    { text: 'kmplz-style cat', tokens: ['cat'] },
    { text: 'café au lait', tokens: ['café', 'au', 'lait'] },
  ])('$text → $tokens', ({ text, tokens }) => {
    expect(tokenize(text, triggerWord)).toEqual(tokens);
  });
});

describe('createReferenceMatcher', () => {
  const match = createReferenceMatcher(dataset, { triggerWord });

  it.each([
    { prompt: 'sad girl in a hoodie', name: '02.png', why: 'girl + hoodie beats just girl' },
    { prompt: 'KMPLZ, a drawing of a sad girl in a hoodie and jeans', name: '02.png', why: 'the trigger and the stop words do not count' },
    { prompt: 'a girl', name: '01.png', why: 'a caption about nothing else is closest' },
    { prompt: 'a puppy playing', name: '04.png', why: 'plurals meet singulars' },
    { prompt: 'cats', name: '03.png', why: 'plurals meet singulars the other way' },
    { prompt: 'a girl in the rain', name: '06.png', why: 'the rarer word decides' },
    { prompt: 'a man with a box', name: '05.png', why: 'boxes → box' },
  ])('$prompt → $name ($why)', ({ prompt, name }) => {
    const result = match(prompt);
    expect(result?.reference.name).toBe(name);
    expect(result?.matched).toBe(true);
    expect(result?.score).toBeGreaterThan(0);
    expect(result?.score).toBeLessThanOrEqual(1);
  });

  it('scores an exact caption as a perfect match', () => {
    expect(match('a cat sleeping on a chair')?.score).toBeCloseTo(1, 10);
  });

  it.each([
    {
      name: 'equal captions go to the first name',
      references: [
        { name: 'b.png', caption: 'a fox' },
        { name: 'a.png', caption: 'a fox' },
      ],
      prompt: 'fox',
      expected: 'a.png',
    },
    {
      name: 'equal scores go to the first name whatever the dataset order',
      references: [
        { name: 'z.png', caption: 'a fox and a tree' },
        { name: 'm.png', caption: 'a fox and a cloud' },
      ],
      prompt: 'a fox',
      expected: 'm.png',
    },
  ])('ties: $name', ({ references, prompt, expected }) => {
    expect(createReferenceMatcher(references, { triggerWord })(prompt)?.reference.name).toBe(expected);
    expect(createReferenceMatcher([...references].reverse(), { triggerWord })(prompt)?.reference.name).toBe(expected);
  });

  it.each(['a dragon over a castle', 'spaceship', 'KMPLZ', ''])('with no shared word, "%s" gets the same pick every time', (prompt) => {
    const first = match(prompt);
    expect(first).toMatchObject({ score: 0, matched: false });
    expect(match(prompt)?.reference).toBe(first?.reference);
    expect(createReferenceMatcher([...dataset].reverse(), { triggerWord })(prompt)?.reference.name).toBe(first?.reference.name);
  });

  it('spreads unmatched prompts over the dataset', () => {
    const picks = new Set(
      ['dragon', 'castle', 'spaceship', 'robot', 'ocean', 'mountain', 'pizza', 'guitar', 'tiger', 'rocket'].map(
        (prompt) => match(prompt)?.reference.name,
      ),
    );
    expect(picks.size).toBeGreaterThan(2);
  });

  it('has nothing to pick from an empty dataset', () => {
    expect(createReferenceMatcher([], { triggerWord })('a girl')).toBeUndefined();
  });
});

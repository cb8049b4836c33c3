import { describe, expect, it } from 'vitest';
import { cleanCaption, toTrainingCaption } from '../../src/captioning/clean.js';

const captions = [
  { raw: 'Caption: a drawing of a girl', clean: 'a drawing of a girl' },
  { raw: 'caption:a cat on a chair', clean: 'a cat on a chair' },
  { raw: 'Caption: Caption: a cat', clean: 'a cat' },
  { raw: 'arafed image of a woman in a hoodie', clean: 'image of a woman in a hoodie' },
  { raw: 'there is a arafed woman sitting on a bench', clean: 'a woman sitting on a bench' },
  { raw: 'an araffe man with a hat', clean: 'a man with a hat' },
  { raw: 'a arafly elephant', clean: 'an elephant' },
  { raw: 'a arrafed araffed dog', clean: 'a dog' },
  { raw: 'a a drawing of a girl girl', clean: 'a drawing of a girl' },
  { raw: 'a girl arafed girl', clean: 'a girl' },
  { raw: 'a drawing of a boy and', clean: 'a drawing of a boy' },
  { raw: 'a drawing of a boy with a dog there is', clean: 'a drawing of a boy with a dog' },
  { raw: 'a girl, and the', clean: 'a girl' },
  { raw: 'a woman and.', clean: 'a woman' },
  { raw: 'there are two cats and a', clean: 'two cats' },
  { raw: '  A   Drawing\tOF a Cat\n', clean: 'a drawing of a cat' },
  { raw: 'Caption: arafed', clean: '' },
  { raw: 'there is', clean: '' },
  { raw: '', clean: '' },
  { raw: 'an apple and an orange', clean: 'an apple and an orange' },
  { raw: 'a farafed mug', clean: 'a farafed mug' },
];

describe('cleanCaption', () => {
  it.each(captions)('$raw → "$clean"', ({ raw, clean }) => {
    expect(cleanCaption(raw)).toBe(clean);
  });

  it.each(captions)('is idempotent: $raw', ({ raw }) => {
    expect(cleanCaption(cleanCaption(raw))).toBe(cleanCaption(raw));
  });
});

const trainingCaptions = [
  { text: 'Caption: a girl in a hoodie', caption: 'KMPLZ, a drawing of a girl in a hoodie' },
  { text: 'Caption: arafed woman sitting on a bench', caption: 'KMPLZ, a drawing of woman sitting on a bench' },
  { text: 'a drawing of a cat', caption: 'KMPLZ, a drawing of a cat' },
  { text: 'a sketch of a house', caption: 'KMPLZ, a sketch of a house' },
  { text: 'A painting of the sea', caption: 'KMPLZ, a painting of the sea' },
  { text: 'drawing of a fox', caption: 'KMPLZ, a drawing of a fox' },
  { text: 'the sketch of a tree', caption: 'KMPLZ, a sketch of a tree' },
  { text: 'a drawing', caption: 'KMPLZ, a drawing' },
  { text: 'a drawing of', caption: 'KMPLZ, a drawing' },
  { text: 'KMPLZ, a drawing of a cat', caption: 'KMPLZ, a drawing of a cat' },
  { text: 'kmplz, a cat', caption: 'KMPLZ, a drawing of a cat' },
  { text: 'a cat in the style of KMPLZ', caption: 'KMPLZ, a drawing of a cat' },
  { text: 'a drawingboard on a desk', caption: 'KMPLZ, a drawing of a drawingboard on a desk' },
  { text: 'Caption: arafed', caption: 'KMPLZ, a drawing' },
  { text: '', caption: 'KMPLZ, a drawing' },
  { text: 'KMPLZ', caption: 'KMPLZ, a drawing' },
];

describe('toTrainingCaption', () => {
  it.each(trainingCaptions)('$text → $caption', ({ text, caption }) => {
    expect(toTrainingCaption(text, 'KMPLZ')).toBe(caption);
  });

  it.each(trainingCaptions)('is idempotent: $text', ({ text }) => {
    const once = toTrainingCaption(text, 'KMPLZ');
    expect(toTrainingCaption(once, 'KMPLZ')).toBe(once);
  });

  it.each([
    { triggerWord: 'TOK', text: 'a cat', caption: 'TOK, a drawing of a cat' },
    { triggerWord: 'sks', text: 'SKS, a sketch of a cat', caption: 'sks, a sketch of a cat' },
  ])('uses the trigger word it is given: $triggerWord', ({ triggerWord, text, caption }) => {
    expect(toTrainingCaption(text, triggerWord)).toBe(caption);
  });
});

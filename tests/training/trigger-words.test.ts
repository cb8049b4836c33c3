import { describe, expect, it } from 'vitest';
import { UserError } from '../../src/errors.js';
import { requireTriggerOutsideWords, wordsRewrittenByTrigger } from '../../src/training/trigger-words.js';

/** What cog-sdxl's dataset does to a caption (dataset_and_utils.py): lowercase, then replace the lowercased token everywhere. */
const asTrained = (caption: string, trigger: string) => caption.toLowerCase().split(trigger.toLowerCase()).join('<s0><s1>');

describe('a trigger word inside caption words', () => {
  it.each<{ trigger: string; caption: string; rewritten: string[] }>([
    { trigger: 'KMPLZ', caption: 'KMPLZ, a drawing of a sad girl in a hoodie', rewritten: [] },
    { trigger: 'KMPLZ', caption: 'a kmplz girl, KMPLZ style', rewritten: [] },
    { trigger: 'ART', caption: 'ART, a drawing of a party', rewritten: ['party'] },
    { trigger: 'ART', caption: 'ART, a Martian at a PARTY with art', rewritten: ['Martian', 'PARTY'] },
    { trigger: 'ART', caption: 'ART, modern art', rewritten: [] },
    { trigger: 'DRAW', caption: 'DRAW, a drawing', rewritten: ['drawing'] },
    { trigger: 'sks', caption: 'sks, a drawing of asks and tasks', rewritten: ['asks', 'tasks'] },
    { trigger: 'KMPLZ', caption: 'KMPLZ, a KMPLZed girl and KMPLZ_2', rewritten: ['KMPLZed', 'KMPLZ_2'] },
    { trigger: 'ART', caption: 'ART, artísta', rewritten: ['artísta'] },
    { trigger: 'ART', caption: 'ART, a cat; ART-like', rewritten: [] },
  ])('$trigger in “$caption” rewrites $rewritten', ({ trigger, caption, rewritten }) => {
    expect(wordsRewrittenByTrigger([{ name: 'd', caption }], trigger).map((r) => r.word)).toEqual(rewritten);
    // Exactly the words that the trainer's own replacement changes beyond the trigger word itself.
    for (const word of rewritten) expect(asTrained(caption, trigger)).not.toContain(word.toLowerCase());
  });

  it('names each word once, with every drawing whose caption holds it', () => {
    const captions = [
      { name: 'a', caption: 'ART, a party' },
      { name: 'b', caption: 'ART, a Party and a start' },
      { name: 'c', caption: 'ART, a cat' },
    ];
    expect(wordsRewrittenByTrigger(captions, 'ART')).toEqual([
      { word: 'party', drawings: ['a', 'b'] },
      { word: 'start', drawings: ['b'] },
    ]);
  });

  it('refuses with the words and drawings named, and passes clean captions', () => {
    expect(() => requireTriggerOutsideWords([{ name: 'c', caption: 'KMPLZ, a cat' }], 'KMPLZ')).not.toThrow();
    const refusal = (() => {
      try {
        requireTriggerOutsideWords([{ name: 'party-girl', caption: 'ART, a girl at a party' }], 'ART');
      } catch (error) {
        return error;
      }
    })();
    expect(refusal).toBeInstanceOf(UserError);
    expect((refusal as UserError).code).toBe('trigger-inside-words');
    expect((refusal as UserError).render('en')).toMatch(/ART occurs inside ordinary words of the captions: “party”\..*Edit the caption of this drawing .*: party-girl\.$/);
    expect((refusal as UserError).render('ru')).toMatch(/ART встречается внутри обычных слов подписей: “party”\..*этого рисунка.*: party-girl\.$/);
  });
});

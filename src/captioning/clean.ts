/**
 * BLIP captions, cleaned for training. BLIP answers `Caption: …` on Replicate and has
 * well-known tics: made-up words from its training data ("arafed", "araffe", "arafly", …),
 * stutters ("a a woman"), and sentences that trail off ("… and", "… there is").
 */

/** BLIP's made-up words all start like "araf", "arraf", "araff". */
const ARTEFACT = /^ar+af+[a-z]*$/;

/** BLIP's openings that say nothing ("there is a woman …"). */
const EMPTY_OPENINGS = [['there', 'is'], ['there', 'are'], ['this', 'is']];

/** Words a caption cannot end on: it was cut off mid-sentence. */
const DANGLING_ENDINGS = [
  ['there', 'is'], ['there', 'are'], ['and'], ['with'], ['of'], ['in'], ['on'], ['at'], ['a'], ['an'], ['the'],
];

/**
 * Lowercase, without the `Caption:` prefix, BLIP's made-up words, repeated words, empty
 * openings and dangling endings; whitespace collapsed. Idempotent. May be empty when
 * nothing meaningful was left.
 */
export function cleanCaption(raw: string): string {
  // One pass can expose more to clean ("a girl, and the" → "a girl, and" → "a girl"):
  // repeat until nothing changes. Every pass after the first only shortens the text.
  let current = raw;
  for (let next = cleanOnce(current); next !== current; next = cleanOnce(current)) current = next;
  return current;
}

function cleanOnce(raw: string): string {
  const text = raw
    .toLowerCase()
    .replace(/\p{Cc}/gu, ' ')
    .replace(/^(?:\s*caption\s*:)+/, '');
  const words = text.split(/\s+/).filter((word) => word !== '');

  const kept: string[] = [];
  let articleToFix: number | undefined;
  for (const word of words) {
    if (ARTEFACT.test(word)) {
      // "an arafed woman" must become "a woman": the article belonged to the removed word.
      const previous = kept.at(-1);
      if (previous === 'a' || previous === 'an') articleToFix = kept.length - 1;
      continue;
    }
    if (word === kept.at(-1)) continue;
    if (articleToFix !== undefined) {
      kept[articleToFix] = /^[aeiou]/.test(word) ? 'an' : 'a';
      articleToFix = undefined;
    }
    kept.push(word);
  }

  let start = 0;
  let end = kept.length;
  const startsWith = (phrase: string[]) => phrase.every((word, offset) => kept[start + offset] === word);
  const endsWith = (phrase: string[]) => phrase.every((word, offset) => kept[end - phrase.length + offset] === word);
  for (let opening = EMPTY_OPENINGS.find(startsWith); opening; opening = EMPTY_OPENINGS.find(startsWith)) {
    start += opening.length;
  }
  for (let ending = DANGLING_ENDINGS.find(endsWith); ending && end > start; ending = DANGLING_ENDINGS.find(endsWith)) {
    end -= ending.length;
  }
  return kept
    .slice(start, Math.max(start, end))
    .join(' ')
    .replace(/[\s.,;:!]+$/, '');
}

/** Captions that already name the medium keep it ("a sketch of a cat"); others are said to be drawings. */
const NAMES_THE_MEDIUM = /^(?:(?:a|an|the) )?((?:drawing|sketch|painting)\b.*)$/;

/**
 * The caption as the trainer should read it: `KMPLZ, a drawing of …`, trigger word once and
 * first. Idempotent (a caption already in this form comes back unchanged), and never empty:
 * with nothing left to describe, `KMPLZ, a drawing`.
 */
export function toTrainingCaption(text: string, triggerWord: string): string {
  // "in the style of KMPLZ" is the usual way to caption a style by hand: the phrase goes
  // with the trigger word, which comes back once, in front.
  const trigger = new RegExp(
    `(?:\\bin (?:the )?style of )?(?<![\\p{L}\\p{N}_])${escapeRegExp(triggerWord.toLowerCase())}(?![\\p{L}\\p{N}_]),?`,
    'gu',
  );
  const description = cleanCaption(cleanCaption(text).replace(trigger, ' ').replace(/^[\s,]+/, ''));
  if (description === '') return `${triggerWord}, a drawing`;
  const medium = NAMES_THE_MEDIUM.exec(description);
  return `${triggerWord}, ${medium ? `a ${medium[1]}` : `a drawing of ${description}`}`;
}

function escapeRegExp(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}

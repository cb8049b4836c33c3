import { UserError } from '../errors.js';
import { msg } from '../i18n/index.js';

/**
 * What the trainer does to the trigger word in captions. cog-sdxl's dataset
 * (dataset_and_utils.py, replicate/cog-sdxl c79cb3c) lowercases every caption and then replaces
 * the lowercased token wherever it occurs, as a substring, with the learned tokens. A trigger word
 * that occurs inside an ordinary word ("ART" in "party", "Art" in "martian") silently rewrites that
 * word into the style's tokens: the caption the class reviewed is not the one trained on.
 *
 * The trigger word standing as a word of its own, in any case, counts as the trigger word (the
 * trainer cannot tell "KMPLZ" from "kmplz", and `/kmplz` reads it the same way). Only occurrences
 * inside longer words are refused. There is no start-time check of TRIGGER_WORD against a word
 * list: what matters is the class's own captions, and they are checked when they are trained on.
 */

/** A word of a caption: letters, digits and `_` in any script (a trigger word is made of such characters). */
const WORD = /[\p{L}\p{N}_]+/gu;

export interface RewrittenWord {
  /** The word as written in the first caption it appears in. */
  word: string;
  /** The drawings whose captions hold it. */
  drawings: string[];
}

/** The caption words the trainer would rewrite because the trigger word occurs inside them, in order of first appearance. */
export function wordsRewrittenByTrigger(captions: readonly { name: string; caption: string }[], triggerWord: string): RewrittenWord[] {
  const token = triggerWord.toLowerCase();
  const found = new Map<string, RewrittenWord>();
  for (const { name, caption } of captions) {
    for (const [word] of caption.matchAll(WORD)) {
      const lower = word.toLowerCase();
      if (lower === token || !lower.includes(token)) continue;
      const entry = found.get(lower) ?? { word, drawings: [] };
      if (!entry.drawings.includes(name)) entry.drawings.push(name);
      found.set(lower, entry);
    }
  }
  return [...found.values()];
}

/** How many words and drawings a refusal names before it says "and N more". */
const SHOWN = 10;

/** Refuses to train on captions whose words the trigger word would rewrite, naming the words and the drawings. */
export function requireTriggerOutsideWords(captions: readonly { name: string; caption: string }[], triggerWord: string): void {
  const rewritten = wordsRewrittenByTrigger(captions, triggerWord);
  if (rewritten.length === 0) return;
  const words = rewritten.map((r) => `“${r.word}”`);
  const drawings = [...new Set(rewritten.flatMap((r) => r.drawings))];
  const more = (list: string[]) => (list.length > SHOWN ? `${list.slice(0, SHOWN).join(', ')} (+${list.length - SHOWN})` : list.join(', '));
  throw new UserError('trigger-inside-words', msg('error.trigger-inside-words', { trigger: triggerWord, words: more(words), drawings: more(drawings), count: drawings.length }));
}

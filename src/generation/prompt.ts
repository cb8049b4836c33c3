/**
 * Turning what a user typed into what the model is given, and checking the numeric options
 * of `/kmplz` (a raw interaction payload can hold anything, so the bot checks them itself).
 */

/**
 * SDXL's two CLIP text encoders read 77 tokens, start and end tokens included: 75 are left
 * for the prompt. Anything past that is silently ignored by the model.
 */
export const CLIP_PROMPT_TOKENS = 75;

/** cog-sdxl swaps the trigger word for its two learned tokens `<s0><s1>` before encoding. */
const TRIGGER_WORD_TOKENS = 2;

/**
 * CLIP's pre-tokenizer splits text into these pieces before byte-pair encoding; no piece
 * crosses whitespace, so a count per word adds up to the count of the text.
 */
const CLIP_PIECE = /'(?:s|t|re|ve|m|ll|d)|\p{L}+|\p{N}|[^\s\p{L}\p{N}]+/giu;

/**
 * Estimates how many CLIP tokens `text` costs, erring on the high side so that a cut made
 * with it never leaves text the model would drop. Exact where CLIP is predictable (every digit
 * is its own token, contractions are one token); approximate for words, since the real count
 * needs CLIP's 49,408-entry vocabulary: common English words up to six letters are one
 * token, longer words count one token per six letters begun (CLIP splits long and rare
 * words into pieces of about that size), each non-ASCII character counts two (byte-level
 * BPE often needs several bytes' worth of pieces for one), each ASCII punctuation mark one.
 */
export function estimateClipTokens(text: string, triggerWord?: string): number {
  let total = 0;
  for (const [piece] of text.matchAll(CLIP_PIECE)) {
    if (triggerWord !== undefined && piece === triggerWord) {
      total += TRIGGER_WORD_TOKENS;
    } else if (/^\p{L}+$/u.test(piece)) {
      const asciiLetters = piece.replace(/[^a-z]/gi, '').length;
      const otherLetters = [...piece].length - asciiLetters;
      total += Math.ceil(asciiLetters / 6) + 2 * otherLetters;
    } else if (/^\p{N}$/u.test(piece) || piece.startsWith("'")) {
      total += 1;
    } else {
      for (const symbol of piece) total += symbol.charCodeAt(0) < 0x80 ? 1 : 2;
    }
  }
  return total;
}

export interface PreparedPrompt {
  prompt: string;
  /** The trigger word was missing (or only in the part cut off) and was put at the front. */
  addedTrigger: boolean;
  /** The prompt was longer than the model reads and was cut. */
  truncated: boolean;
}

export interface PreparePromptOptions {
  triggerWord: string;
  maxTokens?: number;
}

/**
 * Cleans a user's prompt, makes sure the trigger word is in it (as `KMPLZ, …` at the front
 * when it is missing), and cuts it on a word boundary at what the model reads.
 * A trigger word typed in another case (`kmplz`) is rewritten in the trigger's own spelling:
 * cog-sdxl finds it with a case-sensitive replace, so `kmplz` would not call up the style.
 */
export function preparePrompt(raw: string, { triggerWord, maxTokens = CLIP_PROMPT_TOKENS }: PreparePromptOptions): PreparedPrompt {
  if (!Number.isInteger(maxTokens) || maxTokens < TRIGGER_WORD_TOKENS) {
    throw new RangeError(`maxTokens must be an integer of at least ${TRIGGER_WORD_TOKENS}, got ${maxTokens}`);
  }
  const triggerPattern = new RegExp(`(?<![\\p{L}\\p{N}_])${escapeRegExp(triggerWord)}(?![\\p{L}\\p{N}_])`, 'giu');
  const containsTrigger = (text: string) => text.search(triggerPattern) !== -1;

  const userText = cleanPromptText(raw).replace(triggerPattern, triggerWord);
  const asTyped = cutToTokens(userText, maxTokens, triggerWord);
  if (containsTrigger(asTyped.text)) {
    return { prompt: asTyped.text, addedTrigger: false, truncated: asTyped.truncated };
  }
  const withTrigger = cutToTokens(userText ? `${triggerWord}, ${userText}` : triggerWord, maxTokens, triggerWord);
  return { prompt: withTrigger.text, addedTrigger: true, truncated: withTrigger.truncated };
}

/**
 * Control characters become spaces; invisible format characters that could hide or split
 * the trigger word (zero-width spaces, bidi overrides, the BOM) go. Whitespace is collapsed.
 */
function cleanPromptText(raw: string): string {
  return raw
    .replace(/\p{Cc}/gu, ' ')
    .replace(/[\u200B\u200E\u200F\u202A-\u202E\u2060\u2066-\u2069\uFEFF\u061C]/g, '')
    .replace(/\s+/gu, ' ')
    .trim();
}

function cutToTokens(text: string, maxTokens: number, triggerWord: string): { text: string; truncated: boolean } {
  if (estimateClipTokens(text, triggerWord) <= maxTokens) return { text, truncated: false };

  const kept: string[] = [];
  let used = 0;
  for (const word of text.split(' ')) {
    const cost = estimateClipTokens(word, triggerWord);
    if (used + cost > maxTokens) {
      // A single word longer than the whole budget (a pasted blob with no spaces) has no
      // word boundary to cut on: keep as much of it as fits.
      if (kept.length === 0) kept.push(longestPrefixWithin(word, maxTokens, triggerWord));
      break;
    }
    kept.push(word);
    used += cost;
  }
  // A cut in the middle of a list leaves a dangling separator.
  return { text: kept.join(' ').replace(/[\s,;:|/&+-]+$/u, ''), truncated: true };
}

function longestPrefixWithin(word: string, maxTokens: number, triggerWord: string): string {
  const characters = [...word];
  let length = characters.length;
  while (length > 0 && estimateClipTokens(characters.slice(0, length).join(''), triggerWord) > maxTokens) length--;
  return characters.slice(0, length).join('');
}

function escapeRegExp(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}

/**
 * Makes user text safe to echo in a message: `@everyone`, `@here`, and user and role
 * mentions are broken with a zero-width space so they show as text and ping nobody.
 * (Replies should also send `allowed_mentions: { parse: [] }`; this keeps the echo harmless
 * wherever it ends up, embeds and logs included.)
 */
export function displaySafe(text: string): string {
  return text.replace(/@(everyone|here)/gi, '@\u200B$1').replace(/<@([!&]?\d+)>/g, '<@\u200B$1>');
}

export interface NumericBounds {
  min: number;
  max: number;
}

export interface GenerationBounds {
  steps: NumericBounds;
  guidance: NumericBounds;
  strength: NumericBounds;
  size: NumericBounds & { multipleOf: number };
  seed: NumericBounds;
}

/**
 * Steps 1–100 and guidance 0–20 are the public contract of `/kmplz`. Sizes: SDXL works in a
 * latent space 8× smaller than the image, so sides must be multiples of 8; it was trained on
 * buckets of about one megapixel whose sides run from 512 to about 2048, and below 512 its
 * images fall apart while above 1536 (2.4 MP square) it starts repeating subjects, so
 * 512–1536 is what it handles well. Seeds are unsigned 32-bit integers. Strength is the LoRA
 * scale, cog-sdxl's `lora_scale` (0–1 in its predict.py).
 */
export const GENERATION_BOUNDS: GenerationBounds = {
  steps: { min: 1, max: 100 },
  guidance: { min: 0, max: 20 },
  strength: { min: 0, max: 1 },
  size: { min: 512, max: 1536, multipleOf: 8 },
  seed: { min: 0, max: 2 ** 32 - 1 },
};

/**
 * Strength 1 (the LoRA at full scale), not cog-sdxl's own default of 0.6: the class's original
 * project drew its pictures through diffusers' `load_lora_weights`, which applies a LoRA at 1.0
 * unless told otherwise, and those pictures are what the class knows the style from; training
 * also fits the weights at scale 1, so previews at 1 show what each checkpoint learned rather
 * than a blend with plain SDXL. 0.6 is cog-sdxl's general-purpose choice for its model page;
 * `strength:0.6` gives it back, and `/compare axis:strength` shows the difference.
 */
export const GENERATION_DEFAULTS = { steps: 30, guidance: 7, strength: 1, width: 1024, height: 1024 } as const;

export interface GenerationOptions {
  steps: number;
  guidance: number;
  /** The LoRA scale (`lora_scale`). */
  strength: number;
  width: number;
  height: number;
  /** Absent: the generator picks one (and the bot stores the one used). */
  seed?: number;
}

export type GenerationOptionField = 'options' | 'steps' | 'guidance' | 'strength' | 'width' | 'height' | 'seed';
export type GenerationOptionErrorCode = 'not-an-object' | 'not-a-number' | 'not-an-integer' | 'out-of-range' | 'not-a-multiple';

export interface GenerationOptionError {
  field: GenerationOptionField;
  code: GenerationOptionErrorCode;
  message: string;
}

export type GenerationOptionsResult =
  | { ok: true; options: GenerationOptions }
  | { ok: false; errors: GenerationOptionError[] };

type FieldRule = { field: Exclude<GenerationOptionField, 'options'>; bounds: NumericBounds; integer: boolean; multipleOf?: number };

/**
 * Checks the numeric options of a generation request. Missing (`undefined` or `null`) options
 * take their defaults. Numbers written as plain decimal strings are accepted, because
 * Discord sends autocomplete values as strings; anything else that is not a finite number is
 * refused. Every bad field is reported, each with a stable `code`.
 */
export function validateGenerationOptions(raw: unknown, bounds: GenerationBounds = GENERATION_BOUNDS): GenerationOptionsResult {
  if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) {
    return { ok: false, errors: [{ field: 'options', code: 'not-an-object', message: 'The options are missing or malformed.' }] };
  }
  const input = raw as Record<string, unknown>;
  const rules: FieldRule[] = [
    { field: 'steps', bounds: bounds.steps, integer: true },
    { field: 'guidance', bounds: bounds.guidance, integer: false },
    { field: 'strength', bounds: bounds.strength, integer: false },
    { field: 'width', bounds: bounds.size, integer: true, multipleOf: bounds.size.multipleOf },
    { field: 'height', bounds: bounds.size, integer: true, multipleOf: bounds.size.multipleOf },
    { field: 'seed', bounds: bounds.seed, integer: true },
  ];

  const errors: GenerationOptionError[] = [];
  const values = new Map<FieldRule['field'], number>();
  for (const rule of rules) {
    const value = input[rule.field];
    if (value === undefined || value === null) continue;
    const checked = checkNumber(value, rule);
    if (typeof checked === 'number') values.set(rule.field, checked);
    else errors.push(checked);
  }
  if (errors.length > 0) return { ok: false, errors };

  const seed = values.get('seed');
  return {
    ok: true,
    options: {
      steps: values.get('steps') ?? GENERATION_DEFAULTS.steps,
      guidance: values.get('guidance') ?? GENERATION_DEFAULTS.guidance,
      strength: values.get('strength') ?? GENERATION_DEFAULTS.strength,
      width: values.get('width') ?? GENERATION_DEFAULTS.width,
      height: values.get('height') ?? GENERATION_DEFAULTS.height,
      ...(seed === undefined ? {} : { seed }),
    },
  };
}

function checkNumber(value: unknown, rule: FieldRule): number | GenerationOptionError {
  const { field, bounds, integer, multipleOf } = rule;
  const range = `from ${bounds.min} to ${bounds.max}`;
  const number =
    typeof value === 'number' ? value : typeof value === 'string' && /^\s*-?\d+(\.\d+)?\s*$/.test(value) ? Number(value) : NaN;
  if (!Number.isFinite(number)) {
    return { field, code: 'not-a-number', message: `${field} must be a number ${range}.` };
  }
  if (integer && !Number.isInteger(number)) {
    return { field, code: 'not-an-integer', message: `${field} must be a whole number ${range}.` };
  }
  if (number < bounds.min || number > bounds.max) {
    return { field, code: 'out-of-range', message: `${field} must be ${range}.` };
  }
  if (multipleOf !== undefined && number % multipleOf !== 0) {
    return { field, code: 'not-a-multiple', message: `${field} must be a multiple of ${multipleOf} (${range}).` };
  }
  return number;
}

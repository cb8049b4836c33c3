import { describe, expect, it } from 'vitest';
import {
  GENERATION_BOUNDS,
  displaySafe,
  estimateClipTokens,
  preparePrompt,
  validateGenerationOptions,
} from '../../src/generation/prompt.js';

const triggerWord = 'KMPLZ';

describe('estimateClipTokens', () => {
  it.each([
    { text: '', tokens: 0 },
    { text: 'a girl', tokens: 2 },
    { text: 'hoodie', tokens: 1 },
    { text: 'watercolor', tokens: 2 },
    { text: 'illustration', tokens: 2 },
    // CLIP gives every digit its own token.
    { text: '1024', tokens: 4 },
    { text: "girl's", tokens: 2 },
    { text: 'red, blue', tokens: 3 },
    { text: '!!!', tokens: 3 },
    { text: 'café', tokens: 3 },
    { text: '猫', tokens: 2 },
  ])('$text costs $tokens', ({ text, tokens }) => {
    expect(estimateClipTokens(text)).toBe(tokens);
  });

  it.each([
    { text: 'KMPLZ', withTrigger: 2, without: 1 },
    { text: 'KMPLZ, a cat', withTrigger: 5, without: 4 },
  ])('counts the trigger word as its two learned tokens: $text', ({ text, withTrigger, without }) => {
    expect(estimateClipTokens(text, triggerWord)).toBe(withTrigger);
    expect(estimateClipTokens(text)).toBe(without);
  });
});

describe('preparePrompt', () => {
  it.each([
    { raw: 'a sad girl in a hoodie', prompt: 'KMPLZ, a sad girl in a hoodie', addedTrigger: true },
    { raw: 'KMPLZ girl on a bench', prompt: 'KMPLZ girl on a bench', addedTrigger: false },
    { raw: 'a girl, in the style of KMPLZ', prompt: 'a girl, in the style of KMPLZ', addedTrigger: false },
    // cog-sdxl swaps the trigger with a case-sensitive replace: other spellings are rewritten.
    { raw: 'a kmplz girl', prompt: 'a KMPLZ girl', addedTrigger: false },
    { raw: 'a Kmplz girl and a KMPLZ cat', prompt: 'a KMPLZ girl and a KMPLZ cat', addedTrigger: false },
    { raw: 'KMPLZed girl', prompt: 'KMPLZ, KMPLZed girl', addedTrigger: true },
    { raw: 'girl_KMPLZ', prompt: 'KMPLZ, girl_KMPLZ', addedTrigger: true },
    { raw: '(KMPLZ:1.2) girl', prompt: '(KMPLZ:1.2) girl', addedTrigger: false },
    { raw: '  a\n\tgirl\u0000 with   a hat  ', prompt: 'KMPLZ, a girl with a hat', addedTrigger: true },
    { raw: 'KM\u200BPLZ girl', prompt: 'KMPLZ girl', addedTrigger: false },
    { raw: 'a \u202Egirl', prompt: 'KMPLZ, a girl', addedTrigger: true },
    { raw: '', prompt: 'KMPLZ', addedTrigger: true },
    { raw: ' \n ', prompt: 'KMPLZ', addedTrigger: true },
  ])('$raw → $prompt', ({ raw, prompt, addedTrigger }) => {
    expect(preparePrompt(raw, { triggerWord })).toEqual({ prompt, addedTrigger, truncated: false });
  });

  it.each([
    {
      name: 'cuts after the last whole word that fits',
      raw: 'one two three four five',
      maxTokens: 6,
      prompt: 'KMPLZ, one two three',
      addedTrigger: true,
    },
    {
      name: 'drops the separator left dangling by the cut',
      raw: 'KMPLZ red, blue, green, yellow',
      maxTokens: 7,
      prompt: 'KMPLZ red, blue',
      addedTrigger: false,
    },
    {
      name: 'puts the trigger in front when it was only in the part cut off',
      raw: 'one two three four five six seven KMPLZ',
      maxTokens: 6,
      prompt: 'KMPLZ, one two three',
      addedTrigger: true,
    },
    {
      name: 'keeps what fits of one endless word',
      raw: `KMPLZ,${'x'.repeat(600)}`,
      maxTokens: 75,
      // trigger 2 + comma 1 + 72 pieces of six letters
      prompt: `KMPLZ,${'x'.repeat(432)}`,
      addedTrigger: false,
    },
  ])('$name', ({ raw, maxTokens, prompt, addedTrigger }) => {
    expect(preparePrompt(raw, { triggerWord, maxTokens })).toEqual({ prompt, addedTrigger, truncated: true });
  });

  it.each([
    { name: 'many short words', raw: Array.from({ length: 120 }, (_, index) => `cat${index % 10 === 0 ? ',' : ''}`).join(' ') },
    { name: 'long words', raw: Array.from({ length: 60 }, () => 'extraordinarily').join(' ') },
    { name: 'numbers and symbols', raw: 'a girl 1234567890 !!! ??? '.repeat(10) },
  ])('stays within the 75 tokens SDXL reads: $name', ({ raw }) => {
    const { prompt, truncated } = preparePrompt(raw, { triggerWord });
    expect(truncated).toBe(true);
    expect(estimateClipTokens(prompt, triggerWord)).toBeLessThanOrEqual(75);
    expect(estimateClipTokens(prompt, triggerWord)).toBeGreaterThan(60);
    // Cut on a word boundary: the prompt is the trigger plus whole words from the start.
    const words = prompt.replace(/^KMPLZ, /, '').split(' ');
    const rawWords = raw.trim().split(/\s+/);
    words.forEach((word, index) => expect(rawWords[index]?.startsWith(word)).toBe(true));
    expect(words.slice(0, -1)).toEqual(rawWords.slice(0, words.length - 1));
  });

  it.each([0, 1, 2.5])('refuses a budget of %s tokens', (maxTokens) => {
    expect(() => preparePrompt('a cat', { triggerWord, maxTokens })).toThrow(RangeError);
  });
});

describe('displaySafe', () => {
  it.each([
    { text: 'hello @everyone', safe: 'hello @\u200Beveryone' },
    { text: '@here look', safe: '@\u200Bhere look' },
    { text: 'hey <@123456789012345678>', safe: 'hey <@\u200B123456789012345678>' },
    { text: 'hey <@!123456789012345678>', safe: 'hey <@\u200B!123456789012345678>' },
    { text: 'ping <@&123456789012345678>', safe: 'ping <@\u200B&123456789012345678>' },
    { text: 'mail me@example.com, a cat', safe: 'mail me@example.com, a cat' },
    { text: 'KMPLZ, a girl', safe: 'KMPLZ, a girl' },
  ])('$text', ({ text, safe }) => {
    expect(displaySafe(text)).toBe(safe);
  });
});

describe('validateGenerationOptions', () => {
  const defaults = { steps: 30, guidance: 7, strength: 1, width: 1024, height: 1024 };

  it.each([
    { name: 'nothing given', raw: {}, options: defaults },
    { name: 'nulls from absent options', raw: { steps: null, guidance: null, seed: null }, options: defaults },
    {
      name: 'every option set',
      raw: { steps: 50, guidance: 7.5, strength: 0.45, width: 768, height: 1344, seed: 42 },
      options: { steps: 50, guidance: 7.5, strength: 0.45, width: 768, height: 1344, seed: 42 },
    },
    { name: 'the bounds themselves', raw: { steps: 100, guidance: 0, strength: 0, width: 512, height: 1536, seed: 2 ** 32 - 1 }, options: { steps: 100, guidance: 0, strength: 0, width: 512, height: 1536, seed: 2 ** 32 - 1 } },
    { name: 'numbers sent as strings', raw: { steps: '25', guidance: ' 3.5 ', seed: '0' }, options: { ...defaults, steps: 25, guidance: 3.5, seed: 0 } },
    { name: 'unknown keys ignored', raw: { prompt: 'a cat', steps: 20 }, options: { ...defaults, steps: 20 } },
  ])('accepts $name', ({ raw, options }) => {
    expect(validateGenerationOptions(raw)).toEqual({ ok: true, options });
  });

  it.each([
    { raw: { steps: 30.5 }, field: 'steps', code: 'not-an-integer' },
    { raw: { steps: Number.NaN }, field: 'steps', code: 'not-a-number' },
    { raw: { steps: Number.POSITIVE_INFINITY }, field: 'steps', code: 'not-a-number' },
    { raw: { steps: 'lots' }, field: 'steps', code: 'not-a-number' },
    { raw: { steps: '1e2' }, field: 'steps', code: 'not-a-number' },
    { raw: { steps: '' }, field: 'steps', code: 'not-a-number' },
    { raw: { steps: true }, field: 'steps', code: 'not-a-number' },
    { raw: { steps: [30] }, field: 'steps', code: 'not-a-number' },
    { raw: { steps: 0 }, field: 'steps', code: 'out-of-range' },
    { raw: { steps: 101 }, field: 'steps', code: 'out-of-range' },
    { raw: { guidance: -0.5 }, field: 'guidance', code: 'out-of-range' },
    { raw: { guidance: 20.5 }, field: 'guidance', code: 'out-of-range' },
    { raw: { strength: -0.1 }, field: 'strength', code: 'out-of-range' },
    { raw: { strength: 1.01 }, field: 'strength', code: 'out-of-range' },
    { raw: { width: 1020 }, field: 'width', code: 'not-a-multiple' },
    { raw: { height: 256 }, field: 'height', code: 'out-of-range' },
    { raw: { height: 2048 }, field: 'height', code: 'out-of-range' },
    { raw: { seed: -1 }, field: 'seed', code: 'out-of-range' },
    { raw: { seed: 2 ** 32 }, field: 'seed', code: 'out-of-range' },
    { raw: { seed: 1.5 }, field: 'seed', code: 'not-an-integer' },
  ])('refuses $raw with $field/$code', ({ raw, field, code }) => {
    const result = validateGenerationOptions(raw);
    expect(result.ok).toBe(false);
    if (result.ok) return;
    expect(result.errors).toEqual([{ field, code, message: expect.stringContaining(field) }]);
    expect(result.errors[0]?.message.length).toBeLessThan(80);
  });

  it.each([null, undefined, 'steps=30', 42, [1, 2]])('refuses a payload that is not an object: %s', (raw) => {
    expect(validateGenerationOptions(raw)).toEqual({
      ok: false,
      errors: [{ field: 'options', code: 'not-an-object', message: expect.any(String) }],
    });
  });

  it('reports every bad field at once, in a stable order', () => {
    const result = validateGenerationOptions({ seed: 'x', width: 1020, steps: 0 });
    expect(result.ok ? [] : result.errors.map(({ field, code }) => `${field}:${code}`)).toEqual([
      'steps:out-of-range',
      'width:not-a-multiple',
      'seed:not-a-number',
    ]);
  });

  it.each([
    { raw: { steps: 200 }, ok: true },
    { raw: { steps: 501 }, ok: false },
  ])('takes other bounds: $raw', ({ raw, ok }) => {
    const bounds = { ...GENERATION_BOUNDS, steps: { min: 1, max: 500 } };
    expect(validateGenerationOptions(raw, bounds).ok).toBe(ok);
  });
});

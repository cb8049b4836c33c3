import { describe, expect, it } from 'vitest';
import { prefill } from '../../src/interactions/modal.js';

describe('pre-filled modal values', () => {
  it.each<{ name: string; value: string; max: number; expected: string }>([
    { name: 'a value that fits is kept', value: 'KMPLZ, a cat', max: 300, expected: 'KMPLZ, a cat' },
    { name: 'exactly the limit is kept', value: 'abcde', max: 5, expected: 'abcde' },
    { name: 'too long: cut at the last space near the end', value: 'one two three four five', max: 20, expected: 'one two three four' },
    { name: 'no space near the end: cut at the limit', value: 'abcdefghijklmnop', max: 10, expected: 'abcdefghij' },
    { name: 'a space far from the end is not used', value: 'ab cdefghijklmnop', max: 10, expected: 'ab cdefghi' },
    { name: 'a character of two UTF-16 units is not split', value: 'abcd🎨fg', max: 5, expected: 'abcd' },
    { name: 'trailing spaces go', value: 'abcdefgh  ijk', max: 10, expected: 'abcdefgh' },
  ])('$name', ({ value, max, expected }) => {
    const result = prefill(value, max);
    expect(result).toBe(expected);
    expect(result.length).toBeLessThanOrEqual(max);
  });
});

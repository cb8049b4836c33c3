import { describe, expect, it } from 'vitest';
import type { RawImage } from '../../src/images/raw.js';
import { GLYPH_HEIGHT, GLYPH_WIDTH, labelHeight, renderLabel, THEMES } from '../../src/images/text.js';

function rgbaAt(image: RawImage, x: number, y: number): number[] {
  const offset = (y * image.width + x) * image.channels;
  return [...image.data.subarray(offset, offset + image.channels)];
}

/** The glyph drawn at `index` in a label rendered at scale 1 with padding 0, as '#'/'.' rows. */
function glyphRows(image: RawImage, index: number): string[] {
  const ink = THEMES.dark.ink.join();
  const rows: string[] = [];
  for (let y = 0; y < GLYPH_HEIGHT; y++) {
    let row = '';
    for (let x = 0; x < GLYPH_WIDTH; x++) row += rgbaAt(image, index * (GLYPH_WIDTH + 1) + x, y).join() === ink ? '#' : '.';
    rows.push(row);
  }
  return rows;
}

describe('renderLabel', () => {
  it('draws the embedded font: decoded pixels spell the glyphs', () => {
    const label = renderLabel('Hg', { scale: 1, padding: 0 });
    expect(glyphRows(label, 0)).toEqual(['#...#', '#...#', '#...#', '#####', '#...#', '#...#', '#...#', '.....', '.....']);
    // g has a descender: ink in the two rows under the baseline.
    expect(glyphRows(label, 1)).toEqual(['.....', '.....', '.####', '#...#', '#...#', '#...#', '.####', '....#', '.###.']);
  });

  it('sizes the box from the text, the scale and the padding', () => {
    const label = renderLabel('step 500', { scale: 3, padding: 4 });
    expect(label.channels).toBe(4);
    expect(label.width).toBe((8 * 6 - 1) * 3 + 8);
    expect(label.height).toBe(9 * 3 + 8);
    expect(labelHeight({ scale: 3, padding: 4 })).toBe(label.height);
    expect(label.data.length).toBe(label.width * label.height * 4);
  });

  it('scales each font pixel to a solid block', () => {
    const label = renderLabel('I', { scale: 4, padding: 0 });
    // I's top row is .###. : columns 1–3, so output x 4–15, y 0–3 is ink and x 0–3 is box.
    for (let y = 0; y < 4; y++) {
      for (let x = 4; x < 16; x++) expect(rgbaAt(label, x, y)).toEqual([...THEMES.dark.ink]);
      expect(rgbaAt(label, 0, y)).toEqual([...THEMES.dark.box]);
    }
  });

  it.each([
    { theme: 'dark' as const, ink: THEMES.dark.ink, box: THEMES.dark.box },
    { theme: 'light' as const, ink: THEMES.light.ink, box: THEMES.light.box },
  ])('uses the $theme colours', ({ theme, ink, box }) => {
    const label = renderLabel('T', { theme, scale: 2, padding: 2 });
    expect(rgbaAt(label, 0, 0)).toEqual([...box]);
    // T's top bar starts at the padding.
    expect(rgbaAt(label, 2, 2)).toEqual([...ink]);
  });

  it.each([
    { text: 'café', shown: 'cafe' },
    { text: 'KMPLZ · step 500', shown: 'KMPLZ - step 500' },
    { text: '“quoted” – dash…', shown: '"quoted" - dash...' },
    { text: 'snow ☃ man', shown: 'snow ? man' },
    { text: 'emoji 🎨!', shown: 'emoji ?!' },
    { text: 'tab\there', shown: 'tab?here' },
  ])('draws $text as $shown', ({ text, shown }) => {
    const a = renderLabel(text, { scale: 1, padding: 0 });
    const b = renderLabel(shown, { scale: 1, padding: 0 });
    expect(a.width).toBe(b.width);
    expect(a.data.equals(b.data)).toBe(true);
  });

  it('cuts text to maxWidth and ends it with ".."', () => {
    const label = renderLabel('a-very-long-file-name.png', { scale: 2, padding: 2, maxWidth: 100 });
    expect(label.width).toBeLessThanOrEqual(100);
    const expected = renderLabel('a-very..', { scale: 2, padding: 2 });
    expect(label.width).toBe(expected.width);
    expect(label.data.equals(expected.data)).toBe(true);
  });

  it('renders the same bytes every time (no fonts, no randomness)', () => {
    expect(renderLabel('art: kimplz').data.equals(renderLabel('art: kimplz').data)).toBe(true);
  });

  it('refuses a scale that is not a small positive integer', () => {
    expect(() => renderLabel('x', { scale: 0 })).toThrow(RangeError);
    expect(() => renderLabel('x', { scale: 1.5 })).toThrow(RangeError);
  });
});

import type { RawImage } from './raw.js';

/**
 * Labels drawn with a font carried in this file, so they look the same on every machine: sharp's
 * text and SVG rendering need fontconfig fonts, and a fresh container may have none at all.
 *
 * The font: printable ASCII (32–126), each glyph 5 pixels wide on a 9-row grid (7 rows from cap
 * height to baseline, 2 for descenders), drawn by hand for this project. One band below holds 8
 * glyphs in code-point order, separated by one space; '#' is ink.
 */
const GLYPH_SHEET = [
  // ' '   '!'   '"'   '#'   '$'   '%'   '&'   "'"
  '..... ..#.. .#.#. .#.#. ..#.. ##... .##.. ..#..',
  '..... ..#.. .#.#. .#.#. .#### ##..# #..#. ..#..',
  '..... ..#.. .#.#. ##### #.#.. ...#. #.#.. .#...',
  '..... ..#.. ..... .#.#. .###. ..#.. .#... .....',
  '..... ..#.. ..... ##### ..#.# .#... #.#.# .....',
  '..... ..... ..... .#.#. ####. #..## #..#. .....',
  '..... ..#.. ..... .#.#. ..#.. ...## .##.# .....',
  '..... ..... ..... ..... ..... ..... ..... .....',
  '..... ..... ..... ..... ..... ..... ..... .....',
  // '('   ')'   '*'   '+'   ','   '-'   '.'   '/'
  '...#. .#... ..... ..... ..... ..... ..... .....',
  '..#.. ..#.. ..#.. ..#.. ..... ..... ..... ....#',
  '.#... ...#. #.#.# ..#.. ..... ..... ..... ...#.',
  '.#... ...#. .###. ##### ..... ##### ..... ..#..',
  '.#... ...#. #.#.# ..#.. ..... ..... ..... .#...',
  '..#.. ..#.. ..#.. ..#.. .##.. ..... .##.. #....',
  '...#. .#... ..... ..... .##.. ..... .##.. .....',
  '..... ..... ..... ..... ..#.. ..... ..... .....',
  '..... ..... ..... ..... .#... ..... ..... .....',
  // '0'   '1'   '2'   '3'   '4'   '5'   '6'   '7'
  '.###. ..#.. .###. ##### ...#. ##### ..##. #####',
  '#...# .##.. #...# ...#. ..##. #.... .#... ....#',
  '#..## ..#.. ....# ..#.. .#.#. ####. #.... ...#.',
  '#.#.# ..#.. ...#. ...#. #..#. ....# ####. ..#..',
  '##..# ..#.. ..#.. ....# ##### ....# #...# .#...',
  '#...# ..#.. .#... #...# ...#. #...# #...# .#...',
  '.###. .###. ##### .###. ...#. .###. .###. .#...',
  '..... ..... ..... ..... ..... ..... ..... .....',
  '..... ..... ..... ..... ..... ..... ..... .....',
  // '8'   '9'   ':'   ';'   '<'   '='   '>'   '?'
  '.###. .###. ..... ..... ...#. ..... .#... .###.',
  '#...# #...# ..... ..... ..#.. ..... ..#.. #...#',
  '#...# #...# .##.. .##.. .#... ##### ...#. ....#',
  '.###. .#### .##.. .##.. #.... ..... ....# ...#.',
  '#...# ....# ..... ..... .#... ##### ...#. ..#..',
  '#...# ...#. .##.. .##.. ..#.. ..... ..#.. .....',
  '.###. .##.. .##.. .##.. ...#. ..... .#... ..#..',
  '..... ..... ..... ..#.. ..... ..... ..... .....',
  '..... ..... ..... .#... ..... ..... ..... .....',
  // '@'   'A'   'B'   'C'   'D'   'E'   'F'   'G'
  '.###. .###. ####. .###. ###.. ##### ##### .###.',
  '#...# #...# #...# #...# #..#. #.... #.... #...#',
  '....# #...# #...# #.... #...# #.... #.... #....',
  '.##.# ##### ####. #.... #...# ####. ####. #.###',
  '#.#.# #...# #...# #.... #...# #.... #.... #...#',
  '#.#.# #...# #...# #...# #..#. #.... #.... #...#',
  '.###. #...# ####. .###. ###.. ##### #.... .####',
  '..... ..... ..... ..... ..... ..... ..... .....',
  '..... ..... ..... ..... ..... ..... ..... .....',
  // 'H'   'I'   'J'   'K'   'L'   'M'   'N'   'O'
  '#...# .###. ..### #...# #.... #...# #...# .###.',
  '#...# ..#.. ...#. #..#. #.... ##.## #...# #...#',
  '#...# ..#.. ...#. #.#.. #.... #.#.# ##..# #...#',
  '##### ..#.. ...#. ##... #.... #.#.# #.#.# #...#',
  '#...# ..#.. ...#. #.#.. #.... #...# #..## #...#',
  '#...# ..#.. #..#. #..#. #.... #...# #...# #...#',
  '#...# .###. .##.. #...# ##### #...# #...# .###.',
  '..... ..... ..... ..... ..... ..... ..... .....',
  '..... ..... ..... ..... ..... ..... ..... .....',
  // 'P'   'Q'   'R'   'S'   'T'   'U'   'V'   'W'
  '####. .###. ####. .#### ##### #...# #...# #...#',
  '#...# #...# #...# #.... ..#.. #...# #...# #...#',
  '#...# #...# #...# #.... ..#.. #...# #...# #...#',
  '####. #...# ####. .###. ..#.. #...# #...# #.#.#',
  '#.... #.#.# #.#.. ....# ..#.. #...# #...# #.#.#',
  '#.... #..#. #..#. ....# ..#.. #...# .#.#. #.#.#',
  '#.... .##.# #...# ####. ..#.. .###. ..#.. .#.#.',
  '..... ..... ..... ..... ..... ..... ..... .....',
  '..... ..... ..... ..... ..... ..... ..... .....',
  // 'X'   'Y'   'Z'   '['   '\\'  ']'   '^'   '_'
  '#...# #...# ##### .###. ..... .###. ..#.. .....',
  '#...# #...# ....# .#... #.... ...#. .#.#. .....',
  '.#.#. .#.#. ...#. .#... .#... ...#. #...# .....',
  '..#.. ..#.. ..#.. .#... ..#.. ...#. ..... .....',
  '.#.#. ..#.. .#... .#... ...#. ...#. ..... .....',
  '#...# ..#.. #.... .#... ....# ...#. ..... .....',
  '#...# ..#.. ##### .###. ..... .###. ..... .....',
  '..... ..... ..... ..... ..... ..... ..... #####',
  '..... ..... ..... ..... ..... ..... ..... .....',
  // '`'   'a'   'b'   'c'   'd'   'e'   'f'   'g'
  '.#... ..... #.... ..... ....# ..... ..##. .....',
  '..#.. ..... #.... ..... ....# ..... .#..# .....',
  '...#. .###. #.##. .###. .##.# .###. .#... .####',
  '..... ....# ##..# #.... #..## #...# ###.. #...#',
  '..... .#### #...# #.... #...# ##### .#... #...#',
  '..... #...# #...# #...# #...# #.... .#... #...#',
  '..... .#### ####. .###. .#### .###. .#... .####',
  '..... ..... ..... ..... ..... ..... ..... ....#',
  '..... ..... ..... ..... ..... ..... ..... .###.',
  // 'h'   'i'   'j'   'k'   'l'   'm'   'n'   'o'
  '#.... ..#.. ...#. #.... .##.. ..... ..... .....',
  '#.... ..... ..... #.... ..#.. ..... ..... .....',
  '#.##. .##.. ..##. #..#. ..#.. ##.#. #.##. .###.',
  '##..# ..#.. ...#. #.#.. ..#.. #.#.# ##..# #...#',
  '#...# ..#.. ...#. ##... ..#.. #.#.# #...# #...#',
  '#...# ..#.. ...#. #.#.. ..#.. #.#.# #...# #...#',
  '#...# .###. ...#. #..#. .###. #.#.# #...# .###.',
  '..... ..... #..#. ..... ..... ..... ..... .....',
  '..... ..... .##.. ..... ..... ..... ..... .....',
  // 'p'   'q'   'r'   's'   't'   'u'   'v'   'w'
  '..... ..... ..... ..... .#... ..... ..... .....',
  '..... ..... ..... ..... .#... ..... ..... .....',
  '####. .#### #.##. .#### ###.. #...# #...# #...#',
  '#...# #...# ##..# #.... .#... #...# #...# #...#',
  '#...# #...# #.... .###. .#... #...# #...# #.#.#',
  '#...# #...# #.... ....# .#..# #..## .#.#. #.#.#',
  '####. .#### #.... ####. ..##. .##.# ..#.. .#.#.',
  '#.... ....# ..... ..... ..... ..... ..... .....',
  '#.... ....# ..... ..... ..... ..... ..... .....',
  // 'x'   'y'   'z'   '{'   '|'   '}'   '~'
  '..... ..... ..... ...## ..#.. ##... .....',
  '..... ..... ..... ..#.. ..#.. ..#.. .....',
  '#...# #...# ##### ..#.. ..#.. ..#.. .#...',
  '.#.#. #...# ...#. .#... ..#.. ...#. #.#.#',
  '..#.. #...# ..#.. ..#.. ..#.. ..#.. ...#.',
  '.#.#. #...# .#... ..#.. ..#.. ..#.. .....',
  '#...# .#### ##### ...## ..#.. ##... .....',
  '..... ....# ..... ..... ..... ..... .....',
  '..... .###. ..... ..... ..... ..... .....',
];

export const GLYPH_WIDTH = 5;
export const GLYPH_HEIGHT = 9;
/** Horizontal distance from one glyph to the next: the glyph plus one column of space. */
const ADVANCE = GLYPH_WIDTH + 1;
const FIRST = 32;
const LAST = 126;
const PER_BAND = 8;
const FALLBACK = '?'.charCodeAt(0);

/** One byte per glyph row, bit 4 = leftmost column. */
const GLYPHS = parseSheet();

function parseSheet(): Uint8Array {
  const count = LAST - FIRST + 1;
  const rows = new Uint8Array(count * GLYPH_HEIGHT);
  for (let glyph = 0; glyph < count; glyph++) {
    const band = Math.floor(glyph / PER_BAND);
    const column = (glyph % PER_BAND) * ADVANCE;
    for (let row = 0; row < GLYPH_HEIGHT; row++) {
      const line = GLYPH_SHEET[band * GLYPH_HEIGHT + row] ?? '';
      let bits = 0;
      for (let x = 0; x < GLYPH_WIDTH; x++) bits = (bits << 1) | (line[column + x] === '#' ? 1 : 0);
      rows[glyph * GLYPH_HEIGHT + row] = bits;
    }
  }
  return rows;
}

export type Rgba = readonly [number, number, number, number];

export interface LabelOptions {
  /** Integer zoom of the 5×9 font (default 2: 10×18-pixel glyphs). */
  scale?: number;
  /** 'dark' (default): white text on near-black; 'light': near-black text on white. */
  theme?: 'dark' | 'light';
  /** Space between the text and the edge of its box, in output pixels (default: one glyph pixel). */
  padding?: number;
  /** Cut the text (ending it with "..") so the box is at most this wide. */
  maxWidth?: number;
}

export const THEMES: Record<'dark' | 'light', { ink: Rgba; box: Rgba }> = {
  dark: { ink: [255, 255, 255, 255], box: [24, 24, 27, 255] },
  light: { ink: [24, 24, 27, 255], box: [255, 255, 255, 255] },
};

/**
 * Typography people type without noticing, drawn as its ASCII look-alike rather than '?'
 * (the middle dot of "KMPLZ · step 500", the dashes and curly quotes phones put in).
 */
const LOOKALIKES: Record<string, string> = {
  '·': '-', '•': '-', '–': '-', '—': '-', '‘': "'", '’': "'", '“': '"', '”': '"', '…': '...', '×': 'x',
  '\u00a0': ' ',
};

/**
 * Code points of what will be drawn: accents are dropped (é → e), look-alikes replaced, and
 * anything else outside printable ASCII becomes '?'.
 */
function codes(text: string): number[] {
  const result: number[] = [];
  // NFD splits "é" into "e" and a combining accent, which is then dropped.
  const plain = text.normalize('NFD').replace(/\p{Mn}/gu, '');
  // for…of walks code points, so an emoji (two UTF-16 units) becomes one '?', not two.
  for (const char of plain) {
    for (const shown of LOOKALIKES[char] ?? char) {
      const code = shown.codePointAt(0) ?? FALLBACK;
      result.push(code >= FIRST && code <= LAST ? code : FALLBACK);
    }
  }
  return result;
}

function resolve(options: LabelOptions): { scale: number; padding: number; ink: Rgba; box: Rgba } {
  const scale = options.scale ?? 2;
  if (!Number.isInteger(scale) || scale < 1 || scale > 16) {
    throw new RangeError(`label scale must be an integer from 1 to 16, got ${scale}`);
  }
  const padding = options.padding ?? scale;
  if (!Number.isInteger(padding) || padding < 0) {
    throw new RangeError(`label padding must be a non-negative integer, got ${padding}`);
  }
  return { scale, padding, ...THEMES[options.theme ?? 'dark'] };
}

/** Height of every label box drawn with these options, whatever the text. */
export function labelHeight(options: LabelOptions = {}): number {
  const { scale, padding } = resolve(options);
  return GLYPH_HEIGHT * scale + 2 * padding;
}

function boxWidth(length: number, scale: number, padding: number): number {
  return Math.max(0, length * ADVANCE - 1) * scale + 2 * padding;
}

/**
 * Draws `text` on one line in a filled box and returns RGBA pixels. The box is opaque, so the
 * label reads on any picture it is laid over.
 */
export function renderLabel(text: string, options: LabelOptions = {}): RawImage {
  const { scale, padding, ink, box } = resolve(options);
  let glyphs = codes(text);
  if (options.maxWidth !== undefined && boxWidth(glyphs.length, scale, padding) > options.maxWidth) {
    const fit = Math.floor((options.maxWidth - 2 * padding + scale) / (ADVANCE * scale));
    const dot = '.'.charCodeAt(0);
    glyphs = fit >= 3 ? [...glyphs.slice(0, fit - 2), dot, dot] : glyphs.slice(0, Math.max(0, fit));
  }
  const width = boxWidth(glyphs.length, scale, padding);
  const height = GLYPH_HEIGHT * scale + 2 * padding;
  const data = Buffer.alloc(width * height * 4);
  for (let i = 0; i < width * height; i++) data.set(box, i * 4);
  glyphs.forEach((code, index) => {
    const left = padding + index * ADVANCE * scale;
    for (let row = 0; row < GLYPH_HEIGHT; row++) {
      const bits = GLYPHS[(code - FIRST) * GLYPH_HEIGHT + row] ?? 0;
      for (let column = 0; column < GLYPH_WIDTH; column++) {
        if ((bits & (1 << (GLYPH_WIDTH - 1 - column))) === 0) continue;
        for (let dy = 0; dy < scale; dy++) {
          const y = padding + row * scale + dy;
          for (let dx = 0; dx < scale; dx++) data.set(ink, (y * width + left + column * scale + dx) * 4);
        }
      }
    }
  });
  return { data, width, height, channels: 4 };
}

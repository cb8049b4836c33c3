import { readdirSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { en } from '../../src/i18n/en.js';
import { ru } from '../../src/i18n/ru.js';

/*
 * The catalogs are merged from one file per area (`src/i18n/<locale>/<area>.ts`) by spreading:
 * a key in two areas would silently take the later text, and an area left out of the merge would
 * lose its texts. The compiler sees neither, so this test does.
 */

const folder = (locale: string) => path.resolve(import.meta.dirname, '../../src/i18n', locale);

/** Each area of a locale: its file name and the keys of the one catalog part it exports. */
async function areas(locale: 'en' | 'ru'): Promise<Map<string, string[]>> {
  const files = readdirSync(folder(locale)).filter((name) => name.endsWith('.ts')).sort();
  const result = new Map<string, string[]>();
  for (const file of files) {
    const exports = Object.values((await import(path.join(folder(locale), file))) as Record<string, object>);
    expect(exports, `${locale}/${file} exports one catalog part`).toHaveLength(1);
    result.set(file, Object.keys(exports[0]!));
  }
  return result;
}

describe('the catalog areas', () => {
  it.each([
    ['en', en],
    ['ru', ru],
  ] as const)('%s: every key is in exactly one area, and every area is merged into the catalog', async (locale, catalog) => {
    const parts = await areas(locale);
    expect(parts.size).toBeGreaterThan(5);
    const seen = new Map<string, string>();
    for (const [file, keys] of parts) {
      for (const key of keys) {
        expect(seen.get(key), `${locale}: ${key} is in ${seen.get(key)} and ${file}`).toBeUndefined();
        seen.set(key, file);
      }
    }
    expect([...seen.keys()].sort()).toEqual(Object.keys(catalog).sort());
  });

  it('gives the Russian area of each English area the same keys', async () => {
    const english = await areas('en');
    const russian = await areas('ru');
    expect([...russian.keys()]).toEqual([...english.keys()]);
    for (const [file, keys] of english) expect([...(russian.get(file) ?? [])].sort(), file).toEqual([...keys].sort());
  });
});

import { existsSync, readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';

/**
 * docs/architecture.md is the map a newcomer reads first: a file or folder it names that no
 * longer exists sends them to the wrong place. Every path it quotes (`src/…`, `commands/…`,
 * `docs/…`, `tests/…`) must exist, and every exported name it quotes beside a path must be
 * exported there.
 */
const root = new URL('../../', import.meta.url);
const page = readFileSync(new URL('docs/architecture.md', root), 'utf8');
const quoted = [...page.matchAll(/`([^`\s]+)`/g)].map((m) => m[1]!);
const paths = quoted.filter((q) => /^(src|commands|docs|tests)\//.test(q)).map((q) => q.replace(/[.,;:]$/, ''));

/** `src/i18n/{en,ru}/` names two folders. */
function expand(path: string): string[] {
  const brace = /\{([^}]+)\}/.exec(path);
  if (!brace) return [path];
  return brace[1]!.split(',').flatMap((part) => expand(path.replace(brace[0], part)));
}

describe('docs/architecture.md', () => {
  it('quotes paths that exist', () => {
    expect(paths.length).toBeGreaterThan(20);
    const missing = paths.flatMap(expand).filter((path) => !existsSync(new URL(path, root)));
    expect(missing).toEqual([]);
  });

  it('names the interfaces BotContext is typed against as they are exported', () => {
    const context = readFileSync(new URL('src/context.ts', root), 'utf8');
    for (const name of ['TrainingService', 'Generation', 'Replies', 'KeptArchives', 'BotEventBus', 'Store', 'TaskRunner']) {
      expect(page).toContain(`\`${name}\``);
      expect(context).toMatch(new RegExp(`\\b${name}\\b`));
    }
  });
});

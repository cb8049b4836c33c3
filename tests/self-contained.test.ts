import { readdirSync, readFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

/**
 * A clone of kmplz has nothing beside it: no test, emulator, script or document may lean on a
 * folder next to the checkout, nor cite notes that live only there. `.ci/run` proves the same by
 * running the suite in a lone clone; this test names the offending file and line at once.
 */

const ROOT = fileURLToPath(new URL('..', import.meta.url));
/** Not the project's own files: installs, runtime data, git's store, bench output (as in .gitignore). */
const SKIPPED = new Set(['node_modules', '.git', 'data', join('bench', 'out')]);

function projectFiles(dir = ROOT): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((entry) => {
    const path = join(dir, entry.name);
    if (SKIPPED.has(relative(ROOT, path)) || entry.name === 'node_modules') return [];
    if (entry.isDirectory()) return projectFiles(path);
    return entry.isFile() && entry.name !== '.env' ? [path] : [];
  });
}

/** Lines of project files matching `pattern`, as `path:line: text`. */
function occurrences(pattern: RegExp): string[] {
  return projectFiles().flatMap((path) =>
    readFileSync(path, 'utf8')
      .split('\n')
      .flatMap((line, i) => (pattern.test(line) ? [`${relative(ROOT, path)}:${i + 1}: ${line.trim()}`] : [])),
  );
}

/** GitHub's anchor for a Markdown heading. */
function anchor(heading: string): string {
  return heading
    .trim()
    .toLowerCase()
    .replace(/[^\p{L}\p{N} _-]/gu, '')
    .replace(/ /g, '-');
}

describe('the project tests and documents itself, with nothing beside it', () => {
  it('no file reaches into a folder beside the checkout', () => {
    // Spelled in two parts so this file does not match itself.
    expect(occurrences(new RegExp(['\\.\\.', '/shared'].join('')))).toEqual([]);
  });

  it('no file cites notes kept outside the project instead of docs/', () => {
    expect(occurrences(new RegExp(['SERVICES', 'CONTRACT'].map((name) => `\\b${name}\\.md`).join('|')))).toEqual([]);
  });

  it('every anchor the project cites in docs/services.md is a heading there', () => {
    const headings = new Set(
      readFileSync(join(ROOT, 'docs', 'services.md'), 'utf8')
        .split('\n')
        .flatMap((line) => (/^#{1,6} /.test(line) ? [anchor(line.replace(/^#+ /, ''))] : [])),
    );
    const cited = occurrences(/services\.md#/).flatMap((hit) =>
      [...hit.matchAll(/services\.md#([\w-]+)/g)].map((match) => ({ hit, anchor: match[1]! })),
    );
    expect(cited.length).toBeGreaterThan(0);
    expect(cited.filter(({ anchor }) => !headings.has(anchor)).map(({ hit }) => hit)).toEqual([]);
  });
});

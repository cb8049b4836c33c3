import { execFileSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

/**
 * A clone of kmplz has nothing beside it: no test, emulator, script or document may lean on a
 * folder next to the checkout, nor cite notes that live only there. `.ci/run` proves the same by
 * running the suite in a lone clone; this test names the offending file and line at once.
 */

const ROOT = fileURLToPath(new URL('..', import.meta.url));

/**
 * The project's own files: what git tracks, and new files it does not ignore. Installs, runtime
 * data, virtual environments and bench output are ignored, so they are never read (a Python venv
 * beside the trainer alone holds gigabytes).
 */
function projectFiles(): string[] {
  const listed = execFileSync('git', ['ls-files', '--cached', '--others', '--exclude-standard', '-z'], { cwd: ROOT, encoding: 'utf8', maxBuffer: 64 * 1024 * 1024 });
  return listed
    .split('\0')
    .filter((path) => path !== '' && existsSync(join(ROOT, path)))
    .map((path) => join(ROOT, path));
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

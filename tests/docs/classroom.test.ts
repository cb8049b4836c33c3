import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { parseConfig } from '../../src/config.js';
import { classActivityCosts, classCostTable } from '../../src/views/class-costs.js';

/**
 * The teacher's walkthrough quotes what each part of a lesson costs. The figures must be those the
 * bot itself shows before paid work, so the table is compared with the estimators' own output:
 * a change of price or timing in code fails here until the page says the same.
 */
const page = readFileSync(new URL('../../docs/classroom.md', import.meta.url), 'utf8');

describe('docs/classroom.md', () => {
  it("shows the estimators' costs of a lesson, row for row", () => {
    const table = classCostTable(parseConfig({ DISCORD_TOKEN: 't' }));
    expect(page).toContain(table);
  });

  it('prices the ladder at the default models and kmplz’s trainer one run for all four checkpoints', () => {
    const [captions, ladder, streaming, picture] = classActivityCosts(parseConfig({ DISCORD_TOKEN: 't' }));
    expect(captions!.activity).toMatch(/64 drawings/);
    expect(ladder!.gpuSeconds).toBeGreaterThan(streaming!.gpuSeconds);
    expect(picture!.usd).toBeGreaterThan(0);
  });

  it('names every key its minimal .env lists as a real configuration key', () => {
    const env = readFileSync(new URL('../../.env.example', import.meta.url), 'utf8');
    const keys = [...page.matchAll(/^\s*\| `([A-Z_]+)` \|/gm)].map((m) => m[1]!);
    expect(keys.length).toBeGreaterThanOrEqual(6);
    for (const key of keys) expect(env, key).toMatch(new RegExp(`^${key}=`, 'm'));
  });
});

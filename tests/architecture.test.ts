import { existsSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import {
  importCycles,
  importGraph,
  lineCount,
  readSources,
  referencesOf,
  renderingImports,
  type SourceFiles,
} from './support/architecture.js';

/*
 * The layering of docs/architecture.md, checked on every run from the source text alone (no
 * network, no build): no import cycle, no long file, Discord rendering only at the edge, discord.js
 * in the domain only where a port is implemented against Discord.
 *
 * Each allow-list names what is wrong TODAY and is a ratchet: an entry may only get better, and
 * an entry that is no longer needed fails the test until it is removed, so the lists shrink as the
 * redesign (issue 13) lands and never quietly grow.
 */

const root = path.resolve(import.meta.dirname, '..');
/** The files checked for size and rendering. deploy/ is read too, for the import graph only. */
const CHECKED = ['src', 'commands'];
const MAX_LINES = 300;

/**
 * Import cycles that exist today, as the groups of files that import each other. A cycle passes
 * while its files are all inside one group here.
 */
const KNOWN_CYCLES: readonly (readonly string[])[] = [
  // None today: domain code no longer builds custom ids (views do), which was what tied the domain
  // services to interactions/command.ts and BotContext.
];

/** Files over MAX_LINES today, with their size: each may shrink, none may grow. */
const LONG_FILES: Readonly<Record<string, number>> = {};

/** Where Discord messages may be rendered: views, the edge (dispatcher and commands), the composition root. */
const RENDERING_LAYER = /^(src\/views\/|src\/interactions\/|commands\/)|^src\/(app|main)\.ts$/;

/** Files outside RENDERING_LAYER that import discord.js builders today; the redesign moves their rendering to views. */
const RENDERS_OUTSIDE_VIEWS: readonly string[] = [];

/** The domain: plain data in, plain data out (docs/architecture.md, layer 1). */
const DOMAIN = /^src\/(training|generation|voting|dataset|captioning|money|publishing|images)\//;

/**
 * Domain files that import discord.js (types or values). Allowed for good only in a file that
 * implements a port against Discord; today's others go when the redesign lands.
 */
const DISCORD_IN_DOMAIN: readonly string[] = [
  'src/training/discord-thread.ts', // the thread port's Discord implementation (types, REST routes, DiscordAPIError)
  'src/training/post-once.ts', // posts a message once through the Client: used by the thread port's Discord implementation
];

/**
 * The store's key layout (src/store/keys.ts) is read only by the records' owners: the
 * repositories and the modules that alone keep a record (the dataset, the month's spend, the publish lock, the Cog
 * leases, the webhook deliveries seen, a server's whole prefix when it is forgotten). Anyone else
 * asks an owner, so a layout change stays in one place.
 */
const KEY_OWNERS = /^src\/(store\/|training\/repository\.ts$|generation\/repository\.ts$|dataset\/dataset\.ts$|publishing\/lock\.ts$|money\/budget\.ts$|services\/cog\/|http\/replicate-webhook\.ts$|privacy\/forget\.ts$)/;

/** Files outside KEY_OWNERS that read store keys today. */
const KEYS_OUTSIDE_OWNERS: readonly string[] = [];

const files = readSources(root, [...CHECKED, 'deploy']);
const checked = new Map([...files].filter(([file]) => CHECKED.some((folder) => file.startsWith(`${folder}/`))));

/** The cycles not covered by `allowed`, and the allowed groups no cycle needs any more. */
function cycleViolations(sources: SourceFiles, allowed: readonly (readonly string[])[], exists?: (file: string) => boolean) {
  const cycles = importCycles(importGraph(sources, exists));
  const within = (members: readonly string[], group: readonly string[]) => members.every((file) => group.includes(file));
  return {
    cycles: cycles.filter(({ members }) => !allowed.some((group) => within(members, group))).map(({ loop }) => loop),
    stale: allowed.filter((group) => !cycles.some(({ members }) => within(members, group))),
  };
}

/** Files over MAX_LINES beyond their allowance, and allowances no longer needed. */
function sizeViolations(sources: SourceFiles, allowed: Readonly<Record<string, number>>) {
  const lines = new Map([...sources].map(([file, text]) => [file, lineCount(text)]));
  return {
    long: [...lines].filter(([file, count]) => count > (allowed[file] ?? MAX_LINES)).map(([file, count]) => `${file}: ${count} lines`),
    stale: Object.keys(allowed).filter((file) => (lines.get(file) ?? 0) <= MAX_LINES),
  };
}

/** Rendering imports outside the rendering layer and not allowed, and allowed files that no longer render. */
function renderingViolations(sources: SourceFiles, allowed: readonly string[]) {
  const rendering = [...sources]
    .filter(([file]) => !RENDERING_LAYER.test(file))
    .map(([file, text]) => [file, renderingImports(file, text)] as const)
    .filter(([, names]) => names.length > 0);
  return {
    imports: rendering.filter(([file]) => !allowed.includes(file)).map(([file, names]) => `${file}: ${names.join(', ')}`),
    stale: allowed.filter((file) => !rendering.some(([found]) => found === file)),
  };
}

/** Domain files importing discord.js and not allowed, and allowed files that no longer do. */
function discordInDomainViolations(sources: SourceFiles, allowed: readonly string[]) {
  const importing = [...sources]
    .filter(([file, text]) => DOMAIN.test(file) && referencesOf(file, text).some((ref) => /^(discord\.js|@discordjs\/)/.test(ref.specifier)))
    .map(([file]) => file);
  return { imports: importing.filter((file) => !allowed.includes(file)), stale: allowed.filter((file) => !importing.includes(file)) };
}

/** Files importing the store's keys outside their owners and not allowed, and allowed files that no longer do. */
function keyViolations(sources: SourceFiles, allowed: readonly string[]) {
  const importing = [...sources]
    .filter(([file, text]) => !KEY_OWNERS.test(file) && referencesOf(file, text).some((ref) => /(^|\/)store\/keys(\.js)?$/.test(ref.specifier)))
    .map(([file]) => file);
  return { imports: importing.filter((file) => !allowed.includes(file)), stale: allowed.filter((file) => !importing.includes(file)) };
}

/** Domain files importing the views (layer 2): the domain hands plain data up and never renders. */
function domainImportingViews(sources: SourceFiles): string[] {
  return [...sources]
    .filter(([file, text]) => DOMAIN.test(file) && referencesOf(file, text).some((ref) => /(^|\/)views\//.test(ref.specifier)))
    .map(([file]) => file);
}

describe('the layering of src/ and commands/', () => {
  it('reads a real graph: every relative import resolves, and the tree is the one on disk', () => {
    const graph = importGraph(files, (file) => existsSync(path.join(root, file)));
    expect(checked.size).toBeGreaterThan(100);
    expect([...graph.values()].reduce((sum, targets) => sum + targets.size, 0)).toBeGreaterThan(500);
    expect(graph.get('src/app.ts')).toContain('src/context.ts');
  });

  it('has no import cycle beyond the known ones (type-only imports count)', () => {
    const { cycles, stale } = cycleViolations(files, KNOWN_CYCLES, (file) => existsSync(path.join(root, file)));
    expect(cycles, 'import cycles: break them (an interface in its own module, a port, data instead of a call)').toEqual([]);
    expect(stale, 'these KNOWN_CYCLES are gone: remove them from the list').toEqual([]);
  });

  it(`has no file over ${MAX_LINES} lines beyond the allow-list, and no allowed file grew`, () => {
    const { long, stale } = sizeViolations(checked, LONG_FILES);
    expect(long, `split these by concern (or, if they are on LONG_FILES, they grew past their size there)`).toEqual([]);
    expect(stale, `these LONG_FILES are ${MAX_LINES} lines or fewer now: remove them from the list`).toEqual([]);
  });

  it('renders Discord messages (discord.js builders) only in views, the edge and the composition root', () => {
    const { imports, stale } = renderingViolations(checked, RENDERS_OUTSIDE_VIEWS);
    expect(imports, 'return plain data and build the message in src/views/ (or the command)').toEqual([]);
    expect(stale, 'these no longer render: remove them from RENDERS_OUTSIDE_VIEWS').toEqual([]);
  });

  it('imports discord.js in the domain only where a port is implemented against Discord', () => {
    const { imports, stale } = discordInDomainViolations(checked, DISCORD_IN_DOMAIN);
    expect(imports, 'take a port (an interface named for the work) and implement it against Discord in one file').toEqual([]);
    expect(stale, 'these no longer import discord.js: remove them from DISCORD_IN_DOMAIN').toEqual([]);
  });

  it('never imports the views from the domain (an injected port or the command renders)', () => {
    expect(domainImportingViews(checked), 'take a port or return plain data; src/views/ imports the domain, not the other way').toEqual([]);
  });

  it('reads store keys only in their owners (the repositories and the modules that keep a record alone)', () => {
    const { imports, stale } = keyViolations(checked, KEYS_OUTSIDE_OWNERS);
    expect(imports, 'ask the record\'s owner (src/training/repository.ts, src/generation/repository.ts…) instead of reading its key').toEqual([]);
    expect(stale, 'these no longer read store keys: remove them from KEYS_OUTSIDE_OWNERS').toEqual([]);
  });
});

/* The same checks over a few made-up files: each finds what it is for, so none passes vacuously. */
describe('each layering check fails when the layering breaks', () => {
  it('finds a cycle, through `import type` and `export … from` too, and names its loop', () => {
    const sources = new Map([
      ['src/money/a.ts', "import { b } from './b.js';\nexport const a = b;\n"],
      ['src/money/b.ts', "export { c as b } from './c.js';\n"],
      ['src/money/c.ts', "import type { A } from './a.js';\nexport const c = 1 as unknown as A;\n"],
      ['src/money/d.ts', "import { a } from './a.js';\n"],
    ]);
    expect(cycleViolations(sources, []).cycles).toEqual(['src/money/a.ts > src/money/b.ts > src/money/c.ts > src/money/a.ts']);
    expect(cycleViolations(sources, [['src/money/a.ts', 'src/money/b.ts', 'src/money/c.ts']]).cycles).toEqual([]);
    expect(cycleViolations(new Map([['src/money/a.ts', 'export const a = 1;\n']]), [['src/money/a.ts', 'src/money/b.ts']]).stale).toHaveLength(1);
    expect(() => importGraph(new Map([['src/money/a.ts', "import './gone.js';\n"]]))).toThrow(/cannot resolve/);
  });

  it('finds a long file, an allowed file that grew, and an allowance no longer needed', () => {
    const lines = (count: number) => 'export {};\n'.repeat(count);
    const sources = new Map([
      ['src/money/long.ts', lines(MAX_LINES + 1)],
      ['src/money/short.ts', lines(MAX_LINES)],
      ['src/money/grew.ts', lines(400)],
    ]);
    expect(sizeViolations(sources, { 'src/money/grew.ts': 399, 'src/money/short.ts': 310 })).toEqual({
      long: ['src/money/long.ts: 301 lines', 'src/money/grew.ts: 400 lines'],
      stale: ['src/money/short.ts'],
    });
  });

  it('finds a builder import outside views and the edge, type-only and whole-module imports too', () => {
    const sources = new Map([
      ['src/money/report.ts', "import { EmbedBuilder, type Client } from 'discord.js';\n"],
      ['src/money/types.ts', "import type { ButtonBuilder } from 'discord.js';\n"],
      ['src/money/all.ts', "import * as discord from 'discord.js';\n"],
      ['src/money/lazy.ts', "type Row = import('discord.js').ActionRowBuilder;\n"],
      ['src/money/plain.ts', "import { DiscordAPIError, type Client } from 'discord.js';\n"],
      ['src/views/money.ts', "import { EmbedBuilder } from 'discord.js';\n"],
      ['commands/money.ts', "import { AttachmentBuilder } from 'discord.js';\n"],
    ]);
    expect(renderingViolations(sources, ['src/money/plain.ts']).imports).toEqual([
      'src/money/report.ts: EmbedBuilder',
      'src/money/types.ts: ButtonBuilder',
      'src/money/all.ts: *',
      'src/money/lazy.ts: ActionRowBuilder',
    ]);
    expect(renderingViolations(sources, ['src/money/plain.ts']).stale).toEqual(['src/money/plain.ts']);
    expect(discordInDomainViolations(sources, []).imports).toEqual([
      'src/money/report.ts',
      'src/money/types.ts',
      'src/money/all.ts',
      'src/money/lazy.ts',
      'src/money/plain.ts',
    ]);
  });

  it('finds a domain file importing a view, type-only too', () => {
    const sources = new Map([
      ['src/training/thread.ts', "import type { TrainingViews } from '../views/training.js';\n"],
      ['src/views/training.ts', "import type { TrainingMessage } from '../training/thread.js';\n"],
      ['commands/train.ts', "import { renderStatus } from '../src/views/training-status.js';\n"],
    ]);
    expect(domainImportingViews(sources)).toEqual(['src/training/thread.ts']);
  });

  it('finds a store key read outside the owners, and an allowance no longer needed', () => {
    const sources = new Map([
      ['src/generation/draw.ts', "import { keys } from '../store/keys.js';\n"],
      ['commands/lock.ts', "import type { keys } from '../src/store/keys.js';\n"],
      ['src/training/repository.ts', "import { keys } from '../store/keys.js';\n"],
      ['commands/plain.ts', "import { x } from '../src/store/store.js';\n"],
    ]);
    expect(keyViolations(sources, ['commands/plain.ts'])).toEqual({ imports: ['src/generation/draw.ts', 'commands/lock.ts'], stale: ['commands/plain.ts'] });
  });
});

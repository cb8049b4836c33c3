import { existsSync, readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import ts from 'typescript';

/**
 * What tests/architecture.test.ts checks the source tree with: the import graph read with the
 * TypeScript parser (every `import`, `import type`, `export … from`, `import()` and
 * `import('…').Type`, since a type-only import ties two modules as much as a value import does
 * when one is changed), line counts, and what each file takes from discord.js.
 *
 * The functions take the files as a map of path to text, so the test can also run them over a
 * few made-up files and show that each check finds what it is for.
 */

/** Repository-relative path (with `/`) → source text. */
export type SourceFiles = ReadonlyMap<string, string>;

/** Every .ts file under the given folders of `root`, keyed by its path relative to `root`. */
export function readSources(root: string, folders: readonly string[]): Map<string, string> {
  const files = new Map<string, string>();
  const walk = (folder: string): void => {
    for (const entry of readdirSync(path.join(root, folder), { withFileTypes: true })) {
      const relative = `${folder}/${entry.name}`;
      if (entry.isDirectory()) walk(relative);
      else if (entry.name.endsWith('.ts')) files.set(relative, readFileSync(path.join(root, relative), 'utf8'));
    }
  };
  for (const folder of folders) if (existsSync(path.join(root, folder))) walk(folder);
  return files;
}

/** One module a file names: what it wrote and the names it takes (`*` for a whole-module import). */
export interface ModuleReference {
  specifier: string;
  names: string[];
}

/** Every module `file` refers to, type-only references included. */
export function referencesOf(file: string, text: string): ModuleReference[] {
  const source = ts.createSourceFile(file, text, ts.ScriptTarget.Latest, false, ts.ScriptKind.TS);
  const found: ModuleReference[] = [];
  const visit = (node: ts.Node): void => {
    if (ts.isImportDeclaration(node) && ts.isStringLiteral(node.moduleSpecifier)) {
      const clause = node.importClause;
      const bindings = clause?.namedBindings;
      const names = [
        ...(clause?.name ? ['default'] : []),
        ...(bindings && ts.isNamespaceImport(bindings) ? ['*'] : []),
        ...(bindings && ts.isNamedImports(bindings) ? bindings.elements.map((e) => (e.propertyName ?? e.name).text) : []),
      ];
      found.push({ specifier: node.moduleSpecifier.text, names });
    } else if (ts.isExportDeclaration(node) && node.moduleSpecifier && ts.isStringLiteral(node.moduleSpecifier)) {
      const clause = node.exportClause;
      const names = clause && ts.isNamedExports(clause) ? clause.elements.map((e) => (e.propertyName ?? e.name).text) : ['*'];
      found.push({ specifier: node.moduleSpecifier.text, names });
    } else if (ts.isImportEqualsDeclaration(node) && ts.isExternalModuleReference(node.moduleReference)) {
      const expression = node.moduleReference.expression;
      if (ts.isStringLiteral(expression)) found.push({ specifier: expression.text, names: ['*'] });
    } else if (ts.isCallExpression(node) && node.expression.kind === ts.SyntaxKind.ImportKeyword) {
      const [argument] = node.arguments;
      if (argument && ts.isStringLiteralLike(argument)) found.push({ specifier: argument.text, names: ['*'] });
    } else if (ts.isImportTypeNode(node) && ts.isLiteralTypeNode(node.argument) && ts.isStringLiteral(node.argument.literal)) {
      const qualifier = node.qualifier;
      const name = qualifier === undefined ? '*' : ts.isIdentifier(qualifier) ? qualifier.text : qualifier.left.getText(source);
      found.push({ specifier: node.argument.literal.text, names: [name] });
    }
    ts.forEachChild(node, visit);
  };
  visit(source);
  return found;
}

/**
 * The file a relative specifier names, as the bundler-style resolution of tsconfig finds it
 * (`./x.js` is `./x.ts`, `./x` is `./x.ts` or `./x/index.ts`); undefined for a package.
 * Throws for a relative specifier that names no file, so a graph never silently misses an edge.
 */
export function resolveRelative(from: string, specifier: string, exists: (file: string) => boolean): string | undefined {
  if (!specifier.startsWith('.')) return undefined;
  const base = path.posix.join(path.posix.dirname(from), specifier);
  const candidates = [base.replace(/\.js$/, '.ts'), `${base}.ts`, `${base}/index.ts`, base];
  const found = candidates.find(exists);
  if (found === undefined) throw new Error(`${from}: cannot resolve "${specifier}"`);
  return found;
}

/** File → the files of `files` it imports. Imports of other files (JSON, tests, packages) are left out. */
export function importGraph(files: SourceFiles, exists: (file: string) => boolean = (file) => files.has(file)): Map<string, Set<string>> {
  const graph = new Map<string, Set<string>>();
  for (const [file, text] of files) {
    const targets = new Set<string>();
    for (const { specifier } of referencesOf(file, text)) {
      const target = resolveRelative(file, specifier, exists);
      if (target !== undefined && files.has(target)) targets.add(target);
    }
    graph.set(file, targets);
  }
  return graph;
}

/**
 * The import cycles: each group of files that import each other, directly or around a loop
 * (Tarjan's strongly connected components of more than one file, or a file importing itself),
 * given as one loop through the group, e.g. `a.ts > b.ts > a.ts`, with its members sorted.
 */
export function importCycles(graph: ReadonlyMap<string, ReadonlySet<string>>): { members: string[]; loop: string }[] {
  const index = new Map<string, number>();
  const low = new Map<string, number>();
  const stack: string[] = [];
  const onStack = new Set<string>();
  const groups: string[][] = [];
  const connect = (file: string): void => {
    index.set(file, index.size);
    low.set(file, index.get(file)!);
    stack.push(file);
    onStack.add(file);
    for (const next of graph.get(file) ?? []) {
      if (!index.has(next)) {
        connect(next);
        low.set(file, Math.min(low.get(file)!, low.get(next)!));
      } else if (onStack.has(next)) {
        low.set(file, Math.min(low.get(file)!, index.get(next)!));
      }
    }
    if (low.get(file) !== index.get(file)) return;
    const group: string[] = [];
    let member: string;
    do {
      member = stack.pop()!;
      onStack.delete(member);
      group.push(member);
    } while (member !== file);
    if (group.length > 1 || graph.get(file)?.has(file)) groups.push(group.sort());
  };
  for (const file of [...graph.keys()].sort()) if (!index.has(file)) connect(file);
  return groups.map((members) => ({ members, loop: loopThrough(graph, members) }));
}

/** A shortest loop from the group's first member back to it, inside the group, for the message. */
function loopThrough(graph: ReadonlyMap<string, ReadonlySet<string>>, members: readonly string[]): string {
  const start = members[0]!;
  const inGroup = new Set(members);
  const previous = new Map<string, string>();
  const queue = [start];
  while (queue.length > 0) {
    const file = queue.shift()!;
    for (const next of graph.get(file) ?? []) {
      if (!inGroup.has(next)) continue;
      if (next === start) {
        const loop = [start];
        for (let at: string | undefined = file; at !== undefined && at !== start; at = previous.get(at)) loop.splice(1, 0, at);
        return [...loop, start].join(' > ');
      }
      if (!previous.has(next)) {
        previous.set(next, file);
        queue.push(next);
      }
    }
  }
  return members.join(' > ');
}

/** Lines of a text, as `wc -l` counts them for a file that ends with a newline. */
export function lineCount(text: string): number {
  return text.length === 0 ? 0 : text.split('\n').length - (text.endsWith('\n') ? 1 : 0);
}

/**
 * What renders a Discord message: the builders (EmbedBuilder, ButtonBuilder, ActionRowBuilder,
 * AttachmentBuilder, the select menus, ModalBuilder, TextInputBuilder, the command builders…)
 * and the component styles that only a builder takes.
 */
const RENDERING = /Builder$|^ButtonStyle$|^TextInputStyle$/;
const DISCORD_PACKAGES = /^(discord\.js|@discordjs\/builders)$/;

/**
 * The rendering names `text` takes from discord.js, type-only imports included (a domain
 * function that returns an EmbedBuilder renders as much as one that makes it). A whole-module
 * import (`import * as discord`, a default import, `import('discord.js')`) counts as `*` or
 * `default`: it can reach them all.
 */
export function renderingImports(file: string, text: string): string[] {
  return referencesOf(file, text)
    .filter((reference) => DISCORD_PACKAGES.test(reference.specifier))
    .flatMap((reference) => reference.names.filter((name) => name === '*' || name === 'default' || RENDERING.test(name)))
    .sort();
}

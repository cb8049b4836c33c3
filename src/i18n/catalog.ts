import type { en } from './en.js';

/*
 * The catalog types, apart from `index.ts`: the Russian catalog is typed against the English one,
 * and `index.ts` imports both catalogs, so the types cannot live there without an import cycle.
 */

type En = typeof en;
export type MessageKey = keyof En;
/** The shape every catalog has: the English keys, each a template. */
export type Catalog = { readonly [K in MessageKey]: string };
/** A translation of one English area (`en/<area>.ts`): the same keys, each a template. */
export type Translation<Area> = { readonly [K in keyof Area]: string };

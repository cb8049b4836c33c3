import type { Catalog, MessageKey } from './catalog.js';
import { en } from './en.js';
import { ru } from './ru.js';

/**
 * Russian and English. Every user-facing text is a key of the English catalog (`en.ts`, merged
 * from one file per area in `en/`); the Russian one (`ru.ts`, from `ru/`) must have exactly the
 * same keys, which the compiler checks.
 *
 * Templates: `{name}` is replaced by the parameter `name`; `{count|form|form…}` is replaced by
 * the plural form of the word for `count` (English: one|other; Russian: one|few|many, as in
 * 1 картинка / 2 картинки / 5 картинок). The number itself is written with a separate `{count}`.
 * A parameter may itself be a message (`msg('unit.mib', …)`): it is rendered in the same language.
 */

export type Locale = 'en' | 'ru';
export const LOCALES: readonly Locale[] = ['en', 'ru'];

export type { Catalog, MessageKey } from './catalog.js';

type En = typeof en;

/** The parameter names a template uses: `{name}` and `{name|forms…}`. */
type Placeholders<S extends string> = S extends `${string}{${infer Inside}}${infer Rest}`
  ? (Inside extends `${infer Name}|${string}` ? Name : Inside) | Placeholders<Rest>
  : never;

/** A parameter: a value written as it is, or a catalog message rendered in the same language (a size with its unit). */
export type ParamValue = string | number | Message;
export type ParamsOf<K extends MessageKey> = { readonly [P in Placeholders<En[K]>]: ParamValue };
/** No argument for a template without placeholders, the parameters object otherwise. */
export type ParamArgs<K extends MessageKey> = [Placeholders<En[K]>] extends [never] ? [] : [params: ParamsOf<K>];

const catalogs: Readonly<Record<Locale, Catalog>> = { en, ru };

export function catalogOf(locale: Locale): Catalog {
  return catalogs[locale];
}

/** `ru` for a Russian Discord client, English for every other language. */
export function toLocale(discordLocale: string | null | undefined): Locale {
  return discordLocale?.toLowerCase().startsWith('ru') ? 'ru' : 'en';
}

/** The language to answer an interaction in: the user's Discord language. */
export function localeOf(interaction: { locale?: string | null }): Locale {
  return toLocale(interaction.locale);
}

/** The text of `key` in `locale`, its placeholders filled from `params`. */
export function t<K extends MessageKey>(locale: Locale, key: K, ...[params]: ParamArgs<K>): string {
  return format(locale, catalogOf(locale)[key], params as Readonly<Record<string, ParamValue>> | undefined);
}

/** A text to be rendered later, in a language not known yet (an error, a stored note). */
export interface Message {
  readonly key: MessageKey;
  readonly params?: Readonly<Record<string, ParamValue>>;
}

export function msg<K extends MessageKey>(key: K, ...[params]: ParamArgs<K>): Message {
  return params === undefined ? { key } : { key, params: params as Readonly<Record<string, ParamValue>> };
}

/** A catalog message in `locale`; a plain string (a service's own words) is shown as it is. */
export function render(locale: Locale, text: Message | string): string {
  return typeof text === 'string' ? text : format(locale, catalogOf(locale)[text.key], text.params);
}

const pluralRules: Record<Locale, Intl.PluralRules> = { en: new Intl.PluralRules('en'), ru: new Intl.PluralRules('ru') };

/**
 * The form of a word for `count`: English `[one, other]`, Russian `[one, few, many]`
 * (1 картинка, 2 картинки, 5 картинок; fractions take the `few` form: 1,5 картинки).
 */
export function plural(locale: Locale, count: number, forms: readonly string[]): string {
  const category = pluralRules[locale].select(count);
  const index = locale === 'ru' ? ({ one: 0, few: 1, many: 2 } as Record<string, number>)[category] ?? 1 : category === 'one' ? 0 : 1;
  return forms[Math.min(index, forms.length - 1)] ?? '';
}

/** "2 and 3", "2, 3 and 4" / "2 и 3". */
export function listInWords(locale: Locale, items: readonly (string | number)[]): string {
  const and = t(locale, 'common.and');
  return items.length <= 2 ? items.join(` ${and} `) : `${items.slice(0, -1).join(', ')} ${and} ${items.at(-1)}`;
}

const PLACEHOLDER = /\{([^{}|]+)(?:\|([^{}]*))?\}/g;

function format(locale: Locale, template: string, params: Readonly<Record<string, ParamValue>> | undefined): string {
  return template.replace(PLACEHOLDER, (whole, name: string, forms: string | undefined) => {
    const value = params?.[name];
    if (value === undefined) return whole;
    if (typeof value === 'object') return render(locale, value);
    return forms === undefined ? String(value) : plural(locale, Number(value), forms.split('|'));
  });
}

/** The parameter names of a template, for the catalog test. */
export function placeholdersOf(template: string): string[] {
  return [...new Set([...template.matchAll(PLACEHOLDER)].map((m) => m[1]!))].sort();
}

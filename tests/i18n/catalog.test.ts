import { readdirSync, readFileSync, statSync } from 'node:fs';
import path from 'node:path';
import { ApplicationCommandType, type APIApplicationCommandOption, type RESTPostAPIChatInputApplicationCommandsJSONBody } from 'discord.js';
import { describe, expect, it } from 'vitest';
import { commandDefinitions } from '../../commands/index.js';
import { en } from '../../src/i18n/en.js';
import { LOCALES, catalogOf, listInWords, localeOf, placeholdersOf, plural, t } from '../../src/i18n/index.js';
import { ru } from '../../src/i18n/ru.js';
import type { TrainingRecord } from '../../src/training/records.js';
import { renderStatus } from '../../src/views/training-status.js';
import { previewContent, rewritePreview } from '../../src/views/training-text.js';

const root = path.resolve(import.meta.dirname, '../..');
const keys = Object.keys(en) as (keyof typeof en)[];

/** Every .ts file under `dir`. */
function sources(dir: string): string[] {
  return readdirSync(dir).flatMap((name) => {
    const file = path.join(dir, name);
    return statSync(file).isDirectory() ? sources(file) : file.endsWith('.ts') ? [file] : [];
  });
}

describe('the message catalogs', () => {
  it('have the same keys in English and Russian, none of them empty', () => {
    expect(Object.keys(ru).sort()).toEqual([...keys].sort());
    for (const locale of LOCALES) {
      for (const key of keys) expect(catalogOf(locale)[key].trim(), `${locale} ${key}`).not.toBe('');
    }
  });

  it('use the same placeholders in both languages', () => {
    for (const key of keys) expect(placeholdersOf(ru[key]), key).toEqual(placeholdersOf(en[key]));
  });

  it('give English two plural forms and Russian three', () => {
    const forms = (template: string) => [...template.matchAll(/\{[^{}|]+\|([^{}]*)\}/g)].map((m) => m[1]!.split('|').length);
    for (const key of keys) {
      for (const count of forms(en[key])) expect(count, `en ${key}`).toBe(2);
      for (const count of forms(ru[key])) expect(count, `ru ${key}`).toBe(3);
    }
  });

  it('keep Discord markup the same in both languages: mentions, timestamps, emoji and trigger word', () => {
    const markup = (text: string) => [...text.matchAll(/<[@#][&!]?\{\w+\}>|<t:\{\w+\}:\w>|\p{Extended_Pictographic}/gu)].map((m) => m[0]).sort();
    for (const key of keys) expect(markup(ru[key]), key).toEqual(markup(en[key]));
  });

  it('has a message for every UserError code the bot throws (error.<code> or error.<code>.<variant>)', () => {
    const files = [...sources(path.join(root, 'src')), ...sources(path.join(root, 'commands'))];
    const codes = new Set(files.flatMap((file) => [...readFileSync(file, 'utf8').matchAll(/new UserError\(\s*'([^']+)'/g)].map((m) => m[1]!)));
    expect(codes.size).toBeGreaterThan(40);
    const missing = [...codes].filter((code) => !keys.some((key) => key === `error.${code}` || key.startsWith(`error.${code}.`)));
    expect(missing).toEqual([]);
  });

  it('has every key the sources name', () => {
    const files = [...sources(path.join(root, 'src')), ...sources(path.join(root, 'commands'))].filter((file) => !path.relative(root, file).startsWith(path.join('src', 'i18n')));
    const named = files.flatMap((file) => [...readFileSync(file, 'utf8').matchAll(/\b(?:msg\(|t\([^,()]+,)\s*'([a-z][\w.-]+)'/g)].map((m) => m[1]!));
    expect(named.length).toBeGreaterThan(100);
    expect(named.filter((key) => !(key in en))).toEqual([]);
  });
});

describe('choosing and rendering', () => {
  it('answers in Russian for a Russian client, in English for every other language', () => {
    expect(localeOf({ locale: 'ru' })).toBe('ru');
    expect(localeOf({ locale: 'en-US' })).toBe('en');
    expect(localeOf({ locale: 'uk' })).toBe('en');
    expect(localeOf({})).toBe('en');
  });

  it('picks the Russian plural form by the number: 1 картинка, 2 картинки, 5 картинок', () => {
    const forms = ['картинка', 'картинки', 'картинок'];
    expect([1, 2, 4, 5, 11, 12, 21, 22, 25, 111].map((n) => plural('ru', n, forms))).toEqual([
      'картинка', 'картинки', 'картинки', 'картинок', 'картинок', 'картинок', 'картинка', 'картинки', 'картинок', 'картинок',
    ]);
    expect(t('ru', 'error.queue-full-for-user', { cap: 3 })).toMatch(/^У вас уже 3 картинки/);
    expect(t('ru', 'error.queue-full-for-user', { cap: 5 })).toMatch(/^У вас уже 5 картинок/);
    expect(t('en', 'error.queue-full-for-user', { cap: 1 })).toMatch(/^You already have 1 picture waiting/);
    expect(t('en', 'dataset.added.title', { count: 2 })).toBe('Added 2 drawings');
    expect(listInWords('ru', [250, 500, 750])).toBe('250, 500 и 750');
  });

  it('renders the training thread in the language of the trainer who started it, English for older records', () => {
    const record: TrainingRecord = {
      id: 'T1', guildId: 'G', channelId: 'C', startedBy: 'U', status: 'running', steps: 1000, checkpointEvery: 250,
      checkpoints: [{ step: 250, createdAt: 0 }], votes: { a: 250, b: 250 }, createdAt: 0, strategy: 'ladder',
      runs: [{ steps: 250, checkpointSteps: [250], status: 'succeeded', gpuSeconds: 60 }],
    };
    const options = { now: 100_000, triggerWord: 'KMPLZ', prices: { training: 0.001, preview: 0.001 } };
    expect(renderStatus(record, options).content).toMatch(/Checkpoints: 🖼️ 250/);
    const russian = renderStatus({ ...record, locale: 'ru' }, options).content;
    expect(russian).toMatch(/^\*\*🏋️ Обучение: KMPLZ\*\* · ladder · 1000 шагов, чекпоинт каждые 250/);
    expect(russian).toMatch(/Прошло 1 мин 40 с · стоимость 1 мин 0 с работы GPU ≈ \$0\.060/);
    const preview = previewContent({ ...record, locale: 'ru' }, 250, 'KMPLZ', ['Не нарисовано: …']);
    expect(preview).toMatch(/^\*\*Чекпоинт: шаг 250\*\* из 1000 — KMPLZ после 250 шагов/);
    expect(preview.split('\n').at(-1)).toBe('🗳️ 2 голоса');
    // The live tally rewrites the posted text: the note line stays, the tally follows the votes.
    expect(rewritePreview(preview, { ...record, locale: 'ru', votes: { a: 250 } }, 250, 'KMPLZ').split('\n').slice(1)).toEqual(['Не нарисовано: …', '🗳️ 1 голос']);
  });
});

describe('the slash commands in Russian', () => {
  const NAME = /^[-_\p{L}\p{N}]{1,32}$/u;
  type Node = RESTPostAPIChatInputApplicationCommandsJSONBody | APIApplicationCommandOption;

  function check(node: Node, where: string): void {
    const name = node.name_localizations?.ru;
    const description = node.description_localizations?.ru;
    expect(name, `${where}: ru name`).toBeDefined();
    expect(name, `${where}: ru name`).toMatch(NAME);
    expect(name, `${where}: ru name is lowercase`).toBe(name!.toLowerCase());
    expect(description?.length, `${where}: ru description`).toBeGreaterThanOrEqual(1);
    expect(description!.length, `${where}: ru description`).toBeLessThanOrEqual(100);
    const options = ('options' in node ? node.options : undefined) ?? [];
    const names = options.map((o) => o.name_localizations?.ru);
    expect(new Set(names).size, `${where}: two options share a Russian name`).toBe(names.length);
    for (const option of options) check(option, `${where} ${option.name}`);
    for (const choice of ('choices' in node ? node.choices : undefined) ?? []) {
      const choiceName = choice.name_localizations?.ru;
      expect(choiceName?.length, `${where} choice ${choice.name}`).toBeGreaterThanOrEqual(1);
      expect(choiceName!.length).toBeLessThanOrEqual(100);
    }
  }

  const slashCommands = commandDefinitions.filter((c): c is RESTPostAPIChatInputApplicationCommandsJSONBody => c.type === ApplicationCommandType.ChatInput);
  const menus = commandDefinitions.filter((c) => c.type === ApplicationCommandType.Message);

  it('gives every command, subcommand, option and choice a Russian name and description Discord accepts', () => {
    for (const command of slashCommands) check(command, `/${command.name}`);
    const names = slashCommands.map((c) => c.name_localizations?.ru);
    expect(new Set(names).size).toBe(names.length);
  });

  it('gives every context-menu command a Russian name Discord accepts (1–32 characters, spaces allowed) and no description', () => {
    expect(menus.map((c) => c.name)).toEqual(['Add to kmplz dataset']);
    for (const menu of menus) {
      expect(menu.name_localizations?.ru?.length).toBeGreaterThanOrEqual(1);
      expect(menu.name_localizations!.ru!.length).toBeLessThanOrEqual(32);
      expect('description' in menu).toBe(false);
    }
  });

  it('keeps the English names of the contract', () => {
    expect(slashCommands.map((c) => c.name)).toEqual(['kmplz', 'dataset', 'caption', 'train', 'vote', 'checkpoints', 'compare', 'showcase', 'publish', 'help']);
  });
});

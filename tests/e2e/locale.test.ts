import { mkdir, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { Locale } from 'discord.js';
import sharp from 'sharp';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import type { DiscordEmulator, StoredMessage } from '../emulators/discord/index.js';
import { CLASS_DRAWINGS, drawing } from '../support/fixtures.js';
import { zipBuffer } from '../support/replicate-training.js';
import { startWorld, type World } from '../support/world.js';

let discord: DiscordEmulator;
let world: World;

beforeAll(async () => {
  // Two servers: the first has drawings and a trained checkpoint, the second nothing at all.
  world = await startWorld({ discord: { guilds: [{}, {}] }, checkpointSteps: [250], dataset: CLASS_DRAWINGS, deps: { generation: { progressEditIntervalMs: 20 } } });
  ({ discord } = world);
});
afterAll(() => world?.stop());
afterEach(() => world.expectCleanRequests());

const emptyGuild = () => discord.guilds()[1]!.id;
const labels = (m: StoredMessage) =>
  (m.components.flatMap((row) => ('components' in row ? (row.components as unknown[]) : [])) as { label?: string }[]).map((c) => c.label);

describe('the language of each user', () => {
  it('refuses in Russian to a Russian client and in English to an English one, in the same run', async () => {
    const where = { guildId: emptyGuild(), channelId: discord.textChannels(emptyGuild())[0]!.id };
    const russian = await discord.slash({ name: 'kmplz', ...where, locale: Locale.Russian, options: { prompt: 'кот' } });
    const english = await discord.slash({ name: 'kmplz', ...where, locale: Locale.EnglishUS, options: { prompt: 'a cat' } });
    const ru = await russian.waitForFollowUp();
    expect(ru.ephemeral).toBe(true);
    expect(ru.content).toMatch(/^Обученного чекпоинта пока нет.*`\/датасет добавить`/);
    expect((await english.waitForFollowUp()).content).toMatch(/^There is no trained checkpoint yet/);

    // A trainer-only command, refused to a student.
    const student = await discord.slash({ name: 'dataset', subcommand: 'clear', user: discord.users.carol, locale: Locale.Russian });
    expect((await student.waitForOriginal(undefined, 15_000)).content).toBe('Это могут только тренеры: нужно право «Управлять сервером».');
  });

  it('shows a Russian user the progress and the result of /kmplz in Russian, and an English user in English', async () => {
    const seen: string[] = [];
    const russian = await discord.slash({ name: 'kmplz', user: discord.users.carol, locale: Locale.Russian, options: { prompt: 'грустная девочка в худи', seed: 11 } });
    const result = await russian.waitForOriginal((m) => {
      seen.push(m.content);
      return m.attachments.length > 0;
    }, 15_000);
    expect(seen.some((content) => /^🎨 Рисую…/.test(content))).toBe(true);
    const embed = result.embeds[0]!;
    expect(embed.fields?.map((f) => [f.name, f.value])).toEqual(expect.arrayContaining([['шаги', '30'], ['сид', '11'], ['чекпоинт', 'шаг 250']]));
    expect(embed.footer?.text).toMatch(/^слева: KMPLZ на шаге 250 · справа: .*, рисунок автора$/);
    expect(labels(result)).toEqual(['Ещё раз', 'В витрину', 'Параметры', 'Удалить']);

    const english = await discord.slash({ name: 'kmplz', user: discord.users.dave, locale: Locale.EnglishUS, options: { prompt: 'a sad girl in a hoodie', seed: 12 } });
    const answer = await english.waitForOriginal((m) => m.attachments.length > 0, 15_000);
    expect(answer.embeds[0]!.fields?.map((f) => f.name)).toEqual(['steps', 'guidance', 'strength', 'seed', 'size', 'checkpoint']);
    expect(labels(answer)).toEqual(['Again', 'Showcase', 'Parameters', 'Delete']);

    // `WRITE_REPLY_PICTURE=1 npx vitest run tests/e2e/locale.test.ts` keeps the side-by-side
    // picture this reply posted through the emulator as README's docs/reply.png.
    if (process.env.WRITE_REPLY_PICTURE) {
      const file = path.resolve(import.meta.dirname, '../../docs/reply.png');
      await mkdir(path.dirname(file), { recursive: true });
      await writeFile(file, await sharp(answer.attachments[0]!.data).resize({ width: 1024 }).png({ palette: true, quality: 90 }).toBuffer());
    }
  });

  it('tells a Russian trainer in Russian why /dataset add refused a file and what it warns of', async () => {
    const archive = await zipBuffer({ 'notes.txt': 'these are my drawings', 'tiny.png': await drawing(300, 300, '#aa8844') });
    const slash = await discord.slash({ name: 'dataset', subcommand: 'add', guildId: emptyGuild(), locale: Locale.Russian, options: { archive: { filename: 'drawings.zip', data: archive } } });
    const embed = (await slash.waitForOriginal(undefined, 20_000)).embeds[0]!;
    expect(embed.title).toBe('Добавлено: 1 рисунок');
    const field = (name: string) => embed.fields?.find((f) => f.name.startsWith(name))?.value;
    expect(field('не приняты')).toBe('**notes.txt**: это не картинка (или формат, который бот не читает)');
    expect(field('предупреждения')).toBe('**tiny**: маленький: 300×300, короткая сторона меньше 512 px; увеличенный до 1024×1024, он будет выглядеть размыто');
  });
});

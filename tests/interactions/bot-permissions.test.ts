import { DiscordAPIError, PermissionFlagsBits, PermissionsBitField } from 'discord.js';
import { describe, expect, it } from 'vitest';
import { UserError } from '../../src/errors.js';
import {
  BOT_NEEDS,
  isPermissionRefusal,
  missingPermissions,
  refusedByDiscord,
  requireBotPermissions,
  type BotPermission,
} from '../../src/interactions/bot-permissions.js';

const P = PermissionFlagsBits;
/** What the invite link asks for (README): everything kmplz uses. */
const INVITED = P.ViewChannel | P.SendMessages | P.SendMessagesInThreads | P.CreatePublicThreads | P.EmbedLinks | P.AttachFiles | P.ReadMessageHistory;
const bits = (value: bigint) => new PermissionsBitField(value).freeze();
const place = { channelId: '1300000000000000007', botName: 'kmplz' };

function refusal(run: () => void): UserError | undefined {
  try {
    run();
  } catch (error) {
    if (error instanceof UserError) return error;
    throw error;
  }
  return undefined;
}

describe('the bot permissions a piece of work needs', () => {
  it.each<[string, bigint | null, readonly BotPermission[], BotPermission[]]>([
    ['the invite link’s permissions: a training', INVITED, BOT_NEEDS.training, []],
    ['the invite link’s permissions: a picture', INVITED, BOT_NEEDS.picture, []],
    ['the invite link’s permissions: the showcase', INVITED, BOT_NEEDS.showcase, []],
    ['no Create Public Threads: a training', INVITED & ~P.CreatePublicThreads, BOT_NEEDS.training, ['CreatePublicThreads']],
    ['no Send Messages in Threads nor Attach Files: a training', INVITED & ~P.SendMessagesInThreads & ~P.AttachFiles, BOT_NEEDS.training, ['SendMessagesInThreads', 'AttachFiles']],
    ['no Read Message History: a training', INVITED & ~P.ReadMessageHistory, BOT_NEEDS.training, ['ReadMessageHistory']],
    ['no Embed Links: a training, which posts no embed', INVITED & ~P.EmbedLinks, BOT_NEEDS.training, []],
    ['no Embed Links: a picture', INVITED & ~P.EmbedLinks, BOT_NEEDS.picture, ['EmbedLinks']],
    ['no Send Messages: a picture, answered in the interaction’s reply', INVITED & ~P.SendMessages, BOT_NEEDS.picture, []],
    ['no Send Messages: the showcase', INVITED & ~P.SendMessages, BOT_NEEDS.showcase, ['SendMessages']],
    ['nothing at all: the showcase, in its order', 0n, BOT_NEEDS.showcase, ['ViewChannel', 'SendMessages', 'AttachFiles', 'EmbedLinks']],
    ['Administrator alone: everything', P.Administrator, BOT_NEEDS.training, []],
    ['unknown (the cache cannot tell): left to Discord', null, BOT_NEEDS.showcase, []],
  ])('%s', (_case, granted, needed, missing) => {
    expect(missingPermissions(granted === null ? null : bits(granted), needed)).toEqual(missing);
    const refused = refusal(() => requireBotPermissions(granted === null ? null : bits(granted), needed, place));
    if (missing.length === 0) expect(refused).toBeUndefined();
    else expect(refused?.code).toBe('bot-missing-permissions');
  });

  it.each([
    ['en', ['kmplz cannot do that in <#1300000000000000007>: it is missing these permissions there:', '• Create Public Threads', '• Attach Files', 'A server admin can fix this: in that channel’s settings → Permissions, give the **kmplz** role these permissions.']],
    ['ru', ['kmplz не может сделать это в <#1300000000000000007>: там у него нет этих прав:', '• «Создавать публичные ветки»', '• «Прикреплять файлы»', 'Исправить это может администратор сервера: в настройках этого канала → «Права доступа» дайте роли **kmplz** эти права.']],
  ] as const)('names the missing permissions, the channel and who can fix it (%s)', (locale, lines) => {
    const refused = refusal(() => requireBotPermissions(bits(INVITED & ~P.CreatePublicThreads & ~P.AttachFiles), BOT_NEEDS.training, place));
    expect(refused?.render(locale).split('\n')).toEqual(lines);
  });

  it('after Discord’s own refusal, names everything the work needs there', () => {
    expect(refusedByDiscord(BOT_NEEDS.showcase, place).render('en').split('\n')).toEqual([
      'Discord refused kmplz’s post in <#1300000000000000007> for missing permissions. It needs these there:',
      '• View Channel',
      '• Send Messages',
      '• Attach Files',
      '• Embed Links',
      'A server admin can fix this: in that channel’s settings → Permissions, give the **kmplz** role these permissions.',
    ]);
  });
});

describe('Discord’s refusals for missing permissions', () => {
  const apiError = (code: number, status: number) =>
    new DiscordAPIError({ code, message: 'refused' }, code, status, 'POST', 'https://discord.com/api/v10/channels/1/messages', { body: undefined, files: undefined });
  it.each([
    ['50013 Missing Permissions', apiError(50013, 403), true],
    ['50001 Missing Access', apiError(50001, 403), true],
    ['10003 Unknown Channel', apiError(10003, 404), false],
    ['50035 Invalid Form Body', apiError(50035, 400), false],
    ['a network error', new Error('socket hang up'), false],
    ['not an error', 'Missing Permissions', false],
  ] as const)('%s → %s', (_case, error, refused) => {
    expect(isPermissionRefusal(error)).toBe(refused);
  });
});

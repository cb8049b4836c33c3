import { PermissionFlagsBits } from 'discord.js';
import { describe, expect, it } from 'vitest';
import { allCommands } from '../../commands/index.js';
import { parseConfig } from '../../src/config.js';
import type { BotContext } from '../../src/context.js';
import { UserError } from '../../src/errors.js';
import { t } from '../../src/i18n/index.js';
import type { SlashCommand } from '../../src/interactions/command.js';
import { Dispatcher } from '../../src/interactions/dispatcher.js';
import { checkGuards, type Granted, type Guards } from '../../src/interactions/guards.js';
import { EventBus, type BotEventBus } from '../../src/events.js';
import { createLogger } from '../../src/log.js';
import { ALL_BOT_PERMISSIONS, CHANNEL_ID, GUILD_ID, TRAINER_ROLE, fakeInteraction, type Arrival, type Caller, type Said } from './fake-interaction.js';

const config = parseConfig({ DISCORD_TOKEN: 't', TRAINER_ROLE_ID: TRAINER_ROLE });
const trainer: Caller = { roles: [TRAINER_ROLE] };
const member: Caller = { roles: [] };
const dm: Caller = { inGuild: false };
const noAttachFiles = ALL_BOT_PERMISSIONS & ~PermissionFlagsBits.AttachFiles;

const NOT_A_TRAINER = t('en', 'error.not-a-trainer.role', { role: TRAINER_ROLE });
const GUILD_ONLY = t('en', 'error.guild-only');
const missingAttachFiles = (channel: string) => `${t('en', 'error.bot-missing-permissions', { channel })}\n${t('en', 'bot-permissions.item', { permission: t('en', 'permission.attach-files') })}`;

function outcome(run: () => Granted): Granted | { refused: string; text: string } {
  try {
    return run();
  } catch (error) {
    if (error instanceof UserError) return { refused: error.code, text: error.render('en') };
    throw error;
  }
}

describe('checkGuards: each declared guard, in order', () => {
  it.each<[string, Guards, Caller, string | undefined]>([
    ['guild, in a server', ['guild'], member, undefined],
    ['guild, in a direct message', ['guild'], dm, 'guild-only'],
    ['trainer, by a member without the role', ['guild', 'trainer'], member, 'not-a-trainer'],
    ['trainer, by a member with the role', ['guild', 'trainer'], trainer, undefined],
    ['trainer, by someone with Manage Server', ['guild', 'trainer'], { manageGuild: true }, undefined],
    ['guild comes first: a trainer guard in a direct message says the server is missing', ['guild', 'trainer'], dm, 'guild-only'],
    ['a picture where the bot lacks Attach Files', ['guild', { bot: 'picture' }], { app: noAttachFiles }, 'bot-missing-permissions'],
    ['a picture where the bot has everything', ['guild', { bot: 'picture' }], {}, undefined],
    ['a picture where Discord sent no app permissions: goes ahead, Discord’s own refusal is handled later', ['guild', { bot: 'picture' }], { app: null }, undefined],
    ['a picture without Send Messages: answered in the reply, which needs none', ['guild', { bot: 'picture' }], { app: ALL_BOT_PERMISSIONS & ~PermissionFlagsBits.SendMessages }, undefined],
    ['a training without Create Public Threads', ['guild', { bot: 'training' }], { app: ALL_BOT_PERMISSIONS & ~PermissionFlagsBits.CreatePublicThreads }, 'bot-missing-permissions'],
    ['the trainer guard before the bot’s: a member where the bot lacks permissions', ['guild', 'trainer', { bot: 'training' }], { ...member, app: 0n }, 'not-a-trainer'],
    ['all three pass', ['guild', 'trainer', { bot: 'training' }], trainer, undefined],
  ])('%s', (_, guards, caller, refused) => {
    const result = outcome(() => checkGuards(fakeInteraction({ slash: 'x' }, caller).interaction, guards, config));
    if (refused) expect(result).toMatchObject({ refused });
    else expect(result).toEqual({ guildId: GUILD_ID });
  });

  it('words each refusal as the handlers did: the role to ask for, the channel and the missing permission', () => {
    expect(outcome(() => checkGuards(fakeInteraction({ slash: 'x' }, member).interaction, ['guild', 'trainer'], config))).toMatchObject({ text: NOT_A_TRAINER });
    const withoutRole = parseConfig({ DISCORD_TOKEN: 't' });
    expect(outcome(() => checkGuards(fakeInteraction({ slash: 'x' }, member).interaction, ['guild', 'trainer'], withoutRole))).toMatchObject({ text: t('en', 'error.not-a-trainer') });
    expect(outcome(() => checkGuards(fakeInteraction({ slash: 'x' }, dm).interaction, ['guild'], config))).toMatchObject({ text: GUILD_ONLY });
    const picture = outcome(() => checkGuards(fakeInteraction({ slash: 'x' }, { app: noAttachFiles, inThread: true }).interaction, ['guild', { bot: 'picture' }], config));
    expect((picture as { text: string }).text.startsWith(missingAttachFiles('1100000000000000003'))).toBe(true);
    // A training from a thread goes in the thread's channel: the refusal names that channel.
    const training = outcome(() => checkGuards(fakeInteraction({ slash: 'x' }, { ...trainer, app: noAttachFiles, inThread: true }).interaction, ['guild', { bot: 'training' }], config));
    expect((training as { text: string }).text.startsWith(missingAttachFiles(CHANNEL_ID))).toBe(true);
  });
});

/**
 * The dispatcher's own needs (config, log, events) and nothing a handler would use: each use of
 * the rest throws, so a handler reached past a guard shows up as an unexpected error.
 */
function untouchableContext(events: BotEventBus): BotContext {
  const log = createLogger({ level: 'silent' });
  const reached = new Proxy({}, { get: (_, key) => { throw new Error(`the handler ran: it used ctx.${String(key)}`); } });
  return new Proxy({ config, log, events } as BotContext, { get: (target, key) => (key in target ? target[key as keyof BotContext] : reached) });
}

/** Dispatches one interaction as the gateway listener does, and waits until the dispatcher calls it handled. */
async function dispatch(commands: readonly SlashCommand[], arrival: Arrival, caller: Caller): Promise<Said[] & { refused?: string }> {
  const { interaction, said } = fakeInteraction(arrival, caller);
  const events = new EventBus();
  const refused: string[] = [];
  events.on('interaction.refused', ({ code }) => refused.push(code));
  let handled!: () => void;
  const done = new Promise<void>((resolve) => (handled = resolve));
  const cluster = { claimInteraction: async () => ({ acknowledged: false }), holds: async () => true, acknowledged: async () => {}, handled: async () => handled(), othersAlive: async () => false };
  new Dispatcher(commands, untouchableContext(events), cluster).handle(interaction);
  await done;
  return Object.assign(said, { refused: refused.join() || undefined });
}

/** The one answer the caller got, for them alone: the last thing said, and the refusal's code. */
function refusalOf(said: Said[] & { refused?: string }, code: string): string | undefined {
  const last = said.at(-1);
  expect(last?.ephemeral, JSON.stringify(said)).toBe(true);
  expect(said.refused).toBe(code);
  return last?.content;
}

describe('the dispatcher enforces the guards the commands declare', () => {
  // Who may do what (the user-facing contract): each of these is a trainer's, refused to a member
  // before its handler runs. A guard dropped from a declaration lets the handler run, which uses
  // the context and ends in an unexpected error instead of this refusal.
  it.each<[string, Arrival]>([
    ['/train', { slash: 'train' }],
    ['/publish', { slash: 'publish' }],
    ['/dataset add', { slash: 'dataset', subcommand: 'add' }],
    ['/dataset remove', { slash: 'dataset', subcommand: 'remove', options: { name: 'a' } }],
    ['/dataset clear', { slash: 'dataset', subcommand: 'clear' }],
    ['/caption (the dataset)', { slash: 'caption' }],
    ['/checkpoints use:', { slash: 'checkpoints', options: { use: 250 } }],
    ['the message menu Add to kmplz dataset', { menu: 'Add to kmplz dataset' }],
    ['Start', { button: 'train:start:abc' }],
    ['Cancel of a plan', { button: 'train:discard:abc' }],
    ['Caption first', { button: 'train:caption:abc' }],
    ['Stop after this checkpoint', { button: 'train:stop:abc:250' }],
    ['Cancel the training', { button: 'train:cancel:abc' }],
    ['Close the vote', { button: 'train:close:abc' }],
    ['the dataset clear confirmation', { button: 'dataset:clear:yes:token' }],
    ['Edit a caption', { button: 'caption:edit:a' }],
    ['Save a caption', { modal: 'caption:save:a' }],
  ])('%s: a member is refused as not a trainer, for their eyes only', async (_, arrival) => {
    expect(refusalOf(await dispatch(allCommands, arrival, member), 'not-a-trainer')).toBe(NOT_A_TRAINER);
  });

  it.each<[string, Arrival]>([
    ['/kmplz', { slash: 'kmplz', options: { prompt: 'a house' } }],
    ['/compare', { slash: 'compare', options: { prompt: 'a house', axis: 'steps', values: '2,3' } }],
    ['Again', { button: 'kmplz:again:job' }],
  ])('%s where the bot cannot attach the picture: refused, naming the permission', async (_, arrival) => {
    expect(refusalOf(await dispatch(allCommands, arrival, { app: noAttachFiles }), 'bot-missing-permissions')?.startsWith(missingAttachFiles(CHANNEL_ID))).toBe(true);
  });

  it.each<[string, Arrival]>([
    ['/train', { slash: 'train' }],
    ['Start', { button: 'train:start:abc' }],
  ])('%s by a trainer where the bot cannot post the previews: refused, naming the permission', async (_, arrival) => {
    expect(refusalOf(await dispatch(allCommands, arrival, { ...trainer, app: noAttachFiles }), 'bot-missing-permissions')?.startsWith(missingAttachFiles(CHANNEL_ID))).toBe(true);
  });

  // Every handler of every command, in a direct message: none of them has anything to work on there.
  const everyHandler: [string, Arrival][] = allCommands.flatMap((command) => [
    ...(command.data.options?.some((o) => o.type === 1) ? command.data.options.map((o): [string, Arrival] => [`/${command.data.name} ${o.name}`, { slash: command.data.name, subcommand: o.name }]) : [[`/${command.data.name}`, { slash: command.data.name }] as [string, Arrival]]),
    ...Object.keys(command.components ?? {}).map((action): [string, Arrival] => [`${command.data.name}:${action}`, { button: `${command.data.name}:${action}:x` }]),
    ...(command.menus ?? []).map((menu): [string, Arrival] => [menu.data.name, { menu: menu.data.name }]),
  ]);
  it.each(everyHandler)('%s in a direct message: refused, the server is missing', async (_, arrival) => {
    expect(refusalOf(await dispatch(allCommands, arrival, dm), 'guild-only')).toBe(GUILD_ONLY);
  });

  it('checks after the acknowledgement, so the refusal edits the ephemeral reply as the handlers’ own checks did', async () => {
    const said = await dispatch(allCommands, { slash: 'publish' }, member);
    expect([...said]).toEqual([{ call: 'deferReply', ephemeral: true }, { call: 'editReply', content: NOT_A_TRAINER, ephemeral: true }]);
  });

  it('hands the handler what the guards established, and runs it once they pass', async () => {
    const seen: Granted[] = [];
    const probe: SlashCommand = {
      data: { name: 'probe', description: 'probe' },
      guards: ['guild', 'trainer'],
      defer: () => 'ephemeral',
      async execute(_interaction, _ctx, granted) {
        seen.push(granted);
      },
    };
    await dispatch([probe], { slash: 'probe' }, trainer);
    expect(seen).toEqual([{ guildId: GUILD_ID }]);
    await dispatch([probe], { slash: 'probe' }, member);
    expect(seen).toHaveLength(1);
  });
});

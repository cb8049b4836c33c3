import { SlashCommandBuilder, type ChatInputCommandInteraction } from 'discord.js';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { checkpoints } from '../../commands/checkpoints.js';
import { UserError } from '../../src/errors.js';
import type { SlashCommand } from '../../src/interactions/command.js';
import { respond } from '../../src/interactions/respond.js';
import { startDiscordEmulator, type DiscordEmulator } from '../emulators/discord/index.js';
import { startTestBot, type TestBot } from '../support/bot.js';

/** Commands that exist only in this test, to drive the dispatcher's error handling. */
function testCommand(name: string, defer: 'public' | 'ephemeral' | 'none', run: (i: ChatInputCommandInteraction) => Promise<void>): SlashCommand {
  return { data: new SlashCommandBuilder().setName(name).setDescription(name).toJSON(), guards: ['guild'], defer: () => defer, execute: (i) => run(i) };
}

const probes: SlashCommand[] = [
  checkpoints,
  testCommand('refuse', 'none', async () => {
    throw new UserError('test-refusal', 'You cannot do that here.');
  }),
  testCommand('crash', 'public', async () => {
    throw new Error('kaboom: a bug');
  }),
  testCommand('slow-crash', 'none', async () => {
    // Past the (shortened) acknowledgement deadline: the error reply itself will fail.
    await new Promise((resolve) => setTimeout(resolve, 400));
    throw new Error('too late');
  }),
  testCommand('mention', 'none', async (i) => respond(i, { content: '@everyone look at this <@&123456789012345678>' })),
];

let discord: DiscordEmulator;
let bot: TestBot;

beforeAll(async () => {
  discord = await startDiscordEmulator({ ackDeadlineMs: 300 });
  bot = await startTestBot({ discord }, { deps: { commands: probes } });
});
afterAll(async () => {
  await bot?.stop();
  await discord?.close();
});
afterEach(() => discord.assertNoSpecErrors());

describe('foundation, end to end with the real discord.js client', () => {
  it('answers /checkpoints plainly when nothing has been trained', async () => {
    const slash = await discord.slash({ name: 'checkpoints', user: discord.users.carol });
    const ack = await slash.ack();
    expect(ack.type).toBe(5);
    const reply = await slash.waitForOriginal();
    expect(reply.content).toMatch(/No checkpoints yet: nothing has been trained on this server/);
    expect(reply.content).toMatch(/\/dataset add/);
  });

  it('shows a UserError to its caller alone, logged without a stack', async () => {
    const slash = await discord.slash({ name: 'refuse', user: discord.users.carol });
    const ack = await slash.ack();
    expect(ack.type).toBe(4);
    const data = ack.data as { content?: string; flags?: number };
    expect(data.content).toBe('You cannot do that here.');
    expect(Number(data.flags) & 64).toBe(64);
    expect(bot.eventsOf('interaction.refused').find((e) => e.interactionId === slash.id)).toMatchObject({ code: 'test-refusal', command: 'refuse', userId: discord.users.carol.id });
    const line = bot.logs().find((l) => l.interactionId === slash.id && l.code === 'test-refusal');
    expect(line).toMatchObject({ level: 30, command: 'refuse', userId: discord.users.carol.id });
    expect(line).not.toHaveProperty('err');
  });

  it('answers an unexpected error with a reference id, privately, even after a public defer', async () => {
    const slash = await discord.slash({ name: 'crash', user: discord.users.dave });
    expect((await slash.ack()).type).toBe(5);
    const followUp = await slash.waitForFollowUp();
    expect(followUp.ephemeral).toBe(true);
    const reference = /`([0-9a-f]{8})`/.exec(followUp.content ?? '')?.[1];
    expect(reference).toBeDefined();
    expect(followUp.content).not.toContain('kaboom');
    expect(bot.eventsOf('interaction.failed').find((e) => e.interactionId === slash.id)).toMatchObject({ reference, command: 'crash' });
    const logged = bot.logs().find((l) => l.reference === reference);
    expect(logged).toMatchObject({ level: 50, interactionId: slash.id, command: 'crash' });
    expect(JSON.stringify(logged?.err)).toContain('kaboom: a bug');
    expect(JSON.stringify(logged?.err)).toContain('stack');
    // The public "thinking…" message did not stay behind in the group chat.
    expect(slash.original()?.deleted ?? true).toBe(true);
  });

  it('survives an error reply that fails (the interaction expired) and keeps answering', async () => {
    const late = await discord.slash({ name: 'slow-crash', user: discord.users.dave });
    await expect(late.ack(1000)).rejects.toThrow();
    await discord.waitFor(() => bot.eventsOf('interaction.answer-failed').find((e) => e.interactionId === late.id), 3000, 'the failed error reply to be reported');
    discord.specErrors.length = 0;
    const next = await discord.slash({ name: 'checkpoints' });
    expect((await next.waitForOriginal()).content).toMatch(/No checkpoints yet/);
  });

  it('lets nothing it posts ping anyone', async () => {
    const slash = await discord.slash({ name: 'mention' });
    await slash.ack();
    const request = discord.requests.find((r) => r.path.includes(`/interactions/${slash.id}/`));
    expect((request?.body as { data?: { allowed_mentions?: unknown } })?.data?.allowed_mentions).toMatchObject({ parse: [] });
  });

  it('logs one child line per interaction with its context, and never a token', async () => {
    const slash = await discord.slash({ name: 'checkpoints', user: discord.users.bob });
    await slash.waitForOriginal();
    const context = { interactionId: slash.id, command: 'checkpoints', userId: discord.users.bob.id, guildId: discord.guild().id, kind: 'command' };
    expect(await discord.waitFor(() => bot.eventsOf('interaction.handled').find((e) => e.interactionId === slash.id), 3000, 'the interaction to be handled')).toEqual(context);
    // Every line the interaction's child logger wrote carries that context.
    const lines = bot.logs().filter((l) => l.interactionId === slash.id);
    expect(lines.length).toBeGreaterThan(0);
    for (const line of lines) expect(line).toMatchObject(context);
    const everything = bot.logLines.join('\n');
    expect(everything).not.toContain(discord.token);
    expect(everything).not.toContain(slash.token);
  });
});

import { randomBytes } from 'node:crypto';
import { SlashCommandBuilder, type ChatInputCommandInteraction } from 'discord.js';
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import { allCommands } from '../../commands/index.js';
import type { SlashCommand } from '../../src/interactions/command.js';
import type { DiscordEmulator, InteractionHandle, StoredMessage } from '../emulators/discord/index.js';
import type { ReplicateEmulator } from '../emulators/replicate/index.js';
import { captureLogger } from '../support/log.js';
import { startWorld, type World } from '../support/world.js';

/**
 * Tokens shaped like the real ones (a Discord bot token is base64(user id).timestamp.hmac; a
 * Replicate token is r8_ and 37 letters and digits): the bot's logger is NOT told them, so only
 * its token-shaped patterns (src/log.ts) stand between them and a log line.
 */
const alnum = (n: number) => randomBytes(n * 2).toString('base64').replace(/[^A-Za-z0-9]/g, '').slice(0, n);
const DISCORD_TOKEN = `MTE0NjQ3MzQwMDUwMzQ1NjcxOA.${alnum(6)}.${alnum(38)}`;
const REPLICATE_TOKEN = `r8_${alnum(37)}`;
const ACK_DEADLINE_MS = 1500;

function probe(name: string, defer: 'public' | 'none', run: (i: ChatInputCommandInteraction) => Promise<void>): SlashCommand {
  return { data: new SlashCommandBuilder().setName(name).setDescription(name).toJSON(), guards: ['guild'], defer: () => defer, execute: (i) => run(i) };
}

const probes: SlashCommand[] = [
  // An unexpected error that quotes the request it failed, as HTTP libraries' errors do: the
  // interaction's webhook URL, the bot's Authorization header, Replicate's, and a bare token.
  probe('crash', 'public', async (i) => {
    const error = new Error(`PATCH /api/v10/webhooks/${i.applicationId}/${i.token}/messages/@original failed (Authorization: Bot ${DISCORD_TOKEN})`);
    throw Object.assign(error, {
      request: { url: '/v1/predictions', headers: { Authorization: `Bearer ${REPLICATE_TOKEN}` } },
      cause: new Error(`Replicate refused the token ${REPLICATE_TOKEN}`),
    });
  }),
  // Answers after Discord's deadline: the error answer itself fails, and discord.js's error holds
  // the callback URL, interaction token included.
  probe('late', 'none', async () => {
    await new Promise((resolve) => setTimeout(resolve, ACK_DEADLINE_MS + 300));
    throw new Error('too late');
  }),
];

let discord: DiscordEmulator;
let replicate: ReplicateEmulator;
let world: World;
const captured = captureLogger([]);
const handles: InteractionHandle[] = [];

beforeAll(async () => {
  world = await startWorld({
    discord: { token: DISCORD_TOKEN, ackDeadlineMs: ACK_DEADLINE_MS },
    replicate: { token: REPLICATE_TOKEN },
    checkpointSteps: [250],
    dataset: [{ name: 'ref', colour: '#606060', caption: 'KMPLZ, a drawing of a house' }],
    deps: { log: captured.log, commands: [...allCommands, ...probes] },
  });
  ({ discord, replicate } = world);
});
afterAll(() => world?.stop());
afterEach(() => world.expectCleanRequests());

const answered = (m: StoredMessage) => m.attachments.length > 0 || /could not|trouble|busy/i.test(m.content);

describe('no token in any log line or in anything shown to users (the logger knows no secret)', () => {
  it('drives the error paths: a failed prediction, failing polls, an unexpected error, a failed error answer', async () => {
    // The model fails.
    replicate.oncePrediction(replicate.refs.sdxl, async () => {
      throw new Error('CUDA out of memory');
    });
    const failed = await discord.slash({ name: 'kmplz', options: { prompt: 'a house in the rain', steps: 2 } });
    handles.push(failed);
    expect((await failed.waitForOriginal(answered, 20_000)).content).toMatch(/could not be made/);
    // One that works, with polls failing on the way.
    replicate.inject('predictions.get', { status: 503 }, 3);
    const drawn = await discord.slash({ name: 'kmplz', options: { prompt: 'a house by the sea', steps: 2 } });
    handles.push(drawn);
    expect((await drawn.waitForOriginal(answered, 20_000)).attachments).toHaveLength(2);

    // An unexpected error: the user gets a reference, the log the error.
    const crash = await discord.slash({ name: 'crash' });
    handles.push(crash);
    const followUp = await crash.waitForFollowUp();
    const reference = /`([0-9a-f]{8})`/.exec(followUp.content ?? '')?.[1];
    expect(reference).toBeDefined();
    expect(world.bot.eventsOf('interaction.failed').find((e) => e.interactionId === crash.id)?.reference).toBe(reference);
    const logged = captured.records().find((l) => l.reference === reference);
    expect(JSON.stringify(logged)).toContain('/messages/@original failed');
    // A button nobody made: also unexpected.
    const anchor = await (await discord.slash({ name: 'help' })).waitForOriginal();
    const forged = await discord.button({ customId: 'nothing:here:1', message: anchor, forged: true });
    handles.push(forged);
    const forgedFailure = await vi.waitFor(() => world.bot.eventsOf('interaction.failed').find((e) => e.interactionId === forged.id) ?? expect.fail('not failed yet'), 5000);
    expect(captured.records().some((l) => l.interactionId === forged.id && l.reference === forgedFailure.reference)).toBe(true);

    // An error answer that fails: discord.js's error carries the callback URL with the token.
    const late = await discord.slash({ name: 'late' });
    handles.push(late);
    await vi.waitFor(() => expect(world.bot.eventsOf('interaction.answer-failed').some((e) => e.interactionId === late.id)).toBe(true), 5000);
    // The log line of that failure (the one holding the error) names the callback URL with its token redacted.
    const failedAnswer = captured.records().find((l) => l.interactionId === late.id && JSON.stringify(l.err ?? '').includes('/callback'));
    expect(JSON.stringify(failedAnswer)).toContain(`/interactions/${late.id}/[redacted]/callback`);
    // Discord refused that late answer (10062), as it should have.
    discord.specErrors.length = 0;
  });

  it('no log line and nothing the bot sent holds the bot, Replicate or an interaction token', () => {
    const interactionTokens = new Set([
      ...handles.map((h) => h.token),
      ...discord.requests.flatMap((r) => [...r.path.matchAll(/\/(?:webhooks|interactions)\/\d+\/([A-Za-z0-9_.-]{20,})/g)].map((m) => m[1]!)),
    ]);
    expect(interactionTokens.size).toBeGreaterThanOrEqual(handles.length);
    const secrets: [string, string][] = [
      ['the bot token', DISCORD_TOKEN],
      ['the Replicate token', REPLICATE_TOKEN],
      ...[...interactionTokens].map((t): [string, string] => [`the interaction token …${t.slice(-12)}`, t]),
    ];
    const logs = captured.lines.join('\n');
    expect(logs).toContain('[redacted]');
    // What users were shown: every body the bot sent Discord (contents, embeds, components, files' names).
    const shown = JSON.stringify(discord.requests.map((r) => [r.body, r.files.map((f) => f.filename)]));
    const sentToReplicate = JSON.stringify(replicate.requests.map((r) => r.body));
    for (const [what, secret] of secrets) {
      expect(logs.includes(secret), `a log line holds ${what}`).toBe(false);
      expect(shown.includes(secret), `a message sent to Discord holds ${what}`).toBe(false);
      expect(sentToReplicate.includes(secret), `a request to Replicate holds ${what}`).toBe(false);
    }
  });
});

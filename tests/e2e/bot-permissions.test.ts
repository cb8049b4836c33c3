import { PermissionFlagsBits } from 'discord.js';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { type ActiveCheckpoint, type TrainingRecord } from '../../src/training/records.js';
import { MAX_DISCORD_REFUSALS } from '../../src/training/supervisor.js';
import type { DiscordEmulator, InteractionHandle, RecordedRequest, StoredMessage } from '../emulators/discord/index.js';
import type { ReplicateEmulator } from '../emulators/replicate/index.js';
import type { TestBot } from '../support/bot.js';
import { startWorld, type World } from '../support/world.js';
import { buttonOf, classTrainingWorld, eventually, isFinal, startTraining } from '../training/e2e-helpers.js';
import { keys } from '../../src/store/keys.js';

/** The server's channels: #general (first), the showcase, #studio and #closed, where tests take permissions away. */
const SHOWCASE_ID = '1300000000000000101';
const STUDIO_ID = '1300000000000000102';
const CLOSED_ID = '1300000000000000103';

let discord: DiscordEmulator;
let replicate: ReplicateEmulator;
let bot: TestBot;
let world: World;

beforeAll(async () => {
  const base = classTrainingWorld();
  world = await startWorld({
    ...base,
    discord: {
      guilds: [{ ...base.discord!.guilds![0], channels: [{ name: 'general' }, { id: SHOWCASE_ID, name: 'showcase' }, { id: STUDIO_ID, name: 'studio' }, { id: CLOSED_ID, name: 'closed' }] }],
    },
    checkpointSteps: [500],
    env: { ...base.env, SHOWCASE_CHANNEL_ID: SHOWCASE_ID },
  });
  ({ discord, replicate, bot } = world);
});
afterAll(() => world?.stop());
afterEach(() => {
  // Every test gives the bot back what it took away.
  for (const channel of discord.textChannels()) discord.setBotPermissions(channel.id, {});
  world.expectCleanRequests();
});

const P = PermissionFlagsBits;
const general = () => discord.textChannels()[0]!.id;
const guildId = () => discord.guild().id;
const store = () => bot.app.context.store;
const done = (m: StoredMessage) => m.attachments.length > 0;
const starOf = (m: StoredMessage) => buttonOf(m, 'kmplz:showcase:');
const refused = (r: RecordedRequest) => r.status === 403;
const postsTo = (channelId: string) => (r: RecordedRequest) => r.method === 'POST' && r.path === `/channels/${channelId}/messages`;
const FIX = /A server admin can fix this: in that channel’s settings → Permissions, give the \*\*kmplz\*\* role these permissions\./;

/**
 * The one answer a refused interaction gets, for its caller alone: the reply of an ephemeral
 * deferral, or a follow-up (after a deferred update, or once a public "thinking…" was removed).
 */
async function refusal(handle: InteractionHandle, from: 'reply' | 'follow-up' = 'reply'): Promise<StoredMessage> {
  const answer = from === 'reply' ? await handle.waitForOriginal((m) => !m.loading, 10_000) : await handle.waitForFollowUp(() => true, 10_000);
  expect(answer.ephemeral).toBe(true);
  return answer;
}

describe('/train where the bot cannot post its thread', () => {
  it('is refused up front, naming the permission; nothing is planned or paid; the same /train in a channel that works shows its plan', async () => {
    const trainingsBefore = replicate.trainings.size;
    const filesBefore = replicate.files.size;
    discord.setBotPermissions(CLOSED_ID, { deny: P.CreatePublicThreads });
    const slash = await discord.slash({ name: 'train', user: discord.users.bob, channelId: CLOSED_ID });
    const answer = await refusal(slash);
    expect(answer.content).toMatch(new RegExp(`^kmplz cannot do that in <#${CLOSED_ID}>: it is missing these permissions there:\\n• Create Public Threads\\n`));
    expect(answer.content).toMatch(FIX);
    expect(answer.embeds).toEqual([]);
    expect(answer.components).toEqual([]);

    // The same trainer in a channel the bot can use gets the plan with its Start button.
    const good = await discord.slash({ name: 'train', user: discord.users.bob, channelId: STUDIO_ID });
    const confirmation = await good.waitForOriginal((m) => !m.loading && m.components.length > 0, 10_000);
    expect(confirmation.embeds[0]?.title).toMatch(/KMPLZ/);

    // The channel changes between the plan and Start: Start is refused too, and starts nothing.
    discord.setBotPermissions(STUDIO_ID, { deny: P.AttachFiles | P.SendMessagesInThreads });
    const start = await discord.button({ customId: buttonOf(confirmation, 'train:start:'), message: confirmation, user: discord.users.bob });
    const startRefused = await refusal(start, 'follow-up');
    expect(startRefused.content).toMatch(new RegExp(`^kmplz cannot do that in <#${STUDIO_ID}>: it is missing these permissions there:\\n• Send Messages in Threads\\n• Attach Files\\n`));
    expect(await store().get(keys.running(guildId()))).toBeUndefined();
    expect(replicate.trainings.size).toBe(trainingsBefore);
    expect(replicate.files.size).toBe(filesBefore);
    expect(discord.messagesIn(CLOSED_ID)).toEqual([]);
    expect(discord.messagesIn(STUDIO_ID)).toEqual([]);
  });
});

describe('the showcase channel where the bot cannot post', () => {
  it('⭐ and /showcase say which permissions are missing there and post nothing; once the channel works, ⭐ posts', async () => {
    const result = await (await discord.slash({ name: 'kmplz', user: discord.users.carol, options: { prompt: 'a sad girl in a hoodie', steps: 3, seed: 5 } })).waitForOriginal(done, 15_000);
    const link = `https://discord.com/channels/${guildId()}/${result.channelId}/${result.id}`;
    const expected = new RegExp(`^kmplz cannot do that in <#${SHOWCASE_ID}>: it is missing these permissions there:\\n• Send Messages\\n• Attach Files\\n`);

    // The bot's cache knows (CHANNEL_UPDATE): refused before posting, so Discord is not even asked.
    discord.setBotPermissions(SHOWCASE_ID, { deny: P.SendMessages | P.AttachFiles });
    const star = await discord.button({ customId: starOf(result), message: result, user: discord.users.dave });
    const starAnswer = await refusal(star);
    expect(starAnswer.content).toMatch(expected);
    expect(starAnswer.content).toMatch(FIX);
    const byLink = await refusal(await discord.slash({ name: 'showcase', options: { link } }));
    expect(byLink.content).toMatch(expected);
    expect(discord.requests.filter(postsTo(SHOWCASE_ID))).toEqual([]);

    // Taken away a moment ago, before the bot heard of it: Discord refuses the post, and the answer says what a showcase post needs.
    discord.setBotPermissions(SHOWCASE_ID, {});
    discord.setBotPermissions(SHOWCASE_ID, { deny: P.EmbedLinks }, { announce: false });
    const raced = await refusal(await discord.button({ customId: starOf(result), message: result, user: discord.users.dave }));
    expect(raced.content).toMatch(
      new RegExp(`^Discord refused kmplz’s post in <#${SHOWCASE_ID}> for missing permissions\\. It needs these there:\\n• View Channel\\n• Send Messages\\n• Attach Files\\n• Embed Links\\n`),
    );
    expect(discord.requests.filter(postsTo(SHOWCASE_ID)).map((r) => r.status)).toEqual([403]);
    expect(discord.messagesIn(SHOWCASE_ID)).toEqual([]);

    // The admin fixes the channel: the same ⭐ posts, once (the refused attempts kept no mark).
    discord.setBotPermissions(SHOWCASE_ID, {});
    const posted = await discord.button({ customId: starOf(result), message: result, user: discord.users.dave });
    expect((await posted.waitForOriginal((m) => !m.loading, 10_000)).content).toMatch(/Posted to the showcase/);
    expect(discord.messagesIn(SHOWCASE_ID)).toHaveLength(1);
  });
});

describe('/kmplz, 🎲 and /compare where the bot cannot attach files', () => {
  it('are refused up front, naming the permission, and no picture is paid for', async () => {
    const earlier = await (await discord.slash({ name: 'kmplz', channelId: CLOSED_ID, options: { prompt: 'a dog', steps: 2 } })).waitForOriginal(done, 15_000);
    const predictionsBefore = replicate.predictions.size;
    discord.setBotPermissions(CLOSED_ID, { deny: P.AttachFiles });
    const expected = new RegExp(`^kmplz cannot do that in <#${CLOSED_ID}>: it is missing these permissions there:\\n• Attach Files\\n`);
    const kmplz = await refusal(await discord.slash({ name: 'kmplz', channelId: CLOSED_ID, options: { prompt: 'a cat', steps: 2 } }), 'follow-up');
    expect(kmplz.content).toMatch(expected);
    expect(kmplz.content).toMatch(FIX);
    const compare = await refusal(await discord.slash({ name: 'compare', channelId: CLOSED_ID, options: { prompt: 'a cat', axis: 'steps', values: '2,3' } }), 'follow-up');
    expect(compare.content).toMatch(expected);
    const again = await refusal(await discord.button({ customId: buttonOf(earlier, 'kmplz:again:'), message: earlier }), 'follow-up');
    expect(again.content).toMatch(expected);
    // Nothing public stays behind: the deferred "thinking…" placeholders went.
    expect(discord.messagesIn(CLOSED_ID).map((m) => m.id)).toEqual([earlier.id]);
    expect(replicate.predictions.size).toBe(predictionsBefore);
  });
});

describe('a permission taken away while a training runs', () => {
  it('between Start and its thread: the training fails after a bounded number of refusals, before anything is paid, and frees the server', async () => {
    const trainingsBefore = replicate.trainings.size;
    const filesBefore = replicate.files.size;
    const threadCreate = (r: RecordedRequest) => r.method === 'POST' && /^\/channels\/\d+\/messages\/\d+\/threads$/.test(r.path);
    // Discord holds the thread back a moment (a 429), and meanwhile an admin takes Create Public Threads away.
    discord.inject429(threadCreate, { retryAfter: 0.3 });
    const slash = await discord.slash({ name: 'train', user: discord.users.bob, options: { steps: 500, checkpoint_every: 250 } });
    const confirmation = await slash.waitForOriginal((m) => !m.loading && m.components.length > 0, 10_000);
    const start = buttonOf(confirmation, 'train:start:');
    await discord.button({ customId: start, message: confirmation, user: discord.users.bob });
    await discord.waitFor(() => (discord.requests.some((r) => threadCreate(r) && r.status === 429) ? true : undefined), 10_000, 'the held-back thread');
    discord.setBotPermissions(general(), { deny: P.CreatePublicThreads });

    const trainingId = start.split(':')[2]!;
    await eventually(async () => ((await store().get(keys.running(guildId()))) === undefined ? true : undefined), 'the training to end and free the server', 20_000);
    const ended = (await store().get<TrainingRecord>(keys.training(guildId(), trainingId)))!;
    expect(ended.status).toBe('failed');
    expect(ended.failure).toBe(`Discord refused kmplz’s posts in <#${general()}> for missing permissions, so the training stopped before any run was started`);
    expect(ended.threadId).toBeUndefined();
    expect(discord.requests.filter((r) => threadCreate(r) && refused(r))).toHaveLength(MAX_DISCORD_REFUSALS);
    expect(bot.logs().some((line) => line.level === 50 && /Discord keeps refusing to open the training’s thread/.test(String(line.msg)) && line.trainingId === trainingId)).toBe(true);
    expect(replicate.trainings.size).toBe(trainingsBefore);
    expect(replicate.files.size).toBe(filesBefore);
    // With no thread to say it in, /checkpoints tells why the training ended.
    const listed = await (await discord.slash({ name: 'checkpoints' })).waitForOriginal(undefined, 10_000);
    expect(listed.content).toBe(`The last training ended without a checkpoint. Why: ${ended.failure}. A trainer can start \`/train\` again once that is fixed.`);
  });

  it('the supervisor stops posting after a bounded number of refusals, logs it, keeps every checkpoint, ends the training, and the next /train starts', async () => {
    const { trainingId, threadId } = await startTraining(discord, { steps: 1000, checkpoint_every: 250 });
    const record = () => store().get<TrainingRecord>(keys.training(guildId(), trainingId));
    // Once the thread holds its status message, an admin takes Send Messages in Threads away from the bot in #general (the thread's parent).
    await discord.waitForMessage(threadId, () => true, 10_000);
    discord.setBotPermissions(general(), { deny: P.SendMessagesInThreads });

    await eventually(async () => ((await store().get(keys.running(guildId()))) === undefined ? true : undefined), 'the training to end and free the server', 30_000);
    const ended = (await record())!;
    // Bounded: exactly that many refused posts in the thread, and none once it gave up.
    const refusedPosts = () => discord.requests.filter((r) => postsTo(threadId)(r) && refused(r)).length;
    expect(refusedPosts()).toBe(MAX_DISCORD_REFUSALS);
    await new Promise((resolve) => setTimeout(resolve, 500));
    expect(refusedPosts()).toBe(MAX_DISCORD_REFUSALS);
    expect(ended.discordRefusals).toMatchObject({ count: MAX_DISCORD_REFUSALS, code: 50013, gaveUpAt: expect.any(Number) });
    expect(bot.logs().some((line) => line.level === 50 && /Discord keeps refusing the training’s posts/.test(String(line.msg)) && line.trainingId === trainingId)).toBe(true);

    // The training's data is whole: it ran to its end at Replicate, every checkpoint is stored, and the last one is in use.
    expect(ended.status).toBe('succeeded');
    expect(ended.runs?.map((run) => run.status)).toEqual(['succeeded', 'succeeded', 'succeeded', 'succeeded']);
    expect(ended.checkpoints.map((c) => [c.step, Boolean(c.weightsUrl)])).toEqual([250, 500, 750, 1000].map((step) => [step, true]));
    expect(await store().get<ActiveCheckpoint>(keys.activeCheckpoint(guildId()))).toEqual({ trainingId, step: 1000, chosenBy: 'last' });
    expect(discord.messagesIn(threadId).some(isFinal)).toBe(false);
    // The class hears it where the bot can still answer: /checkpoints says why the thread went quiet.
    const listed = await (await discord.slash({ name: 'checkpoints' })).waitForOriginal(undefined, 10_000);
    expect(listed.embeds[0]?.description).toContain(`Discord refused kmplz’s posts in <#${threadId}> for missing permissions`);

    // Nothing blocks the server: a /train in another channel starts and finishes.
    const next = await startTraining(discord, { steps: 500, checkpoint_every: 250 }, { channelId: STUDIO_ID });
    expect(next.trainingId).not.toBe(trainingId);
    await discord.waitForMessage(next.threadId, isFinal, 30_000);
    expect(refusedPosts()).toBe(MAX_DISCORD_REFUSALS);
  }, 60_000);
});

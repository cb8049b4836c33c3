import { describe, expect, it } from 'vitest';
import { type ActiveCheckpoint, type TrainingRecord } from '../../src/training/records.js';
import type { DiscordEmulator, EmulatedUser, StoredMessage } from '../emulators/discord/index.js';
import type { ReplicateEmulator } from '../emulators/replicate/index.js';
import type { TestBot } from '../support/bot.js';
import { useRestartableBot } from '../support/restartable-bot.js';
import { buttonOf, customIdsOf, eventually, isFinal, previewsIn, startTraining } from '../training/e2e-helpers.js';
import { keys } from '../../src/store/keys.js';

/**
 * Issue 17: the natural moment to vote is once every preview is up, so without `vote_minutes`
 * the vote stays open after the training (a day, or until a trainer closes it), `/kmplz` draws
 * with the leader meanwhile, and the result is announced once when it closes — restarts or not.
 * Blind votes get the same window, their steps hidden until it closes.
 */

let discord: DiscordEmulator;
let replicate: ReplicateEmulator;
let bot: TestBot | undefined;
/** The bot's clock can be moved ahead of the real one: a test moves it past the deadline across a restart. */
const restartable = useRestartableBot('vote-window', (current) => ({ discord, replicate, bot } = current));
const clock = restartable.clock;
const HOUR = 60 * 60_000;

const guildId = () => discord.guild().id;
const isResult = (m: StoredMessage) => customIdsOf(m).some((id) => id.endsWith(':result'));
const active = () => bot!.app.context.store.get<ActiveCheckpoint>(keys.activeCheckpoint(guildId()));
const record = async (trainingId: string) => (await bot!.app.context.store.get<TrainingRecord>(keys.training(guildId(), trainingId)))!;
const weightsOf = async (trainingId: string, step: number) => (await record(trainingId)).checkpoints.find((c) => c.step === step)!.weightsUrl;
const clickVote = async (message: StoredMessage, user: EmulatedUser) => (await discord.button({ customId: buttonOf(message, 'train:vote:'), message, user })).waitForOriginal();
const clickClose = async (final: StoredMessage, user: EmulatedUser) => (await discord.button({ customId: buttonOf(final, 'train:close:'), message: final, user })).waitForOriginal((m) => !m.loading, 10_000);
/** The weights `/kmplz` drew with: those of the prediction it created. */
async function kmplzWeights(prompt: string, user: EmulatedUser): Promise<unknown> {
  const before = new Set(replicate.predictions.keys());
  const reply = await (await discord.slash({ name: 'kmplz', user, options: { prompt, steps: 2 } })).waitForOriginal((m) => m.attachments.length > 0 || /kmplz draws|no trained checkpoint/.test(m.content), 15_000);
  expect(reply.attachments.length, reply.content).toBeGreaterThan(0);
  const created = [...replicate.predictions.entries()].filter(([id]) => !before.has(id));
  expect(created).toHaveLength(1);
  return created[0]![1].input.replicate_weights;
}
const finalIn = (threadId: string) => discord.messagesIn(threadId).find(isFinal)!;
const eventuallyFinal = (threadId: string, pattern: RegExp, what: string) =>
  discord.waitFor(() => (pattern.test(finalIn(threadId).content) ? finalIn(threadId) : undefined), 5000, what);

describe('the vote after the end of a training', () => {
  it('a trainer closes it with the button in the thread; a student cannot; the result is announced once', async () => {
    const { trainingId, threadId } = await startTraining(discord, { steps: 500, checkpoint_every: 250 });
    const final = await discord.waitForMessage(threadId, isFinal, 20_000);
    const p250 = previewsIn(discord, threadId).find((p) => p.step === 250)!.message;
    await clickVote(p250, discord.users.alice);

    expect((await clickClose(final, discord.users.carol)).content).toMatch(/Only trainers/);
    expect((await record(trainingId)).votingClosedAt).toBeUndefined();
    // Two trainers click at once: both are answered, the result is announced once.
    const answers = await Promise.all([clickClose(final, discord.users.bob), clickClose(final, discord.users.alice)]);
    expect(answers.map((a) => a.content).join('\n')).toMatch(/Voting closed: the result is posted in the thread/);
    for (const answer of answers) expect(answer.content).toMatch(/Voting closed: the result is posted|Voting on this training closed/);
    const result = await discord.waitForMessage(threadId, isResult, 5000);
    expect(result.content).toMatch(/now draws with \*\*step 250\*\*: step 250 wins with 1 vote/);
    expect(await kmplzWeights('a boat at dusk', discord.users.alice)).toBe(await weightsOf(trainingId, 250));
    // The end message lost its Close button.
    await discord.waitFor(() => (customIdsOf(discord.message(final.id)!).some((id) => id.startsWith('train:close:')) ? undefined : true), 5000, 'the Close button to go');
    await new Promise((resolve) => setTimeout(resolve, 200));
    expect(discord.messagesIn(threadId).filter(isResult)).toHaveLength(1);
  }, 60_000);

  it('blind without vote_minutes: open after the end with the steps hidden, votes by button count, /kmplz gives no step away, and closing reveals', async () => {
    const before = await active();
    const { trainingId, threadId } = await startTraining(discord, { steps: 500, checkpoint_every: 250, blind: true });
    const final = await discord.waitForMessage(threadId, isFinal, 20_000);
    expect(final.content).toMatch(/Voting stays open until/);
    expect(final.content).not.toMatch(/Revealed|step \d/);
    const { blind } = await record(trainingId);
    const previews = previewsIn(discord, threadId);
    for (const { step, message } of previews) expect(discord.message(message.id)!.content).toMatch(new RegExp(`^\\*\\*Checkpoint ${blind![String(step)]}\\*\\* —`));

    // Voting works after the end, by letter; the thread shows the leading letter, not its step.
    const a = previews.find((p) => blind![String(p.step)] === 'A')!;
    expect((await clickVote(a.message, discord.users.alice)).content).toMatch(/Your vote is on \*\*checkpoint A\*\*/);
    expect((await clickVote(a.message, discord.users.carol)).content).toMatch(/Your vote is on \*\*checkpoint A\*\*/);
    const leading = await eventuallyFinal(threadId, /Leading: \*\*checkpoint A\*\* with 2 votes/, 'the end message to show the leading letter');
    expect(leading.content).not.toMatch(/step \d/);
    const listed = (await (await discord.slash({ name: 'checkpoints' })).waitForOriginal()).embeds[0]!;
    expect(listed.description).toMatch(/\*\*checkpoint A\*\* — 2 votes/);
    expect(listed.description).toMatch(/then the steps are revealed/);
    expect(`${listed.description} ${listed.footer?.text}`).not.toMatch(/step \d/);
    // `/kmplz` keeps what it drew with before: a picture "at step N" would tell which letter leads.
    expect(before?.trainingId).not.toBe(trainingId);
    expect(await kmplzWeights('a fox in the snow', discord.users.alice)).toBe(await weightsOf(before!.trainingId, before!.step));

    // A trainer closes it: the steps are revealed, the result is announced, `/kmplz` draws with A.
    expect((await clickClose(final, discord.users.bob)).content).toMatch(/Voting closed/);
    const result = await discord.waitForMessage(threadId, isResult, 5000);
    expect(result.content).toMatch(new RegExp(`now draws with \\*\\*step ${a.step}\\*\\*: step ${a.step} wins with 2 votes`));
    expect(result.content).toContain(`**A** = step ${a.step}`);
    await discord.waitFor(() => (discord.message(a.message.id)!.content.includes(`: step ${a.step}** of 500`) ? true : undefined), 5000, 'preview A to be revealed');
    expect(await kmplzWeights('a fox in the rain', discord.users.carol)).toBe(await weightsOf(trainingId, a.step));
    await eventually(async () => ((await active())?.trainingId === trainingId ? true : undefined), 'the winner to be stored');
  }, 60_000);

  it('stays open a day: a vote after the end moves /kmplz to the leader, the thread and /checkpoints show it, and the close — across a restart — is announced once', async () => {
    const { trainingId, threadId } = await startTraining(discord, { steps: 750, checkpoint_every: 250 });
    const final = await discord.waitForMessage(threadId, isFinal, 20_000);
    const at = Number(/Voting stays open until <t:(\d+):f> \(<t:\1:R>\)/.exec(final.content)?.[1]);
    expect(Math.abs(at * 1000 - (clock.now() + 24 * HOUR))).toBeLessThan(60_000);
    expect(final.content).toMatch(/`\/kmplz` now draws with \*\*step 750\*\*: no votes/);
    expect(customIdsOf(final)).toContain(`train:close:${trainingId}`);
    expect(await kmplzWeights('a cat at the window', discord.users.alice)).toBe(await weightsOf(trainingId, 750));

    // The class compares the previews and votes: 250 twice (buttons), 500 once (/vote).
    const previews = previewsIn(discord, threadId);
    const p250 = previews.find((p) => p.step === 250)!.message;
    expect((await clickVote(p250, discord.users.alice)).content).toMatch(/Your vote is on \*\*step 250\*\*/);
    await clickVote(p250, discord.users.carol);
    expect((await (await discord.slash({ name: 'vote', user: discord.users.bob, options: { checkpoint: 500 } })).waitForOriginal()).content).toMatch(/step 500/);

    // `/kmplz` follows the leader at once; the thread's end message and /checkpoints say so.
    expect(await kmplzWeights('a dog in the rain', discord.users.bob)).toBe(await weightsOf(trainingId, 250));
    await eventuallyFinal(threadId, /now draws with \*\*step 250\*\*: step 250 wins with 2 votes/, 'the end message to show the leader');
    const listed = (await (await discord.slash({ name: 'checkpoints' })).waitForOriginal()).embeds[0]!;
    expect(listed.description).toMatch(/\*\*step 250\*\* — 2 votes.*← `\/kmplz` uses this/);
    expect(listed.description).toMatch(/Voting closes <t:\d+:R>.*draws with the leader: \*\*step 250\*\*/);
    expect(discord.messagesIn(threadId).filter(isResult)).toHaveLength(0);

    // The bot stops; the day passes while it is down; the next start announces the result.
    await restartable.restart({ aheadMs: 25 * HOUR });
    const result = await discord.waitForMessage(threadId, isResult, 10_000);
    expect(result.content).toMatch(/Voting closed\.\*\* `\/kmplz` now draws with \*\*step 250\*\*: step 250 wins with 2 votes/);
    expect(result.content).toMatch(/Votes: step 250: 2 · step 500: 1 · step 750: 0/);
    expect(await active()).toEqual({ trainingId, step: 250, chosenBy: 'vote' });
    const closed = await eventuallyFinal(threadId, /Voting closed <t:\d+:R>: the result is in this thread/, 'the end message to say the vote closed');
    expect(closed.content).not.toMatch(/Voting stays open/);
    expect(customIdsOf(closed).some((id) => id.startsWith('train:close:'))).toBe(false);

    // Closed: a late vote is refused and changes nothing.
    expect((await clickVote(p250, discord.users.dave)).content).toMatch(/Voting on this training closed/);
    expect(await active()).toEqual({ trainingId, step: 250, chosenBy: 'vote' });

    // Once: another restart, and its sweeps, post nothing more.
    await restartable.restart();
    await new Promise((resolve) => setTimeout(resolve, 300));
    expect(discord.messagesIn(threadId).filter(isResult)).toHaveLength(1);
  }, 60_000);
});

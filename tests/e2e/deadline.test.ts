import { describe, expect, it } from 'vitest';
import type { ActiveCheckpoint } from '../../src/training/records.js';
import type { DiscordEmulator, StoredMessage } from '../emulators/discord/index.js';
import type { TestBot } from '../support/bot.js';
import { useRestartableBot } from '../support/restartable-bot.js';
import { buttonOf, customIdsOf, eventually, isFinal, previewsIn, startTraining } from '../training/e2e-helpers.js';
import { keys } from '../../src/store/keys.js';

let discord: DiscordEmulator;
let bot: TestBot | undefined;
/** The bot's clock can be moved ahead of the real one: a test moves it past the deadline across a restart. */
const restartable = useRestartableBot('deadline', (current) => ({ discord, bot } = current));

const isResult = (m: StoredMessage) => customIdsOf(m).some((id) => id.endsWith(':result'));
const active = () => bot!.app.context.store.get<ActiveCheckpoint>(keys.activeCheckpoint(discord.guild().id));

describe('a voting deadline', () => {
  it('keeps voting open after training, then — across a restart — announces the winner once and makes it active', async () => {
    const { trainingId, threadId } = await startTraining(discord, { steps: 750, checkpoint_every: 250, vote_minutes: 10 });
    const final = await discord.waitForMessage(threadId, isFinal, 20_000);
    const at = Number(/Voting stays open until <t:(\d+):f> \(<t:\1:R>\)/.exec(final.content)?.[1]);
    expect(at * 1000).toBeGreaterThan(Date.now() + 9 * 60_000);
    // Before the deadline `/kmplz` draws with the leader (issue 17): with no votes yet, the last checkpoint.
    expect(await active()).toEqual({ trainingId, step: 750, chosenBy: 'last' });

    const previews = previewsIn(discord, threadId);
    const p250 = previews.find((p) => p.step === 250)!.message;
    const vote = async (user: keyof DiscordEmulator['users']) =>
      (await discord.button({ customId: buttonOf(p250, 'train:vote:'), message: p250, user: discord.users[user] })).waitForOriginal();
    expect((await vote('alice')).content).toMatch(/Your vote is on \*\*step 250\*\*/);
    await vote('carol');
    const checkpoints = await (await discord.slash({ name: 'checkpoints' })).waitForOriginal();
    expect(checkpoints.embeds[0]?.description).toMatch(/Voting closes <t:\d+:R>/);

    // The bot stops; the deadline passes while it is down; the next start announces the result.
    await restartable.restart({ aheadMs: 11 * 60_000 });
    const result = await discord.waitForMessage(threadId, isResult, 10_000);
    expect(result.content).toMatch(/Voting closed\.\*\* `\/kmplz` now draws with \*\*step 250\*\*: step 250 wins with 2 votes/);
    expect(result.content).toMatch(/Votes: step 250: 2 · step 500: 0 · step 750: 0/);
    expect(await active()).toEqual({ trainingId, step: 250, chosenBy: 'vote' });
    await discord.waitFor(() => (/🗳️ 2 votes · voting closed/.test(discord.message(p250.id)?.content ?? '') ? true : undefined), 5000, 'the closed tally');

    // Closed: a late vote is refused and changes nothing.
    expect((await vote('bob')).content).toMatch(/Voting on this training closed/);
    expect(await active()).toEqual({ trainingId, step: 250, chosenBy: 'vote' });

    // Once: another restart, and sweeps, post nothing more.
    await restartable.restart();
    await new Promise((resolve) => setTimeout(resolve, 300));
    expect(discord.messagesIn(threadId).filter(isResult)).toHaveLength(1);
    await eventually(async () => ((await bot!.app.context.store.get(keys.votingDeadlines())) === undefined ? true : undefined), 'the deadline to be forgotten');
  });

  it('without vote_minutes, the winner at the end of training is active at once', async () => {
    const { trainingId, threadId } = await startTraining(discord, { steps: 500, checkpoint_every: 250 });
    const final = await discord.waitForMessage(threadId, isFinal, 20_000);
    expect(final.content).toMatch(/now draws with \*\*step 500\*\*: no votes/);
    expect(await active()).toEqual({ trainingId, step: 500, chosenBy: 'last' });
    expect(discord.messagesIn(threadId).filter(isResult)).toHaveLength(0);
  });
});

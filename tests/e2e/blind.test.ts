import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import type { DiscordEmulator, StoredMessage } from '../emulators/discord/index.js';
import type { TestBot } from '../support/bot.js';
import { startWorld, type World } from '../support/world.js';
import { buttonOf, classTrainingWorld, customIdsOf, isFinal, previewsIn, startTraining } from '../training/e2e-helpers.js';

let discord: DiscordEmulator;
let bot: TestBot;
let world: World;

beforeAll(async () => {
  world = await startWorld(classTrainingWorld({ tallyEditIntervalMs: 50 }));
  ({ discord, bot } = world);
});
afterAll(() => world?.stop());
afterEach(() => world.expectCleanRequests());

const record = (trainingId: string) => bot.app.context.training.repository.load({ guildId: discord.guild().id, trainingId: trainingId });
const buttonLabels = (m: StoredMessage) => m.components.flatMap((row) => ('components' in row ? (row.components as { label?: string }[]) : [])).map((c) => c.label);
const isResult = (m: StoredMessage) => customIdsOf(m).some((id) => id.endsWith(':result'));
/** Everything a voter sees of a preview: its text, its buttons' labels, its file's name. */
const visible = (m: StoredMessage) => [m.content, ...buttonLabels(m), ...m.attachments.map((a) => a.filename)].join('\n');

describe('blind mode', () => {
  it('posts previews by letter in a shuffled order without their steps, and a trainer’s pick reveals them', async () => {
    const { trainingId, threadId } = await startTraining(discord, { steps: 750, checkpoint_every: 250, blind: true, vote_minutes: 30 });
    await discord.waitForMessage(threadId, isFinal, 20_000);
    const { blind } = (await record(trainingId))!;
    expect(Object.keys(blind!).sort()).toEqual(['250', '500', '750']);
    expect(Object.values(blind!).sort()).toEqual(['A', 'B', 'C']);

    // Posted together, A then B then C; no step anywhere the class looks — the step is only in the custom_id.
    const previews = previewsIn(discord, threadId);
    expect(previews.map((p) => blind![String(p.step)])).toEqual(['A', 'B', 'C']);
    for (const { step, message } of previews) {
      const label = blind![String(step)];
      expect(message.content).toMatch(new RegExp(`^\\*\\*Checkpoint ${label}\\*\\*`));
      expect(visible(message)).not.toMatch(/step \d|\b(250|500|750)\b/);
      expect(buttonLabels(message)).toEqual([`Vote for checkpoint ${label}`]);
      expect(message.attachments[0]!.filename).toMatch(new RegExp(`^preview-${label}\\.`));
    }

    // Votes go by letter; /vote with a step is refused while blind; /checkpoints lists letters.
    const byLabel = (label: string) => previews.find((p) => blind![String(p.step)] === label)!;
    const a = byLabel('A');
    const clicked = await (await discord.button({ customId: buttonOf(a.message, 'train:vote:'), message: a.message, user: discord.users.alice })).waitForOriginal();
    expect(clicked.content).toMatch(/Your vote is on \*\*checkpoint A\*\*/);
    const typed = await (await discord.slash({ name: 'vote', user: discord.users.carol, options: { checkpoint: 500 } })).waitForOriginal();
    expect(typed.content).toMatch(/This vote is blind.*buttons under the previews/);
    const listed = await (await discord.slash({ name: 'checkpoints' })).waitForOriginal();
    expect(listed.embeds[0]?.description).toMatch(/^\*\*checkpoint A\*\* — 1 vote.*\n\*\*checkpoint B\*\* — 0 votes.*\n\*\*checkpoint C\*\* — 0 votes/);
    expect(`${listed.embeds[0]?.description} ${listed.embeds[0]?.footer?.text}`).not.toMatch(/step \d/);

    // A trainer picks C: voting closes, each preview is edited to show its step, the thread hears the result.
    const c = byLabel('C');
    const picked = await (await discord.slash({ name: 'checkpoints', user: discord.users.bob, options: { use: c.step } })).waitForOriginal();
    expect(picked.content).toMatch(new RegExp(`now uses the checkpoint at step ${c.step}`));
    const result = await discord.waitForMessage(threadId, isResult, 5000);
    expect(result.content).toMatch(new RegExp(`now draws with \\*\\*step ${c.step}\\*\\*: step ${c.step} was picked by a trainer`));
    expect(result.content).toContain(`Revealed: **A** = step ${a.step} · **B** = step ${byLabel('B').step} · **C** = step ${c.step}.`);
    for (const { step, message } of previews) {
      await discord.waitFor(
        () => (discord.message(message.id)!.content.startsWith(`**Checkpoint ${blind![String(step)]}: step ${step}** of 750`) ? true : undefined),
        5000,
        `preview ${step} to be revealed`,
      );
    }
    expect(discord.message(a.message.id)!.content).toMatch(/🗳️ 1 vote · voting closed$/);
    expect(await bot.app.context.training.repository.activeCheckpoint(discord.guild().id)).toEqual({ trainingId, step: c.step, chosenBy: 'trainer' });
  });

  it('without a deadline, keeps voting open after the end (issue 17) and reveals the steps when a trainer closes it', async () => {
    const { trainingId, threadId } = await startTraining(discord, { steps: 500, checkpoint_every: 250, blind: true });
    const final = await discord.waitForMessage(threadId, isFinal, 20_000);
    const { blind } = (await record(trainingId))!;
    expect(final.content).not.toContain('Revealed');
    // A picture drawn at a named step could be matched against the lettered previews: naming a
    // step waits for the close (/kmplz draws meanwhile with the checkpoint the class chose before).
    // (A refusal after /kmplz's public defer comes as a private follow-up.)
    const kmplzAt = (step: string) => discord.slash({ name: 'kmplz', user: discord.users.carol, options: { prompt: 'a cat', steps: 3, seed: 5, checkpoint: step } });
    const stepsHidden = /voting blind: checkpoints go by letter until voting closes/;
    const named = await (await kmplzAt('250')).waitForFollowUp(() => true, 10_000);
    expect(named.ephemeral).toBe(true);
    expect(named.content).toMatch(stepsHidden);
    const compared = await (await discord.slash({ name: 'compare', user: discord.users.carol, options: { prompt: 'a cat', axis: 'checkpoint', values: '250,500' } })).waitForFollowUp(() => true, 10_000);
    expect(compared.content).toMatch(stepsHidden);
    await (await discord.button({ customId: buttonOf(final, 'train:close:'), message: final, user: discord.users.bob })).waitForOriginal((m) => !m.loading, 10_000);
    const result = await discord.waitForMessage(threadId, isResult, 5000);
    expect(result.content).toContain(`Revealed: **A** = step ${blind!['250'] === 'A' ? 250 : 500}`);
    for (const { step, message } of previewsIn(discord, threadId)) {
      expect(message.revisions[0]?.content).toMatch(new RegExp(`^\\*\\*Checkpoint ${blind![String(step)]}\\*\\* —`));
      await discord.waitFor(() => (discord.message(message.id)!.content.includes(`: step ${step}** of 500`) ? true : undefined), 5000, `preview ${step} to be revealed`);
    }
    // Revealed: a step can be named again.
    expect((await (await kmplzAt('250')).waitForOriginal((m) => m.attachments.length > 0, 15_000)).content).not.toMatch(stepsHidden);
  });
});

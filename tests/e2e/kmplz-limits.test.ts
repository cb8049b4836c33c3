import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import type { DiscordEmulator, InteractionHandle, StoredMessage } from '../emulators/discord/index.js';
import type { ReplicateEmulator } from '../emulators/replicate/index.js';
import { startWorld, type World } from '../support/world.js';

let discord: DiscordEmulator;
let replicate: ReplicateEmulator;
let world: World;
/** The bot's clock runs this far ahead of the wall clock: how tests make 15 minutes pass. */
let clockOffsetMs = 0;

beforeAll(async () => {
  world = await startWorld({
    // 10 ms per emulated second: a 30 s prediction (30 GPU seconds billed) takes 0.3 s here.
    replicate: { timeScale: 0.01 },
    checkpointSteps: [250],
    dataset: [{ name: 'ref', colour: '#808080', caption: 'KMPLZ, a drawing of a house' }],
    // At $0.001 per GPU second the two pictures below bill 30 s and 20 s: the $0.05 budget is then spent.
    env: { GPU_PRICE_PER_SECOND: '0.001', BUDGET_USD: '0.05' },
    deps: { clock: { now: () => Date.now() + clockOffsetMs }, generation: { perUserCap: 1, concurrency: 1, progressEditIntervalMs: 20 } },
  });
  ({ discord, replicate } = world);
});
afterAll(() => world?.stop());
afterEach(() => world.expectCleanRequests());

const done = (m: StoredMessage) => m.attachments.length > 0;

describe('/kmplz limits', () => {
  it('caps waiting pictures per person with a clear message', async () => {
    // The first picture stays on the GPU until the test has seen the second one refused.
    let release!: () => void;
    const gate = new Promise<void>((resolve) => (release = resolve));
    replicate.oncePrediction(replicate.refs.sdxl, async (_input, ctl) => {
      await gate;
      await ctl.sleep(30);
      return [ctl.serve('slow.png', await solid(), 'image/png')];
    });
    const first = await discord.slash({ name: 'kmplz', user: discord.users.carol, options: { prompt: 'a house', steps: 2 } });
    let refusal: StoredMessage;
    try {
      // Drawing: the first picture holds the person's one place (acknowledged is not yet queued:
      // on a loaded machine a second /kmplz sent then could still find the place free).
      await first.waitForOriginal((m) => m.content.startsWith('🎨 Drawing'), 10_000);
      const second = await discord.slash({ name: 'kmplz', user: discord.users.carol, options: { prompt: 'another house', steps: 2 } });
      refusal = await second.waitForFollowUp();
    } finally {
      // Whatever happened above, the GPU is let go, so the tests after this one are not held behind it.
      release();
    }
    expect(refusal.ephemeral).toBe(true);
    expect(refusal.content).toMatch(/You already have 1 picture/);
    await first.waitForOriginal(done, 10_000);
  });

  it('finishes with a channel message that mentions the asker once the interaction token has expired', async () => {
    replicate.oncePrediction(replicate.refs.sdxl, async (_input, ctl) => {
      // While this runs, 16 minutes pass for the bot.
      clockOffsetMs = 16 * 60_000;
      await ctl.sleep(20);
      return [ctl.serve('late.png', await solid(), 'image/png')];
    });
    const channelId = discord.textChannels()[0]!.id;
    const slash = await discord.slash({ name: 'kmplz', user: discord.users.dave, options: { prompt: 'a late house', steps: 2 } });
    const message = await discord.waitForMessage(channelId, (m) => m.content.includes(`<@${discord.users.dave.id}>`) && m.attachments.length > 0, 10_000);
    expect(message.allowedMentions).toMatchObject({ users: [discord.users.dave.id] });
    expect(slash.original()?.attachments ?? []).toHaveLength(0);
    clockOffsetMs = 0;
  });

  it('refuses paid work past BUDGET_USD, showing spent, cap and estimate', async () => {
    const slash = await discord.slash({ name: 'kmplz', user: discord.users.bob, options: { prompt: 'a third house', steps: 2 } });
    const refusal = await slash.waitForFollowUp();
    expect(refusal.content).toMatch(/budget/);
    expect(refusal.content).toMatch(/spent \$0\.05\d of \$0\.050, and this needs about \$0\.00\d/);
    expect([...replicate.predictions.values()].some((p) => p.input.prompt === 'KMPLZ, a third house')).toBe(false);
  });
});

describe('/kmplz when its reply cannot be edited any more', () => {
  let early: World;
  beforeAll(async () => {
    early = await startWorld({
      replicate: { timeScale: 0.01 },
      checkpointSteps: [250],
      dataset: [{ name: 'ref', colour: '#808080', caption: 'KMPLZ, a drawing of a house' }],
      deps: { generation: { progressEditIntervalMs: 20 } },
    });
  });
  afterAll(() => early?.stop());

  it.each([
    // Discord drops the token while the bot's clock still gives it 15 minutes.
    ['Discord refused the interaction token before the bot expected', 'dave', (slash: InteractionHandle) => slash.revokeToken()],
    ['someone deleted the reply', 'carol', (_slash: InteractionHandle, reply: StoredMessage) => void (reply.deleted = true)],
  ] as const)('delivers the picture in a channel message that mentions the asker when %s while it was drawn', async (_name, who, breakReply) => {
    const { discord: d, replicate: r } = early;
    // The picture is held on the GPU until the reply is broken, whatever the machine's speed.
    let release!: () => void;
    const held = new Promise<void>((resolve) => (release = resolve));
    r.oncePrediction(r.refs.sdxl, async (_input, ctl) => {
      await held;
      return [ctl.serve('slow.png', await solid(), 'image/png')];
    });
    const user = d.users[who];
    const channelId = d.textChannels()[0]!.id;
    const slash = await d.slash({ name: 'kmplz', user, options: { prompt: `a slow house for ${who}`, steps: 2 } });
    breakReply(slash, await slash.waitForOriginal((m) => /Drawing/.test(m.content), 10_000));
    release();
    const message = await d.waitForMessage(channelId, (m) => m.content.includes(`<@${user.id}>`) && m.attachments.length > 0, 15_000);
    expect(message.allowedMentions).toMatchObject({ users: [user.id] });
    expect(slash.original()?.attachments ?? []).toHaveLength(0);
    expect(early.bot.eventsOf('reply.undelivered')).toEqual([]);
    expect(early.bot.eventsOf('interaction.answer-failed')).toEqual([]);
    expect(early.bot.eventsOf('generation.ended').filter((ended) => !ended.told)).toEqual([]);
  });
});

async function solid(): Promise<Buffer> {
  const { default: sharp } = await import('sharp');
  return sharp({ create: { width: 1024, height: 1024, channels: 3, background: '#aa3366' } }).png().toBuffer();
}

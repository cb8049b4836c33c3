import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import type { DiscordEmulator, StoredMessage } from '../emulators/discord/index.js';
import { drawing } from '../support/fixtures.js';
import { startWorld, type World } from '../support/world.js';

const SHOWCASE_ID = '1300000000000000001';

let discord: DiscordEmulator;
let world: World;

beforeAll(async () => {
  world = await startWorld({
    discord: { guilds: [{ channels: [{ name: 'general' }, { id: SHOWCASE_ID, name: 'showcase' }] }] },
    checkpointSteps: [500],
    env: { SHOWCASE_CHANNEL_ID: SHOWCASE_ID },
  });
  ({ discord } = world);
});
afterAll(() => world?.stop());
afterEach(() => world.expectCleanRequests());

const done = (m: StoredMessage) => m.attachments.length > 0;
const starOf = (m: StoredMessage) =>
  (m.components.flatMap((row) => ('components' in row ? (row.components as unknown[]) : [])) as { custom_id?: string }[]).find((b) => b.custom_id?.startsWith('kmplz:showcase:'))!.custom_id!;

describe('the showcase channel', () => {
  it('⭐ posts a result once, credited, with its parameters; a second ⭐ is refused', async () => {
    const result = await (await discord.slash({ name: 'kmplz', user: discord.users.carol, options: { prompt: 'a sad girl in a hoodie', steps: 3, seed: 11, strength: 0.7 } })).waitForOriginal(done, 15_000);
    const star = await discord.button({ customId: starOf(result), message: result, user: discord.users.dave });
    expect((await star.waitForOriginal()).content).toMatch(/Posted to the showcase/);
    const posted = discord.messagesIn(SHOWCASE_ID);
    expect(posted).toHaveLength(1);
    const embed = posted[0]!.embeds[0]!;
    expect(embed.description).toContain(`<@${discord.users.carol.id}>`);
    expect(embed.description).toMatch(/style of the artist/);
    expect(embed.fields?.map((f) => [f.name, f.value])).toEqual(expect.arrayContaining([['seed', '11'], ['steps', '3'], ['strength', '0.7'], ['checkpoint', 'step 500']]));
    expect(posted[0]!.attachments).toHaveLength(1);
    expect(posted[0]!.allowedMentions).toMatchObject({ parse: [] });

    const again = await discord.button({ customId: starOf(result), message: result, user: discord.users.bob });
    expect((await again.waitForOriginal()).content).toMatch(/already in the showcase/);
    const byLink = await discord.slash({ name: 'showcase', options: { link: `https://discord.com/channels/${discord.guild().id}/${result.channelId}/${result.id}` } });
    expect((await byLink.waitForOriginal()).content).toMatch(/already in the showcase/);
    expect(discord.messagesIn(SHOWCASE_ID)).toHaveLength(1);
  });

  it('/showcase link: posts a kmplz result by its message link', async () => {
    const result = await (await discord.slash({ name: 'kmplz', options: { prompt: 'a cat', steps: 2 } })).waitForOriginal(done, 15_000);
    const slash = await discord.slash({ name: 'showcase', options: { link: `https://discord.com/channels/${discord.guild().id}/${result.channelId}/${result.id}` } });
    expect((await slash.waitForOriginal()).content).toMatch(/Posted to the showcase/);
    expect(discord.messagesIn(SHOWCASE_ID)).toHaveLength(2);
  });

  it('/showcase image: posts an uploaded picture once; refuses links that are not kmplz pictures', async () => {
    const picture = await drawing(300, 200, '#22aa55');
    const first = await discord.slash({ name: 'showcase', user: discord.users.bob, options: { image: { filename: 'mine.png', data: picture } } });
    expect((await first.waitForOriginal()).content).toMatch(/Posted/);
    const second = await discord.slash({ name: 'showcase', user: discord.users.carol, options: { image: { filename: 'same.png', data: picture } } });
    expect((await second.waitForOriginal()).content).toMatch(/already in the showcase/);
    const plain = await discord.slash({ name: 'checkpoints' });
    const notKmplz = await plain.waitForOriginal();
    const refused = await discord.slash({ name: 'showcase', options: { link: `https://discord.com/channels/${discord.guild().id}/${notKmplz.channelId}/${notKmplz.id}` } });
    expect((await refused.waitForOriginal()).content).toMatch(/not a kmplz picture/);
    expect(discord.messagesIn(SHOWCASE_ID)).toHaveLength(3);
  });
});

import sharp from 'sharp';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import type { DiscordEmulator, StoredMessage } from '../emulators/discord/index.js';
import type { ReplicateEmulator } from '../emulators/replicate/index.js';
import { startWorld, type World } from '../support/world.js';

let discord: DiscordEmulator;
let replicate: ReplicateEmulator;
let checkpoints: World['checkpoints'];
let world: World;

beforeAll(async () => {
  world = await startWorld({ checkpointSteps: [250, 500] });
  ({ discord, replicate, checkpoints } = world);
});
afterAll(() => world?.stop());
afterEach(() => world.expectCleanRequests());

const grid = (m: StoredMessage) => m.attachments.length > 0 || /could not|no checkpoint/i.test(m.content);

describe('/compare', () => {
  it('draws steps 20, 50 and 70 with one seed into one labelled grid', async () => {
    const before = replicate.predictions.size;
    const slash = await discord.slash({ name: 'compare', options: { prompt: 'a sad girl in a hoodie and jeans', axis: 'steps', values: '20,50,70' } });
    const reply = await slash.waitForOriginal(grid, 20_000);
    const predictions = [...replicate.predictions.values()].slice(before);
    expect(predictions.map((p) => p.input.num_inference_steps)).toEqual([20, 50, 70]);
    expect(new Set(predictions.map((p) => p.input.seed)).size).toBe(1);
    expect(new Set(predictions.map((p) => p.input.prompt))).toEqual(new Set(['KMPLZ, a sad girl in a hoodie and jeans']));
    expect(reply.attachments).toHaveLength(1);
    const meta = await sharp(reply.attachments[0]!.data).metadata();
    // Three cells side by side under a title: clearly wider than tall.
    expect(meta.width! / meta.height!).toBeGreaterThan(2);
    // Each cell shows its own prediction's picture (the emulator paints each input set its own colour).
    const { data, info } = await sharp(reply.attachments[0]!.data).removeAlpha().raw().toBuffer({ resolveWithObject: true });
    const colours = await Promise.all(predictions.map(async (p) => {
      const image = replicate.output((p.output as string[])[0]!)!.data;
      const { data: px } = await sharp(image).removeAlpha().raw().toBuffer({ resolveWithObject: true });
      return [px[0]!, px[1]!, px[2]!];
    }));
    const cellCentreY = Math.round(info.height * 0.55);
    for (const [i, colour] of colours.entries()) {
      const x = Math.round(((i + 0.5) / 3) * info.width);
      const at = (cellCentreY * info.width + x) * info.channels;
      expect(Math.abs(data[at]! - colour[0]!) + Math.abs(data[at + 1]! - colour[1]!) + Math.abs(data[at + 2]! - colour[2]!)).toBeLessThan(30);
    }
    expect(reply.embeds[0]?.title).toMatch(/Compare steps: 20, 50, 70/);
  });

  it('compares checkpoints by their weights', async () => {
    const before = replicate.predictions.size;
    const reply = await (await discord.slash({ name: 'compare', options: { prompt: 'a cat', axis: 'checkpoint', values: '250,500' } })).waitForOriginal(grid, 20_000);
    expect(reply.attachments).toHaveLength(1);
    const predictions = [...replicate.predictions.values()].slice(before);
    expect(predictions.map((p) => p.input.replicate_weights)).toEqual(checkpoints.map((c) => c.weightsUrl));
  });

  it('refuses values that do not exist or do not fit, before anything is paid', async () => {
    const before = replicate.predictions.size;
    const slash = await discord.slash({ name: 'compare', options: { prompt: 'a cat', axis: 'checkpoint', values: '250,999' } });
    expect((await slash.waitForFollowUp()).content).toMatch(/No checkpoint at step 999/);
    const tooMany = await discord.slash({ name: 'compare', options: { prompt: 'a cat', axis: 'steps', values: '10,20,30,40,50,60' } });
    expect((await tooMany.waitForFollowUp()).content).toMatch(/At most 5/);
    expect(replicate.predictions.size).toBe(before);
  });
});

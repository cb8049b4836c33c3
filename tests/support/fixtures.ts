import sharp from 'sharp';
import type { BotContext } from '../../src/context.js';
import { addToDataset, setCaption } from '../../src/dataset/dataset.js';
import { keys, type ActiveCheckpoint, type TrainingRecord } from '../../src/training/records.js';

/** A drawing-like test picture: a flat colour with a darker band, so crops and orientation show. */
export function drawing(width: number, height: number, colour: string): Promise<Buffer> {
  return sharp({ create: { width, height, channels: 3, background: colour } })
    .composite([{ input: { create: { width, height: Math.max(1, Math.round(height / 8)), channels: 3, background: '#202020' } }, top: 0, left: 0 }])
    .png()
    .toBuffer();
}

/** Puts drawings with captions into a server's dataset through the same code `/dataset add` uses. */
export async function seedDataset(ctx: BotContext, guildId: string, drawings: { name: string; colour: string; caption: string }[]): Promise<void> {
  const files = await Promise.all(drawings.map(async (d) => ({ name: `${d.name}.png`, data: await drawing(640, 640, d.colour) })));
  const report = await addToDataset(ctx, guildId, 'seed', files);
  if (report.refused.length) throw new Error(`seed drawings refused: ${JSON.stringify(report.refused)}`);
  for (const d of drawings) await setCaption(ctx, guildId, d.name, d.caption, 'blip');
}

/** Stores a finished training with the given checkpoints and makes `activeStep` the one `/kmplz` uses. */
export async function seedTraining(
  ctx: BotContext,
  guildId: string,
  channelId: string,
  checkpoints: { step: number; weightsUrl: string; version: string }[],
  activeStep = checkpoints.at(-1)!.step,
): Promise<TrainingRecord> {
  const training: TrainingRecord = {
    id: 'tr-seeded',
    guildId,
    channelId,
    startedBy: 'seed',
    status: 'succeeded',
    steps: checkpoints.at(-1)!.step,
    checkpointEvery: checkpoints[0]!.step,
    checkpoints: checkpoints.map((c) => ({ ...c, createdAt: ctx.clock.now() })),
    votes: {},
    createdAt: ctx.clock.now(),
  };
  await ctx.store.set(keys.training(guildId, training.id), training);
  await ctx.store.set(keys.lastTraining(guildId), training.id);
  const active: ActiveCheckpoint = { trainingId: training.id, step: activeStep, chosenBy: 'last' };
  await ctx.store.set(keys.activeCheckpoint(guildId), active);
  return training;
}

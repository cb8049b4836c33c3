import sharp from 'sharp';
import type { BotContext } from '../../src/context.js';
import { addToDataset, setCaption } from '../../src/dataset/dataset.js';
import { type ActiveCheckpoint, type TrainingRecord } from '../../src/training/records.js';

/** A drawing-like test picture: a flat colour with a darker band, so crops and orientation show. */
export function drawing(width: number, height: number, colour: string): Promise<Buffer> {
  return sharp({ create: { width, height, channels: 3, background: colour } })
    .composite([{ input: { create: { width, height: Math.max(1, Math.round(height / 8)), channels: 3, background: '#202020' } }, top: 0, left: 0 }])
    .png()
    .toBuffer();
}

/** Two captioned reference drawings, enough for a training and its previews. */
export const CLASS_DRAWINGS = [
  { name: 'hoodie-girl', colour: '#3050e0', caption: 'KMPLZ, a drawing of a sad girl in a hoodie' },
  { name: 'cat', colour: '#e0a030', caption: 'KMPLZ, a drawing of a cat on a chair' },
];

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
  // Stored as a training that ran and settled: created (the server's last), no longer followed, its checkpoint active.
  const trainings = ctx.training.repository;
  await trainings.create(training);
  await trainings.unfollow({ guildId, trainingId: training.id });
  const active: ActiveCheckpoint = { trainingId: training.id, step: activeStep, chosenBy: 'last' };
  await trainings.setActiveCheckpoint(guildId, active);
  return training;
}

/** A JPEG whose stored top half is red and bottom half blue, tagged with an EXIF orientation. */
export async function orientedJpeg(width: number, height: number, orientation: number): Promise<Buffer> {
  const half = Math.round(height / 2);
  return sharp({ create: { width, height, channels: 3, background: '#0000ff' } })
    .composite([{ input: { create: { width, height: half, channels: 3, background: '#ff0000' } }, top: 0, left: 0 }])
    .jpeg()
    .withMetadata({ orientation })
    .toBuffer();
}

/** A PNG with a transparent background and an opaque black square in the middle. */
export function alphaPng(size: number): Promise<Buffer> {
  const inner = Math.round(size / 3);
  return sharp({ create: { width: size, height: size, channels: 4, background: { r: 0, g: 0, b: 0, alpha: 0 } } })
    .composite([{ input: { create: { width: inner, height: inner, channels: 4, background: { r: 0, g: 0, b: 0, alpha: 1 } } }, top: inner, left: inner }])
    .png()
    .toBuffer();
}

/** A tiny PNG whose header claims `width`×`height` pixels: a decompression bomb in miniature. */
export function pngClaiming(width: number, height: number): Buffer {
  const chunk = (type: string, data: Buffer) => {
    const body = Buffer.concat([Buffer.from(type, 'latin1'), data]);
    const out = Buffer.alloc(8 + data.length + 4);
    out.writeUInt32BE(data.length, 0);
    body.copy(out, 4);
    out.writeUInt32BE(crc32(body), 8 + data.length);
    return out;
  };
  const header = Buffer.alloc(13);
  header.writeUInt32BE(width, 0);
  header.writeUInt32BE(height, 4);
  header.set([8, 2, 0, 0, 0], 8);
  const idat = Buffer.from([0x78, 0x9c, 0x63, 0x00, 0x00, 0x00, 0x01, 0x00, 0x01]);
  return Buffer.concat([Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]), chunk('IHDR', header), chunk('IDAT', idat), chunk('IEND', Buffer.alloc(0))]);
}

function crc32(data: Buffer): number {
  let crc = 0xffffffff;
  for (const byte of data) {
    crc ^= byte;
    for (let k = 0; k < 8; k++) crc = crc & 1 ? (crc >>> 1) ^ 0xedb88320 : crc >>> 1;
  }
  return (crc ^ 0xffffffff) >>> 0;
}

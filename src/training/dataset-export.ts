import { toTrainingCaption } from '../captioning/clean.js';
import type { Config } from '../config.js';
import { loadDataset, readTrainingImage } from '../dataset/dataset.js';
import { buildTrainingZip } from '../dataset/intake/export.js';
import { IntakeError } from '../dataset/intake/refusal.js';
import type { DatasetImage } from '../dataset/records.js';
import { UserError } from '../errors.js';
import { msg } from '../i18n/index.js';
import type { Store } from '../store/store.js';

/** A drawing as the trainer reads it: the processed square and its caption with the trigger word. */
export interface TrainingItem {
  image: DatasetImage;
  caption: string;
}

/**
 * Every drawing of the dataset with the caption training uses. A drawing nobody captioned yet
 * gets the plainest caption that still teaches the style (`KMPLZ, a drawing`); captions are put
 * in the trainer's form again in case TRIGGER_WORD changed since they were written.
 */
export async function trainingItems(store: Store, config: Config, guildId: string): Promise<TrainingItem[]> {
  const { images } = await loadDataset(store, guildId);
  return [...images]
    .sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0))
    .map((image) => ({ image, caption: image.caption ? toTrainingCaption(image.caption, config.TRIGGER_WORD) : `${config.TRIGGER_WORD}, a drawing` }));
}

/** The zip the trainer downloads: processed images named after the drawings, plus caption.csv. */
export async function trainingZip(config: Config, items: readonly TrainingItem[]): Promise<Buffer> {
  if (items.length === 0) throw new UserError('empty-dataset', msg('error.empty-dataset'));
  const images = await Promise.all(items.map(async ({ image, caption }) => ({ file: `${image.name}.jpg`, data: await readTrainingImage(config, image), caption })));
  return buildTrainingZip(images, { triggerWord: config.TRIGGER_WORD }).catch((error: unknown) => {
    if (error instanceof IntakeError) throw new UserError(error.code, error.text);
    throw error;
  });
}

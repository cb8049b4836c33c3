import type { Config } from '../config.js';
import { loadDataset, readDisplayImage } from '../dataset/dataset.js';
import { encodeToFit } from '../images/encode.js';
import { comparisonGrid } from '../images/sheets.js';
import { composeSideBySide } from '../images/side-by-side.js';
import type { Store } from '../store/store.js';
import type { GenerationJob } from './jobs.js';
import { displaySafe } from './prompt.js';
import { createReferenceMatcher } from './reference-match.js';
import type { PictureFile } from './reply-state.js';

export interface AnswerDeps {
  store: Store;
  config: Config;
}

/**
 * The files of a `/kmplz` answer: the picture beside the artist's drawing its prompt matches
 * best (when the dataset has any), then the plain picture, both encoded to fit the server's
 * upload limit together.
 */
export async function composeAnswer(deps: AnswerDeps, job: GenerationJob, generated: Buffer): Promise<{ files: PictureFile[]; referenceName?: string }> {
  const reference = await chooseReference(deps, job);
  const side = reference
    ? await composeSideBySide({
        generated,
        reference: reference.data,
        leftLabel: `${deps.config.TRIGGER_WORD} · step ${job.parameters.checkpoint.step}`,
        rightLabel: `the artist · ${reference.name}`,
      })
    : undefined;
  const limit = job.uploadLimit;
  const files: PictureFile[] = [];
  if (side) {
    const encoded = await encodeToFit(side, Math.floor(limit * 0.6), `kmplz-${job.id}-side-by-side`, { lossless: false });
    files.push({ name: encoded.filename, data: encoded.data });
  }
  const plain = await encodeToFit(generated, side ? Math.floor(limit * 0.4) : limit, `kmplz-${job.id}`);
  files.push({ name: plain.filename, data: plain.data });
  return { files, referenceName: reference?.name };
}

/** `/compare`: the cells in one labelled grid, captioned with the prompt and the seed they share. */
export async function composeComparison(job: GenerationJob, cells: { image: Buffer; label: string }[]): Promise<PictureFile> {
  const caption = `${displaySafe(job.parameters.prompt)} · seed ${job.parameters.seed}`.slice(0, 120);
  const grid = await encodeToFit(await comparisonGrid(cells, caption), job.uploadLimit, `kmplz-${job.id}-compare`, { lossless: false });
  return { name: grid.filename, data: grid.data };
}

async function chooseReference(deps: AnswerDeps, job: GenerationJob): Promise<{ name: string; data: Buffer } | undefined> {
  const dataset = await loadDataset(deps.store, job.guildId);
  if (dataset.images.length === 0) return undefined;
  const match = createReferenceMatcher(
    dataset.images.map((image) => ({ name: image.name, caption: image.caption ?? image.name })),
    { triggerWord: deps.config.TRIGGER_WORD },
  )(job.parameters.prompt);
  const image = dataset.images.find((i) => i.name === match?.reference.name) ?? dataset.images[0]!;
  return { name: image.name, data: await readDisplayImage(deps, job.guildId, image) };
}

import { randomInt } from 'node:crypto';
import { type ArchiveEntry, readTar, readZip } from './archive.js';
import type { ModelHandler } from './jobs.js';
import { type ModelTiming, preprocess, steppedLoop, weightsTar } from './models.js';
import { COG_SDXL_SCHEMA, STREAMING_TRAINER_SCHEMA, withDefaults } from './schemas.js';

/**
 * The archive type cog-sdxl reads `input_images` as (preprocess.py, commit c79cb3c9): zip when
 * told `zip` or when the downloaded file's name ends in `.zip`; tar when told `tar` or the name
 * ends in `.tar` — and then the name must end in `.tar` anyway; anything else fails its assert.
 * Cog names the downloaded file after the URL's last path segment, so a Files API URL
 * (`…/v1/files/{id}`, no suffix) is readable only with `input_images_filetype: "zip"`.
 */
function archiveType(url: string, filetype: unknown): 'zip' | 'tar' {
  const path = URL.canParse(url) ? new URL(url).pathname : url;
  if (filetype === 'zip' || path.endsWith('.zip')) return 'zip';
  if (filetype === 'tar' || path.endsWith('.tar')) {
    if (!path.endsWith('.tar')) throw new Error('AssertionError: files must be a tar file if not zip');
    return 'tar';
  }
  throw new Error('AssertionError: input_images_filetype must be zip or tar');
}

async function readArchive(data: Buffer, type: 'zip' | 'tar'): Promise<ArchiveEntry[]> {
  try {
    return type === 'zip' ? await readZip(data) : readTar(data);
  } catch (error) {
    throw new Error(`${type === 'zip' ? 'zipfile.BadZipFile' : 'tarfile.ReadError'}: ${(error as Error).message}`);
  }
}

/**
 * cog-sdxl `train()` (train.py, trainer_pti.py at c79cb3c9): downloads `input_images` (only a file
 * uploaded to this emulator), reads it as preprocess.py decides (see {@link archiveType}),
 * records the archive and what preprocessing made of it on the job, and trains **whole epochs**:
 * `ceil(max_train_steps / batches_per_epoch)` epochs of `ceil(images / train_batch_size)` steps,
 * so a 250-step run of 64 images at batch 4 makes 256 steps. Its tqdm bar counts to
 * `max_train_steps` and runs past it; the pivot from textual inversion to LoRA is logged at the
 * start of epoch `epochs // 2`. Returns `{ weights }` (the platform adds `version`).
 */
export function sdxlTrainer(timing: ModelTiming): ModelHandler {
  return async (rawInput, ctl) => {
    const input = withDefaults(COG_SDXL_SCHEMA, 'TrainingInput', rawInput);
    const url = String(input.input_images);
    const file = ctl.uploadedFile(url);
    if (!file) {
      throw new Error(`input_images must be the urls.get of a file uploaded with POST /files to this emulator, got ${url}`);
    }
    ctl.job.archive = file.data;
    const entries = await readArchive(file.data, archiveType(url, input.input_images_filetype));

    const token = String(input.token_string);
    const dataset = await preprocess(entries, String(input.caption_prefix), ctl);
    ctl.job.dataset = { ...dataset, resolution: Number(input.resolution) };
    const count = dataset.images.length;
    ctl.log(`Generating ${count} masks...`);
    ctl.log(`Upscaling ${count} images...`);
    await ctl.sleep(count * timing.trainerPreprocessSecondsPerImage);

    const maxSteps = Number(input.max_train_steps);
    const batchSize = Number(input.train_batch_size);
    const batchesPerEpoch = Math.ceil(count / batchSize);
    const epochs = Math.ceil(maxSteps / batchesPerEpoch);
    const stepsRun = epochs * batchesPerEpoch;
    const isLora = Boolean(input.is_lora);
    const rank = Number(input.lora_rank);
    ctl.log(`Using seed ${typeof input.seed === 'number' ? input.seed : randomInt(2 ** 31)}`);
    ctl.log('# PTI : Loaded models');
    ctl.log('# PTI : Loaded dataset');
    ctl.log('# PTI :  Running training ');
    ctl.log(`# PTI :  Num examples = ${count}`);
    ctl.log(`# PTI :  Num batches each epoch = ${batchesPerEpoch}`);
    ctl.log(`# PTI :  Num Epochs = ${epochs}`);
    ctl.log(`# PTI :  Instantaneous batch size per device = ${batchSize}`);
    ctl.log(`# PTI :  Total optimization steps = ${maxSteps}`);
    ctl.job.stepsRun = stepsRun;

    const pivotStep = Math.floor(epochs / 2) * batchesPerEpoch;
    await steppedLoop(ctl, stepsRun, timing.trainerSecondsPerStep, {
      barTotal: maxSteps,
      // tqdm's description is set after `update(1)`, from the step counter before its increment.
      description: (n) => `# PTI :step: ${Math.max(0, n - 1)}, epoch: ${Math.floor(Math.max(0, n - 1) / batchesPerEpoch)}`,
      stopAt: (n) => n === pivotStep,
      onStep: async (n) => {
        if (n === pivotStep) ctl.log('# PTI :  Pivot halfway');
      },
    });

    ctl.log('Saving final model for return');
    for (const name of [isLora ? 'lora.safetensors' : 'unet.safetensors', 'embeddings.pti', 'special_params.json']) {
      ctl.log(`training_out/${name}`);
    }
    return { weights: ctl.serve('trained_model.tar', weightsTar(ctl.job.id, stepsRun, token, isLora, rank), 'application/x-tar') };
  };
}

/**
 * kmplz's own streaming trainer (trainer/ of this project, issue 15's interface): a Cog
 * **prediction** whose `predict()` yields one weights .tar (cog-sdxl's `replicate_weights`
 * format) every `checkpointing_steps` and at the last step, so its output array grows while it
 * runs, one `output` webhook per yield. It trains exactly `max_train_steps` and draws a tqdm bar
 * described `steps`. Reads `input_images` as a zip from any URL, as Cog downloads a `Path` input.
 */
export function streamingTrainer(timing: ModelTiming): ModelHandler {
  return async (rawInput, ctl) => {
    const input = withDefaults(STREAMING_TRAINER_SCHEMA, 'Input', rawInput);
    const data = await ctl.fetch(String(input.input_images));
    ctl.job.archive = data;
    const entries = await readArchive(data, 'zip');
    const token = String(input.token_string);
    const dataset = await preprocess(entries, token, ctl);
    ctl.job.dataset = { ...dataset, resolution: Number(input.resolution) };
    await ctl.sleep(dataset.images.length * timing.trainerPreprocessSecondsPerImage);

    const total = Number(input.max_train_steps);
    const every = Number(input.checkpointing_steps);
    const rank = Number(input.lora_rank);
    ctl.log(`Using seed ${typeof input.seed === 'number' ? input.seed : randomInt(2 ** 31)}`);
    ctl.job.stepsRun = total;
    const isCheckpoint = (n: number) => n % every === 0 || n === total;
    await steppedLoop(ctl, total, timing.trainerSecondsPerStep, {
      description: () => 'steps',
      stopAt: isCheckpoint,
      onStep: async (n) => {
        if (!isCheckpoint(n)) return;
        ctl.emit(ctl.serve(`checkpoint-${n}.tar`, weightsTar(ctl.job.id, n, token, true, rank), 'application/x-tar'));
        ctl.log(`Saved checkpoint at step ${n}`);
      },
    });
    return undefined;
  };
}

import { randomInt } from 'node:crypto';
import { posix } from 'node:path';
import {
  type ArchiveEntry,
  parseCsv,
  readSafetensorsMetadata,
  readTar,
  readZip,
  safetensorsWithMetadata,
  writeTar,
} from './archive.js';
import { colourFor, describeImage, solidPng } from './images.js';
import { cogLoraShapes, sdxlAttentionProcessors } from './lora.js';
import type { ModelContext, ModelHandler, TrainingDataset } from './jobs.js';

/** One input of a Cog model, the subset of JSON Schema Replicate checks before queueing a job. */
export interface InputField {
  type: 'string' | 'integer' | 'number' | 'boolean';
  minimum?: number;
  maximum?: number;
  enum?: readonly string[];
  default?: string | number | boolean;
}

export interface InputSchema {
  properties: Record<string, InputField>;
  required?: readonly string[];
}

export interface InvalidField {
  type: string;
  field: string;
  description: string;
}

/**
 * Checks an input the way Replicate's API does at creation (gojsonschema messages, 422 when
 * anything is wrong). Unknown keys are accepted and ignored, as the API ignores them.
 */
export function validateInput(schema: InputSchema, input: Record<string, unknown>): InvalidField[] {
  const invalid: InvalidField[] = [];
  for (const name of schema.required ?? []) {
    if (input[name] === undefined) {
      invalid.push({ type: 'required', field: 'input', description: `${name} is required` });
    }
  }
  for (const [name, field] of Object.entries(schema.properties)) {
    const value = input[name];
    if (value === undefined || value === null) continue;
    const path = `input.${name}`;
    const given = typeof value === 'number' ? (Number.isInteger(value) ? 'integer' : 'number') : typeof value;
    const typeOk =
      field.type === 'number' ? typeof value === 'number' : field.type === 'integer' ? given === 'integer' : typeof value === field.type;
    if (!typeOk) {
      invalid.push({ type: 'invalid_type', field: path, description: `Invalid type. Expected: ${field.type}, given: ${given}` });
      continue;
    }
    if (field.enum && !field.enum.includes(String(value))) {
      const choices = field.enum.map((c) => `"${c}"`).join(', ');
      invalid.push({ type: 'enum', field: path, description: `${path} must be one of the following: ${choices}` });
    }
    if (typeof value === 'number' && field.minimum !== undefined && value < field.minimum) {
      invalid.push({ type: 'number_gte', field: path, description: `Must be greater than or equal to ${field.minimum}` });
    }
    if (typeof value === 'number' && field.maximum !== undefined && value > field.maximum) {
      invalid.push({ type: 'number_lte', field: path, description: `Must be less than or equal to ${field.maximum}` });
    }
  }
  return invalid;
}

/** cog-sdxl `predict()` inputs (replicate/cog-sdxl predict.py). */
export const SDXL_INPUT: InputSchema = {
  properties: {
    prompt: { type: 'string', default: 'An astronaut riding a rainbow unicorn' },
    negative_prompt: { type: 'string', default: '' },
    image: { type: 'string' },
    mask: { type: 'string' },
    width: { type: 'integer', default: 1024 },
    height: { type: 'integer', default: 1024 },
    num_outputs: { type: 'integer', minimum: 1, maximum: 4, default: 1 },
    scheduler: {
      type: 'string',
      enum: ['DDIM', 'DPMSolverMultistep', 'HeunDiscrete', 'KarrasDPM', 'K_EULER_ANCESTRAL', 'K_EULER', 'PNDM'],
      default: 'K_EULER',
    },
    num_inference_steps: { type: 'integer', minimum: 1, maximum: 500, default: 50 },
    guidance_scale: { type: 'number', minimum: 1, maximum: 50, default: 7.5 },
    prompt_strength: { type: 'number', minimum: 0, maximum: 1, default: 0.8 },
    seed: { type: 'integer' },
    refine: { type: 'string', enum: ['no_refiner', 'expert_ensemble_refiner', 'base_image_refiner'], default: 'no_refiner' },
    high_noise_frac: { type: 'number', minimum: 0, maximum: 1, default: 0.8 },
    refine_steps: { type: 'integer' },
    apply_watermark: { type: 'boolean', default: true },
    lora_scale: { type: 'number', minimum: 0, maximum: 1, default: 0.6 },
    replicate_weights: { type: 'string' },
    disable_safety_checker: { type: 'boolean', default: false },
  },
};

/** cog-sdxl `train()` inputs (replicate/cog-sdxl train.py). */
export const SDXL_TRAIN_INPUT: InputSchema = {
  required: ['input_images'],
  properties: {
    input_images: { type: 'string' },
    seed: { type: 'integer' },
    resolution: { type: 'integer', default: 768 },
    train_batch_size: { type: 'integer', default: 4 },
    num_train_epochs: { type: 'integer', default: 4000 },
    max_train_steps: { type: 'integer', default: 1000 },
    is_lora: { type: 'boolean', default: true },
    unet_learning_rate: { type: 'number', default: 1e-6 },
    ti_lr: { type: 'number', default: 3e-4 },
    lora_lr: { type: 'number', default: 1e-4 },
    lora_rank: { type: 'integer', default: 32 },
    lr_scheduler: { type: 'string', enum: ['constant', 'linear'], default: 'constant' },
    lr_warmup_steps: { type: 'integer', default: 100 },
    token_string: { type: 'string', default: 'TOK' },
    caption_prefix: { type: 'string', default: 'a photo of TOK, ' },
    mask_target_prompts: { type: 'string' },
    crop_based_on_salience: { type: 'boolean', default: true },
    use_face_detection_instead: { type: 'boolean', default: false },
    clipseg_temperature: { type: 'number', default: 1 },
    verbose: { type: 'boolean', default: true },
    checkpointing_steps: { type: 'integer', default: 999999 },
    input_images_filetype: { type: 'string', enum: ['zip', 'tar', 'infer'], default: 'infer' },
  },
};

/** The streaming trainer takes cog-sdxl's inputs but checkpoints every 250 steps unless told. */
export const STREAMING_TRAIN_INPUT: InputSchema = {
  ...SDXL_TRAIN_INPUT,
  properties: { ...SDXL_TRAIN_INPUT.properties, checkpointing_steps: { type: 'integer', minimum: 1, default: 250 } },
};

/** salesforce/blip inputs. */
export const BLIP_INPUT: InputSchema = {
  required: ['image'],
  properties: {
    image: { type: 'string' },
    task: {
      type: 'string',
      enum: ['image_captioning', 'visual_question_answering', 'image_text_matching'],
      default: 'image_captioning',
    },
    question: { type: 'string' },
    caption: { type: 'string' },
  },
};

/** How long the emulated models work, in emulated seconds (what `metrics.predict_time` reports). */
export interface ModelTiming {
  /** Per denoising step of one 1024×1024 image (scaled by pixels and `num_outputs`). */
  sdxlSecondsPerStep: number;
  /** Pipeline overhead of each generation (VAE decode, safety checker, upload). */
  sdxlOverheadSeconds: number;
  /** Downloading and loading a LoRA (`replicate_weights` or a trained version). */
  sdxlLoadWeightsSeconds: number;
  blipSeconds: number;
  /** Per training step. */
  trainerSecondsPerStep: number;
  /** Preprocessing (captioning, masks, upscaling) per image. */
  trainerPreprocessSecondsPerImage: number;
}

export const DEFAULT_TIMING: ModelTiming = {
  sdxlSecondsPerStep: 0.1,
  sdxlOverheadSeconds: 1,
  sdxlLoadWeightsSeconds: 2,
  blipSeconds: 0.5,
  trainerSecondsPerStep: 0.45,
  trainerPreprocessSecondsPerImage: 2,
};

function withDefaults(schema: InputSchema, input: Record<string, unknown>): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [name, field] of Object.entries(schema.properties)) {
    const value = input[name];
    out[name] = value === undefined || value === null ? field.default : value;
  }
  return out;
}

/**
 * Runs `total` steps of `secondsPerStep` and logs a tqdm refresh per step. Sleeps in chunks of
 * about five emulated seconds (a timer per step would be a sub-millisecond one) and never across
 * a step `stopAt` asks for, so a poller sees the bar move and checkpoints appear on time.
 */
async function steppedLoop(
  ctl: ModelContext,
  total: number,
  secondsPerStep: number,
  options: { description?: (n: number) => string; stopAt?: (n: number) => boolean; onStep?: (n: number) => Promise<void> } = {},
): Promise<void> {
  const chunk = Math.max(1, Math.floor(5 / secondsPerStep));
  ctl.progress(0, total, 0, options.description?.(0));
  let n = 0;
  while (n < total) {
    let next = Math.min(total, n + chunk);
    for (let m = n + 1; m < next; m++) {
      if (options.stopAt?.(m)) {
        next = m;
        break;
      }
    }
    await ctl.sleep((next - n) * secondsPerStep);
    for (let m = n + 1; m <= next; m++) {
      ctl.progress(m, total, m * secondsPerStep, options.description?.(m));
      await options.onStep?.(m);
    }
    n = next;
  }
}

interface LoadedWeights {
  tokenMap: Record<string, string>;
  /** Which training and step made them, from the LoRA file's metadata. */
  source: string;
}

function loadWeights(tar: Buffer): LoadedWeights {
  const files = new Map(readTar(tar).map((entry) => [entry.name, entry.data]));
  const params = files.get('special_params.json');
  if (!params) throw new Error("FileNotFoundError: [Errno 2] No such file or directory: 'special_params.json'");
  const lora = files.get('lora.safetensors') ?? files.get('unet.safetensors');
  const metadata = lora ? readSafetensorsMetadata(lora) : {};
  return {
    tokenMap: JSON.parse(params.toString('utf8')) as Record<string, string>,
    source: `${metadata.training_id ?? 'unknown'}@${metadata.step ?? '?'}`,
  };
}

/**
 * cog-sdxl `predict()`: logs like the real one, validates sizes like diffusers, swaps the trained
 * token for its embeddings, fails on "NSFW" prompts unless the safety checker is off, and writes
 * one solid-colour PNG per output whose colour is a function of every input that changes a real
 * image (prompt after token swap, seed, steps, guidance, LoRA and its step, size, index).
 */
export function sdxlGenerator(timing: ModelTiming, nsfwWord: string): ModelHandler {
  return async (rawInput, ctl) => {
    const input = withDefaults(SDXL_INPUT, rawInput);
    const seed = typeof input.seed === 'number' ? input.seed : randomInt(65536);
    ctl.log(`Using seed: ${seed}`);

    let weights: LoadedWeights | undefined;
    const weightsUrl = typeof input.replicate_weights === 'string' && input.replicate_weights ? input.replicate_weights : undefined;
    if (weightsUrl || ctl.weights) {
      const tar = weightsUrl ? await ctl.fetch(weightsUrl) : (ctl.weights as Buffer);
      await ctl.sleep(timing.sdxlLoadWeightsSeconds);
      ctl.log('Loading fine-tuned model');
      ctl.log('Does not have Unet. assume we are using LoRA');
      ctl.log('Loading Unet LoRA');
      weights = loadWeights(tar);
    }

    let prompt = String(input.prompt);
    for (const [token, embedding] of Object.entries(weights?.tokenMap ?? {})) prompt = prompt.split(token).join(embedding);
    ctl.log(`Prompt: ${prompt}`);
    ctl.log('txt2img mode');

    const width = Number(input.width);
    const height = Number(input.height);
    if (width % 8 !== 0 || height % 8 !== 0) {
      throw new Error(`\`height\` and \`width\` have to be divisible by 8 but are ${height} and ${width}.`);
    }
    const outputs = Number(input.num_outputs);
    const steps = Number(input.num_inference_steps);
    const perStep = timing.sdxlSecondsPerStep * outputs * ((width * height) / (1024 * 1024));
    await steppedLoop(ctl, steps, perStep);
    await ctl.sleep(timing.sdxlOverheadSeconds);

    const flagged = !input.disable_safety_checker && prompt.toLowerCase().includes(nsfwWord.toLowerCase());
    const urls: string[] = [];
    for (let index = 0; index < outputs; index++) {
      if (flagged) {
        ctl.log(`NSFW content detected in image ${index}`);
        continue;
      }
      const key = JSON.stringify([prompt, input.negative_prompt, seed, steps, input.guidance_scale, input.lora_scale, weights?.source, width, height, index]);
      urls.push(ctl.serve(`out-${index}.png`, await solidPng(width, height, colourFor(key)), 'image/png'));
    }
    if (urls.length === 0) throw new Error('NSFW content detected. Try running it again, or try a different prompt.');
    return urls;
  };
}

/** salesforce/blip: `"Caption: <sentence naming the image's colour>"`. */
export function blipCaptioner(timing: ModelTiming): ModelHandler {
  return async (rawInput, ctl) => {
    const input = withDefaults(BLIP_INPUT, rawInput);
    if (input.task !== 'image_captioning') {
      throw new Error(`the emulated BLIP answers task "image_captioning" only, got "${String(input.task)}"`);
    }
    const image = await ctl.fetch(String(input.image));
    await ctl.sleep(timing.blipSeconds);
    return `Caption: ${(await describeImage(image)).caption}`;
  };
}

const IMAGE_EXTENSIONS = new Set(['.png', '.jpg', '.jpeg', '.gif', '.webp', '.bmp', '.tif', '.tiff']);
// cog-sdxl extracts any image/* file but then only loads these (`_find_files("*.png")` etc.).
const LOADED_EXTENSIONS = new Set(['.png', '.jpg', '.jpeg']);

/**
 * cog-sdxl preprocessing (preprocess.py): flattens the archive to base names, keeps images and a
 * CSV whose path contains "caption", loads png/jpg/jpeg sorted by name, and pairs the CSV's
 * captions (sorted by `image_file`) with the images by position. Fails where cog-sdxl fails.
 */
async function preprocess(
  entries: ArchiveEntry[],
  captionPrefix: string,
  ctl: ModelContext,
): Promise<TrainingDataset> {
  const extracted = new Map<string, Buffer>();
  const ignored: string[] = [];
  let csv: { name: string; data: Buffer } | undefined;
  for (const entry of entries) {
    if (entry.name.startsWith('__MACOSX')) continue;
    const base = posix.basename(entry.name);
    const extension = posix.extname(base).toLowerCase();
    if (IMAGE_EXTENSIONS.has(extension)) {
      extracted.set(base, entry.data);
      if (!LOADED_EXTENSIONS.has(extension)) ignored.push(entry.name);
    } else if (extension === '.csv' && entry.name.includes('caption')) {
      csv = { name: base, data: entry.data };
    } else {
      ignored.push(entry.name);
    }
  }
  const images = [...extracted.keys()].filter((name) => LOADED_EXTENSIONS.has(posix.extname(name).toLowerCase())).sort();
  if (images.length === 0) {
    throw new Error(
      'No files found in ./temp_in/. Either ./temp_in/ is not a directory or it does not contain any .png or .jpg/jpeg files.',
    );
  }
  ctl.log(`Image files:  [${images.map((name) => `'./temp_in/${name}'`).join(', ')}]`);
  const descriptions = [];
  for (const name of images) {
    try {
      descriptions.push(await describeImage(extracted.get(name) as Buffer));
    } catch {
      throw new Error(`cannot identify image file './temp_in/${name}'`);
    }
  }

  if (csv) {
    ctl.log('Using provided captions');
    const [header = [], ...rows] = parseCsv(csv.data.toString('utf8'));
    const captionColumn = header.indexOf('caption');
    const fileColumn = header.indexOf('image_file');
    if (fileColumn < 0) throw new Error("KeyError: 'image_file'");
    if (captionColumn < 0) throw new Error("KeyError: 'caption'");
    const sorted = [...rows].sort((a, b) => ((a[fileColumn] ?? '') < (b[fileColumn] ?? '') ? -1 : (a[fileColumn] ?? '') > (b[fileColumn] ?? '') ? 1 : 0));
    const captions = sorted.map((row) => row[captionColumn] ?? '');
    ctl.log(`Captions:  [${captions.map((c) => `'${c}'`).join(' ')}]`);
    if (captions.length !== images.length) {
      ctl.log('Not the same number of captions as images!');
      ctl.log(`Num captions: ${captions.length}, Num images: ${images.length}`);
      throw new Error(
        'Not the same number of captions as images! Check that all files passed in have a caption in your caption csv, and vice versa',
      );
    }
    return { images, captions, captionCsv: csv.name, csvImageFiles: sorted.map((row) => row[fileColumn] ?? ''), ignored };
  }

  ctl.log(`Generating ${images.length} captions...`);
  ctl.log(`Input captioning text: ${captionPrefix.trim()}`);
  const captions = descriptions.map((d) => `${captionPrefix.trim()} ${d.caption}`);
  ctl.log(`Generated captions [${captions.map((c) => `'${c}'`).join(', ')}]`);
  return { images, captions, ignored };
}

function weightsTar(trainingId: string, step: number, token: string, isLora: boolean, rank: number): Buffer {
  // cog-sdxl's `token_map = token_string + ":2"`: the token becomes two new embeddings.
  const tokenMap = { [token]: '<s0><s1>' };
  const meta = { training_id: trainingId, step: String(step), token_string: token, lora_rank: String(rank) };
  // The LoRA of the first two of SDXL's 140 attention processors (down_blocks.1's first block:
  // attn1 and the cross-attention attn2) at the real shapes: the whole set at rank 32 is 186 MB.
  const lora = isLora ? cogLoraShapes(sdxlAttentionProcessors().slice(0, 2), rank) : new Map<string, number[]>();
  // TokenEmbeddingsHandler.save_embeddings: one row per new token in each text encoder (768, 1280 wide).
  const embeddings = new Map([['text_encoders_0', [2, 768]], ['text_encoders_1', [2, 1280]]]);
  return writeTar([
    { name: isLora ? 'lora.safetensors' : 'unet.safetensors', data: safetensorsWithMetadata(meta, lora) },
    { name: 'embeddings.pti', data: safetensorsWithMetadata({ [token]: tokenMap[token] ?? '' }, embeddings) },
    { name: 'special_params.json', data: Buffer.from(JSON.stringify(tokenMap)) },
  ]);
}

/**
 * cog-sdxl `train()`: downloads `input_images` (only a file uploaded to this emulator), records the
 * archive and what preprocessing made of it on the job, logs cog-sdxl's lines and a tqdm bar with
 * cog-sdxl's description (`# PTI :step: N, epoch: E`), and returns `{ weights }` (the platform
 * adds `version`). With `streaming`, it instead yields one weights URL every
 * `checkpointing_steps` and at the end: an output array that grows while the job runs.
 */
export function sdxlTrainer(timing: ModelTiming, streaming: boolean): ModelHandler {
  return async (rawInput, ctl) => {
    const input = withDefaults(streaming ? STREAMING_TRAIN_INPUT : SDXL_TRAIN_INPUT, rawInput);
    const url = String(input.input_images);
    const file = ctl.uploadedFile(url);
    if (!file) {
      throw new Error(`input_images must be the urls.get of a file uploaded with POST /files to this emulator, got ${url}`);
    }
    ctl.job.archive = file.data;
    const filetype = input.input_images_filetype === 'infer' ? posix.extname(file.name).slice(1).toLowerCase() : input.input_images_filetype;
    if (filetype !== 'zip' && filetype !== 'tar') throw new Error('AssertionError: input_images_filetype must be zip or tar');
    let entries: ArchiveEntry[];
    try {
      entries = filetype === 'zip' ? await readZip(file.data) : readTar(file.data);
    } catch (error) {
      throw new Error(`${filetype === 'zip' ? 'zipfile.BadZipFile' : 'tarfile.ReadError'}: ${(error as Error).message}`);
    }

    const token = String(input.token_string);
    const dataset = await preprocess(entries, String(input.caption_prefix), ctl);
    ctl.job.dataset = dataset;
    const count = dataset.images.length;
    ctl.log(`Generating ${count} masks...`);
    ctl.log(`Upscaling ${count} images...`);
    await ctl.sleep(count * timing.trainerPreprocessSecondsPerImage);

    const total = Number(input.max_train_steps);
    const batchSize = Number(input.train_batch_size);
    const batchesPerEpoch = Math.ceil(count / batchSize);
    const checkpointEvery = Number(input.checkpointing_steps);
    const isLora = Boolean(input.is_lora);
    const rank = Number(input.lora_rank);
    ctl.log(`Using seed ${typeof input.seed === 'number' ? input.seed : randomInt(2 ** 31)}`);
    ctl.log('# PTI : Loaded models');
    ctl.log('# PTI : Loaded dataset');
    ctl.log('# PTI :  Running training ');
    ctl.log(`# PTI :  Num examples = ${count}`);
    ctl.log(`# PTI :  Num batches each epoch = ${batchesPerEpoch}`);
    ctl.log(`# PTI :  Num Epochs = ${Math.ceil(total / batchesPerEpoch)}`);
    ctl.log(`# PTI :  Instantaneous batch size per device = ${batchSize}`);
    ctl.log(`# PTI :  Total optimization steps = ${total}`);

    const isCheckpoint = (n: number) => streaming && (n % checkpointEvery === 0 || n === total);
    await steppedLoop(ctl, total, timing.trainerSecondsPerStep, {
      // tqdm's description is set after `update(1)`, from the step counter before its increment.
      description: (n) => `# PTI :step: ${Math.max(0, n - 1)}, epoch: ${Math.floor(Math.max(0, n - 1) / batchesPerEpoch)}`,
      stopAt: isCheckpoint,
      onStep: async (n) => {
        if (!isCheckpoint(n)) return;
        ctl.emit(ctl.serve(`checkpoint-${n}.tar`, weightsTar(ctl.job.id, n, token, isLora, rank), 'application/x-tar'));
        ctl.log(`Saved checkpoint at step ${n}`);
      },
    });
    if (streaming) return undefined;

    ctl.log('Saving final model for return');
    for (const name of [isLora ? 'lora.safetensors' : 'unet.safetensors', 'embeddings.pti', 'special_params.json']) {
      ctl.log(`training_out/${name}`);
    }
    return { weights: ctl.serve('trained_model.tar', weightsTar(ctl.job.id, total, token, isLora, rank), 'application/x-tar') };
  };
}

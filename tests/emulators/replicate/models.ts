import { randomInt } from 'node:crypto';
import { posix } from 'node:path';
import sharp from 'sharp';
import {
  type ArchiveEntry,
  parseCsv,
  readSafetensorsMetadata,
  readTar,
  safetensorsWithMetadata,
  writeTar,
} from './archive.js';
import { colourFor, describeImage, solidPng } from './images.js';
import { cogLoraShapes, sdxlAttentionProcessors } from './lora.js';
import type { ModelContext, ModelHandler, TrainingDataset } from './jobs.js';
import { BLIP_SCHEMA, COG_SDXL_SCHEMA, withDefaults } from './schemas.js';

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

/**
 * Runs `total` steps of `secondsPerStep` and logs a tqdm refresh per step. Sleeps in chunks of
 * about five emulated seconds (a timer per step would be a sub-millisecond one) and never across
 * a step `stopAt` asks for, so a poller sees the bar move and checkpoints appear on time.
 */
export async function steppedLoop(
  ctl: ModelContext,
  total: number,
  secondsPerStep: number,
  options: {
    description?: (n: number) => string;
    stopAt?: (n: number) => boolean;
    onStep?: (n: number) => Promise<void>;
    /** The bar's `total` when it differs from the steps run (cog-sdxl's bar counts `max_train_steps`, its loop whole epochs). */
    barTotal?: number;
  } = {},
): Promise<void> {
  const chunk = Math.max(1, Math.floor(5 / secondsPerStep));
  const barTotal = options.barTotal ?? total;
  ctl.progress(0, barTotal, 0, options.description?.(0));
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
      ctl.progress(m, barTotal, m * secondsPerStep, options.description?.(m));
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
    const input = withDefaults(COG_SDXL_SCHEMA, 'Input', rawInput);
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

/** Share of BLIP's time spent before the picture is decoded (Cog's input download, the predictor's entry). */
const BLIP_BEFORE_DECODE = 0.2;

/**
 * salesforce/blip: `"Caption: <sentence naming the image's colour>"`.
 *
 * A picture that does not decode fails the prediction only once it runs, so it is billed:
 * salesforce/BLIP predict.py (commit 056a169437371659074aa2732649d5de3bffb4a8, `load_image`) does
 * `Image.open(str(image)).convert('RGB')` inside `predict()`. `Image.open` reads the header alone
 * (a file it cannot identify raises `UnidentifiedImageError: cannot identify image file …`);
 * `convert` loads every pixel, and PIL (ImageFile.LOAD_TRUNCATED_IMAGES off) raises
 * `OSError: image file is truncated (… bytes not processed)` for a file cut short.
 */
export function blipCaptioner(timing: ModelTiming): ModelHandler {
  return async (rawInput, ctl) => {
    const input = withDefaults(BLIP_SCHEMA, 'Input', rawInput);
    if (input.task !== 'image_captioning') {
      throw new Error(`the emulated BLIP answers task "image_captioning" only, got "${String(input.task)}"`);
    }
    const image = await ctl.fetch(String(input.image));
    await ctl.sleep(timing.blipSeconds * BLIP_BEFORE_DECODE);
    const described = await describeLikePil(image);
    await ctl.sleep(timing.blipSeconds * (1 - BLIP_BEFORE_DECODE));
    return `Caption: ${described.caption}`;
  };
}

/** describeImage, failing with PIL's words where PIL fails (see blipCaptioner). */
async function describeLikePil(image: Buffer) {
  try {
    await sharp(image).metadata();
  } catch {
    throw new Error("cannot identify image file '/tmp/tmpinput'");
  }
  try {
    // sharp's default failOn ('warning') refuses truncated pixel data, as PIL's load() does.
    return await describeImage(image);
  } catch {
    throw new Error('image file is truncated');
  }
}

const IMAGE_EXTENSIONS = new Set(['.png', '.jpg', '.jpeg', '.gif', '.webp', '.bmp', '.tif', '.tiff']);
// cog-sdxl extracts any image/* file but then only loads these (`_find_files("*.png")` etc.).
const LOADED_EXTENSIONS = new Set(['.png', '.jpg', '.jpeg']);

/**
 * cog-sdxl preprocessing (preprocess.py): flattens the archive to base names, keeps images and a
 * CSV whose path contains "caption", loads png/jpg/jpeg sorted by name, and pairs the CSV's
 * captions (sorted by `image_file`) with the images by position. Fails where cog-sdxl fails.
 */
export async function preprocess(
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

export function weightsTar(trainingId: string, step: number, token: string, isLora: boolean, rank: number): Buffer {
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

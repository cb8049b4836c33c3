import { readSafetensors, writeSafetensors, type Tensor } from './safetensors.js';
import { readTarFiles } from './tar.js';

/**
 * cog-sdxl's LoRA archive → the files the diffusers ecosystem loads.
 *
 * cog-sdxl (replicate/cog-sdxl@c79cb3c, trainer_pti.py + dataset_and_utils.py
 * `unet_attn_processors_state_dict`) saves `lora.safetensors` with one `LoRAAttnProcessor2_0`
 * per attention processor: keys `{processor}.{to_q|to_k|to_v|to_out}_lora.{down|up}.weight`,
 * e.g. `down_blocks.1.attentions.0.transformer_blocks.0.attn1.processor.to_q_lora.down.weight`
 * (down: [rank, in], up: [out, rank]); `embeddings.pti` holds the trained tokens' embeddings
 * (`text_encoders_0` [n, 768], `text_encoders_1` [n, 1280]); `special_params.json` maps the
 * trigger word to those tokens (`{"KMPLZ": "<s0><s1>"}`).
 *
 * diffusers (huggingface/diffusers@58eb52c) loads `pytorch_lora_weights.safetensors` with PEFT
 * keys under the `unet.` prefix (loaders/peft.py keeps `unet.*` and strips the prefix): the
 * module path without `.processor`, then `UNET_TO_DIFFUSERS` of utils/state_dict_utils.py —
 * `.to_q_lora.down` → `.to_q.lora_A`, `.to_out_lora.up` → `.to_out.0.lora_B`, … With no alpha
 * stored PEFT scales by alpha/rank = 1, as cog-sdxl's processors do. The embeddings go to
 * `embeddings.safetensors` as `clip_l` / `clip_g`, the names diffusers' advanced SDXL DreamBooth
 * script writes and its model cards load with `load_textual_inversion`.
 */

export interface DiffusersLora {
  /** `pytorch_lora_weights.safetensors`. */
  weights: Buffer;
  /** `embeddings.safetensors` (`clip_l`, `clip_g`), when the archive has trained tokens. */
  embeddings?: Buffer;
  /** Trigger word → the tokens to write in a diffusers prompt instead, e.g. `{ KMPLZ: '<s0><s1>' }`. */
  tokenMap: Record<string, string>;
  rank: number;
  /** How many LoRA tensors were converted. */
  tensors: number;
}

export class ConversionError extends Error {
  override name = 'ConversionError';
}

const PROCESSOR_KEY = /^(.+)\.processor\.(to_q|to_k|to_v|to_out)_lora\.(down|up)\.weight$/;

/** One cog-sdxl key → its diffusers/PEFT key; undefined for a key that is not an attention LoRA weight. */
export function diffusersKeyOf(cogKey: string): string | undefined {
  const match = PROCESSOR_KEY.exec(cogKey);
  if (!match) return undefined;
  const [, module, projection, direction] = match;
  return `unet.${module}.${projection === 'to_out' ? 'to_out.0' : projection}.lora_${direction === 'down' ? 'A' : 'B'}.weight`;
}

export function convertCogSdxlArchive(archive: Buffer): DiffusersLora {
  const files = readTarFiles(archive);
  const lora = files.get('lora.safetensors');
  if (!lora) {
    throw new ConversionError(files.has('unet.safetensors') ? 'the checkpoint is a full UNet fine-tune, not a LoRA' : 'the archive has no lora.safetensors');
  }
  const source = readSafetensors(lora);
  const converted = new Map<string, Tensor>();
  let rank = 0;
  for (const [key, tensor] of source.tensors) {
    const target = diffusersKeyOf(key);
    if (!target) throw new ConversionError(`unexpected tensor ${key} in lora.safetensors`);
    if (target.endsWith('lora_A.weight')) rank = Math.max(rank, tensor.shape[0] ?? 0);
    converted.set(target, tensor);
  }
  if (converted.size === 0) throw new ConversionError('lora.safetensors holds no tensors');

  const tokenMap = parseTokenMap(files.get('special_params.json'));
  const pti = files.get('embeddings.pti');
  let embeddings: Buffer | undefined;
  if (pti) {
    const { tensors } = readSafetensors(pti);
    const clipL = tensors.get('text_encoders_0');
    const clipG = tensors.get('text_encoders_1');
    if (clipL && clipG) embeddings = writeSafetensors(new Map([['clip_l', clipL], ['clip_g', clipG]]), { format: 'pt' });
  }
  return { weights: writeSafetensors(converted, { format: 'pt' }), embeddings, tokenMap, rank, tensors: converted.size };
}

function parseTokenMap(file: Buffer | undefined): Record<string, string> {
  if (!file) return {};
  try {
    const parsed = JSON.parse(file.toString('utf8')) as unknown;
    if (!parsed || typeof parsed !== 'object') return {};
    return Object.fromEntries(Object.entries(parsed).filter((entry): entry is [string, string] => typeof entry[1] === 'string'));
  } catch {
    return {};
  }
}

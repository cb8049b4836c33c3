/**
 * The model card (`README.md`) of a published checkpoint: YAML front matter the Hub reads
 * (https://huggingface.co/docs/hub/model-cards: base_model, instance_prompt, license, tags,
 * widget) and a body for people. Built from plain data only, with nothing that changes between
 * two publishes of the same checkpoint (no dates): publishing it again gives the same bytes, and
 * so no commit.
 */

export const BASE_MODEL = 'stabilityai/stable-diffusion-xl-base-1.0';
/** SDXL 1.0's own license, which a LoRA trained on it carries on. */
export const LICENSE = 'openrail++';

export interface CardImage {
  /** Path in the repository, e.g. `images/step-500/preview-step-500.png`. */
  path: string;
  /** The prompt it was drawn from. */
  prompt: string;
}

export interface ModelCardInput {
  repo: string;
  triggerWord: string;
  /** Trigger word → the trained tokens (`<s0><s1>`) a diffusers prompt uses instead. */
  tokenMap: Record<string, string>;
  /** Whom the style belongs to, as the server credits them; unset: the card says the credit is missing. */
  credit?: string;
  step: number;
  training: {
    steps: number;
    checkpointEvery: number;
    images?: number;
    seed?: number;
    strategy?: string;
    rank: number;
    trainer: string;
  };
  /** Every checkpoint's votes, in step order, and how the published one was chosen. */
  vote: { counts: [number, number][]; chosenBy?: string };
  /** The preview sheet first, then showcase pictures. */
  images: CardImage[];
  hasEmbeddings: boolean;
}

/** A YAML scalar: JSON's double-quoted string is valid YAML and escapes everything that must be. */
const yaml = (text: string) => JSON.stringify(text);

export function modelCard(input: ModelCardInput): string {
  const { repo, triggerWord, step, training } = input;
  const tokens = input.tokenMap[triggerWord];
  const front = [
    '---',
    `base_model: ${BASE_MODEL}`,
    `instance_prompt: ${yaml(triggerWord)}`,
    `license: ${LICENSE}`,
    'library_name: diffusers',
    'tags:',
    ...['text-to-image', 'stable-diffusion-xl', 'lora', 'diffusers', 'template:sd-lora', 'kmplz'].map((tag) => `- ${tag}`),
    ...(input.images.length ? ['widget:', ...input.images.flatMap((image) => [`- text: ${yaml(image.prompt)}`, '  output:', `    url: ${yaml(image.path)}`])] : []),
    '---',
  ];
  const credit = input.credit ? `the artist ${input.credit}` : 'an artist (the server has not set ARTIST_CREDIT: please ask the class whom to credit)';
  const votes = input.vote.counts.map(([s, n]) => `| ${s}${s === step ? ' (published)' : ''} | ${n} |`);
  const diffusersPrompt = tokens ? `${tokens}, a drawing of a sad girl in a hoodie and jeans` : `${triggerWord}, a drawing of a sad girl in a hoodie and jeans`;
  const body = [
    `# ${triggerWord}: an SDXL LoRA of ${input.credit ?? 'an artist'}’s style`,
    '',
    `A LoRA for [${BASE_MODEL}](https://huggingface.co/${BASE_MODEL}) that a class trained on the drawings of ${credit}, with kmplz, a Discord bot. Please credit the artist when you share what you make with it.`,
    '',
    '## Training',
    '',
    `- checkpoint: step **${step}** of a ${training.steps}-step training, a checkpoint every ${training.checkpointEvery} steps`,
    `- trainer: \`${training.trainer}\` (cog-sdxl: DreamBooth LoRA with pivotal tuning), LoRA rank ${training.rank}${training.strategy ? `, ${training.strategy} strategy` : ''}${training.seed !== undefined ? `, seed ${training.seed}` : ''}`,
    `- data: ${training.images ?? 'the'} drawings, cropped to 1024×1024 squares, captioned by BLIP in the form \`${triggerWord}, a drawing of …\``,
    '',
    '## The class’s vote',
    '',
    '| step | votes |',
    '|---|---|',
    ...votes,
    '',
    input.vote.chosenBy ? `Step ${step} is the one the class uses (${input.vote.chosenBy}).` : `Step ${step} was published by a trainer.`,
    '',
    '## Files',
    '',
    '- `pytorch_lora_weights.safetensors`: the UNet LoRA in the diffusers (PEFT) format.',
    ...(input.hasEmbeddings ? [`- \`embeddings.safetensors\`: the embeddings of the trained tokens \`${tokens ?? '<s0><s1>'}\` (\`clip_l\`, \`clip_g\`): the trigger word ${triggerWord} stands for them.`] : []),
    '- `trained_model.tar`: the original cog-sdxl archive; works as `replicate_weights` of cog-sdxl on Replicate.',
    '- `images/`: the checkpoint’s preview sheet and the class’s showcase pictures made with it.',
    '',
    '## Use it with diffusers',
    '',
    '```python',
    'import torch',
    'from diffusers import DiffusionPipeline',
    ...(input.hasEmbeddings ? ['from huggingface_hub import hf_hub_download', 'from safetensors.torch import load_file'] : []),
    '',
    `pipe = DiffusionPipeline.from_pretrained("${BASE_MODEL}", torch_dtype=torch.float16).to("cuda")`,
    `pipe.load_lora_weights("${repo}", weight_name="pytorch_lora_weights.safetensors")`,
    ...(input.hasEmbeddings
      ? [
          `embeddings = load_file(hf_hub_download("${repo}", "embeddings.safetensors"))`,
          `tokens = ${JSON.stringify(splitTokens(tokens ?? '<s0><s1>'))}`,
          'pipe.load_textual_inversion(embeddings["clip_l"], token=tokens, text_encoder=pipe.text_encoder, tokenizer=pipe.tokenizer)',
          'pipe.load_textual_inversion(embeddings["clip_g"], token=tokens, text_encoder=pipe.text_encoder_2, tokenizer=pipe.tokenizer_2)',
        ]
      : []),
    '',
    `image = pipe("${diffusersPrompt}").images[0]`,
    '```',
    '',
    input.hasEmbeddings ? `In diffusers, write \`${tokens ?? '<s0><s1>'}\` where kmplz and Replicate take \`${triggerWord}\`.` : `Start prompts with \`${triggerWord}\`.`,
    '',
    '## Credit',
    '',
    `The style is ${credit}'s. This LoRA only imitates it; the drawings it learned from are theirs.`,
    '',
  ];
  return [...front, ...body].join('\n');
}

/** `<s0><s1>` → `['<s0>', '<s1>']`. */
function splitTokens(tokens: string): string[] {
  return tokens.match(/<[^>]+>/g) ?? [tokens];
}

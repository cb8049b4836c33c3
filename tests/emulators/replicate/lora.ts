/**
 * What cog-sdxl's LoRA files hold, by name and shape, so the emulated trainer's archive is one a
 * converter can be tested on.
 *
 * SDXL's UNet (stabilityai/stable-diffusion-xl-base-1.0 `unet/config.json`): block_out_channels
 * [320, 640, 1280]; down blocks DownBlock2D, CrossAttnDownBlock2D ×2 with 2 attentions each and
 * transformer_layers_per_block [1, 2, 10]; up blocks CrossAttnUpBlock2D ×2, UpBlock2D with 3
 * attentions each and the layers reversed [10, 2, 1]; a mid block of 10 layers at 1280;
 * cross_attention_dim 2048. Every transformer block has `attn1` (self) and `attn2` (cross): 140
 * attention processors. cog-sdxl (trainer_pti.py) gives each a `LoRAAttnProcessor2_0(hidden_size,
 * cross_attention_dim if attn2, rank)`: to_q/to_k/to_v/to_out LoRA layers whose `down` is
 * [rank, in] and `up` [out, rank], in = the cross dim for attn2's k and v, else hidden.
 */

export interface AttentionProcessor {
  name: string;
  hidden: number;
  /** 2048 for attn2, undefined for attn1. */
  cross?: number;
}

export function sdxlAttentionProcessors(): AttentionProcessor[] {
  const processors: AttentionProcessor[] = [];
  const block = (prefix: string, hidden: number, layers: number) => {
    for (let t = 0; t < layers; t++) {
      processors.push({ name: `${prefix}.transformer_blocks.${t}.attn1.processor`, hidden });
      processors.push({ name: `${prefix}.transformer_blocks.${t}.attn2.processor`, hidden, cross: 2048 });
    }
  };
  for (const [b, hidden, layers] of [[1, 640, 2], [2, 1280, 10]] as const) for (let a = 0; a < 2; a++) block(`down_blocks.${b}.attentions.${a}`, hidden, layers);
  for (const [b, hidden, layers] of [[0, 1280, 10], [1, 640, 2]] as const) for (let a = 0; a < 3; a++) block(`up_blocks.${b}.attentions.${a}`, hidden, layers);
  block('mid_block.attentions.0', 1280, 10);
  return processors;
}

/** cog-sdxl's `lora.safetensors` keys and shapes for these processors (fp32, as trained). */
export function cogLoraShapes(processors: readonly AttentionProcessor[], rank: number): Map<string, number[]> {
  const shapes = new Map<string, number[]>();
  for (const { name, hidden, cross } of processors) {
    for (const projection of ['to_q', 'to_k', 'to_v', 'to_out'] as const) {
      const input = cross !== undefined && (projection === 'to_k' || projection === 'to_v') ? cross : hidden;
      shapes.set(`${name}.${projection}_lora.down.weight`, [rank, input]);
      shapes.set(`${name}.${projection}_lora.up.weight`, [hidden, rank]);
    }
  }
  return shapes;
}

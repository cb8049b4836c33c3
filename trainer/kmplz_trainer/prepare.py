"""Everything computed once before the first step: VAE latents and SDXL prompt embeddings.

No augmentation is applied (the squares are the teacher's chosen crops, and flipping a drawing can
teach the wrong hand or mirrored lettering), so each image's latent distribution and each caption's
embeddings never change: encoding them once and then dropping the VAE and both text encoders takes
them out of every step and out of GPU memory. The latent is still SAMPLED from its distribution each
step (mean + std * noise), exactly what re-encoding would give.
"""

from __future__ import annotations

import gc
from dataclasses import dataclass

import numpy as np
import torch
from diffusers import AutoencoderKL, DDPMScheduler, UNet2DConditionModel
from transformers import CLIPTextModel, CLIPTextModelWithProjection, CLIPTokenizer

from .dataset import Example, square
from .export import TriggerEmbeddings, trigger_embeddings


@dataclass
class Prepared:
    latent_mean: torch.Tensor  # (N, 4, h, w), already times the VAE's scaling factor
    latent_std: torch.Tensor
    prompt_embeds: torch.Tensor  # (N, 77, hidden_1 + hidden_2)
    pooled_embeds: torch.Tensor  # (N, projection_dim)
    alphas_cumprod: torch.Tensor  # (num_train_timesteps,) on the device, float32
    prediction_type: str
    trigger: TriggerEmbeddings


def load_unet(base_model: str, dtype: torch.dtype, device: torch.device) -> UNet2DConditionModel:
    try:
        unet = UNet2DConditionModel.from_pretrained(base_model, subfolder="unet", torch_dtype=dtype)
    except (OSError, EnvironmentError):
        # Some SDXL folders (cog-sdxl's weights tar among them) hold only the fp16 variant.
        unet = UNet2DConditionModel.from_pretrained(base_model, subfolder="unet", torch_dtype=dtype, variant="fp16")
    return unet.to(device)


def _from_pretrained(cls, base_model: str, subfolder: str, **kwargs):
    try:
        return cls.from_pretrained(base_model, subfolder=subfolder, **kwargs)
    except (OSError, EnvironmentError):
        return cls.from_pretrained(base_model, subfolder=subfolder, variant="fp16", **kwargs)


@torch.no_grad()
def prepare(
    base_model: str, examples: list[Example], resolution: int, token_string: str, device: torch.device, dtype: torch.dtype
) -> Prepared:
    scheduler = DDPMScheduler.from_pretrained(base_model, subfolder="scheduler")
    tokenizers = [CLIPTokenizer.from_pretrained(base_model, subfolder=s) for s in ("tokenizer", "tokenizer_2")]
    # float32, the weights' own values: the trigger's embedding rows go into embeddings.pti and must
    # be the base model's rows exactly (bf16 would round them), and the encoders run only once.
    encoders = [
        _from_pretrained(CLIPTextModel, base_model, "text_encoder", torch_dtype=torch.float32).to(device),
        _from_pretrained(CLIPTextModelWithProjection, base_model, "text_encoder_2", torch_dtype=torch.float32).to(device),
    ]
    trigger = trigger_embeddings(token_string, tokenizers, encoders)

    captions = [e.caption for e in examples]
    hidden, pooled = [], None
    for tokenizer, encoder in zip(tokenizers, encoders):
        ids = tokenizer(captions, padding="max_length", max_length=tokenizer.model_max_length, truncation=True, return_tensors="pt").input_ids
        out = encoder(ids.to(device), output_hidden_states=True)
        # As StableDiffusionXLPipeline.encode_prompt: the penultimate layer of both encoders,
        # concatenated, and the second encoder's projected pooled output.
        hidden.append(out.hidden_states[-2])
        pooled = out.text_embeds if isinstance(encoder, CLIPTextModelWithProjection) else pooled
    prompt_embeds = torch.cat(hidden, dim=-1).to(dtype)
    del encoders, hidden, out
    gc.collect()

    # The VAE in float32: SDXL's original VAE overflows in half precision, and it runs once per image.
    vae = _from_pretrained(AutoencoderKL, base_model, "vae", torch_dtype=torch.float32).to(device)
    means, stds = [], []
    for example in examples:  # one at a time, so the encoder's peak memory is one image's
        pixels = np.asarray(square(example.image, resolution), dtype=np.float32) / 127.5 - 1.0
        batch = torch.from_numpy(pixels).permute(2, 0, 1).unsqueeze(0).to(device)
        dist = vae.encode(batch).latent_dist
        means.append(dist.mean)
        stds.append(dist.std)
    scale = vae.config.scaling_factor
    shift = getattr(vae.config, "shift_factor", None) or 0.0
    del vae
    gc.collect()
    if device.type == "cuda":
        torch.cuda.empty_cache()

    return Prepared(
        latent_mean=((torch.cat(means) - shift) * scale).to(dtype),
        latent_std=(torch.cat(stds) * scale).to(dtype),
        prompt_embeds=prompt_embeds,
        pooled_embeds=pooled.to(dtype),
        alphas_cumprod=scheduler.alphas_cumprod.to(device=device, dtype=torch.float32),
        prediction_type=scheduler.config.prediction_type,
        trigger=trigger,
    )

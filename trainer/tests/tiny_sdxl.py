"""A tiny SDXL pipeline with random weights and a tokenizer from a small local vocabulary: no download.

The components follow diffusers' tests/pipelines/stable_diffusion_xl/test_stable_diffusion_xl.py
`get_dummy_components` (huggingface/diffusers 58eb52c); the tokenizer is built the way transformers'
tests/models/clip/test_tokenization_clip.py builds one, from a small vocabulary and merges made on
the spot (here passed to the tokenizers-backed CLIPTokenizer of transformers 5 directly), with
every lowercase letter so any caption tokenizes without <unk>.
"""

from __future__ import annotations

import io
import json
import string
import zipfile
from pathlib import Path

import numpy as np
import torch
from diffusers import AutoencoderKL, EulerDiscreteScheduler, StableDiffusionXLPipeline, UNet2DConditionModel
from PIL import Image
from transformers import CLIPTextConfig, CLIPTextModel, CLIPTextModelWithProjection, CLIPTokenizer


def tiny_tokenizer() -> CLIPTokenizer:
    letters = list(string.ascii_lowercase)
    merges = [("t", "o"), ("to", "k</w>"), ("d", "r"), ("dr", "a"), ("dra", "w"), ("i", "n"), ("in", "g</w>")]
    vocab = ["<|startoftext|>", "<|endoftext|>", "<unk>"]
    vocab += letters + [f"{c}</w>" for c in letters] + [",", ",</w>", ".</w>", "to", "tok</w>", "dr", "dra", "draw", "in", "ing</w>"]
    return CLIPTokenizer(vocab={token: i for i, token in enumerate(vocab)}, merges=merges, unk_token="<unk>", model_max_length=77)


def build_tiny_sdxl(folder: Path) -> Path:
    torch.manual_seed(0)
    unet = UNet2DConditionModel(
        block_out_channels=(2, 4),
        layers_per_block=2,
        sample_size=32,
        in_channels=4,
        out_channels=4,
        down_block_types=("DownBlock2D", "CrossAttnDownBlock2D"),
        up_block_types=("CrossAttnUpBlock2D", "UpBlock2D"),
        attention_head_dim=(2, 4),
        use_linear_projection=True,
        addition_embed_type="text_time",
        addition_time_embed_dim=8,
        transformer_layers_per_block=(1, 2),
        projection_class_embeddings_input_dim=80,  # 6 * 8 + 32
        cross_attention_dim=64,
        norm_num_groups=1,
    )
    scheduler = EulerDiscreteScheduler(
        beta_start=0.00085, beta_end=0.012, steps_offset=1, beta_schedule="scaled_linear", timestep_spacing="leading"
    )
    torch.manual_seed(0)
    vae = AutoencoderKL(
        block_out_channels=[32, 64],
        in_channels=3,
        out_channels=3,
        down_block_types=["DownEncoderBlock2D", "DownEncoderBlock2D"],
        up_block_types=["UpDecoderBlock2D", "UpDecoderBlock2D"],
        latent_channels=4,
        sample_size=128,
    )
    torch.manual_seed(0)
    encoder_config = CLIPTextConfig(
        bos_token_id=0, eos_token_id=1, hidden_size=32, intermediate_size=37, layer_norm_eps=1e-05,
        num_attention_heads=4, num_hidden_layers=5, pad_token_id=1, vocab_size=1000, hidden_act="gelu", projection_dim=32,
    )
    tokenizer = tiny_tokenizer()
    pipe = StableDiffusionXLPipeline(
        vae=vae,
        text_encoder=CLIPTextModel(encoder_config),
        text_encoder_2=CLIPTextModelWithProjection(encoder_config),
        tokenizer=tokenizer,
        tokenizer_2=tokenizer,
        unet=unet,
        scheduler=scheduler,
    )
    pipe.save_pretrained(folder / "sdxl")
    return folder / "sdxl"


def dataset_zip(path: Path, trigger: str, count: int = 3, side: int = 64) -> Path:
    """The archive kmplz exports (src/dataset/intake/export.ts): squares plus caption.csv with CRLF rows."""
    rng = np.random.default_rng(0)
    rows = ["caption,image_file"]
    with zipfile.ZipFile(path, "w") as archive:
        for i in range(count):
            pixels = rng.integers(0, 255, (side, side, 3), dtype=np.uint8)
            data = io.BytesIO()
            Image.fromarray(pixels).save(data, format="JPEG")
            archive.writestr(f"drawing-{i}.jpg", data.getvalue())
            rows.append(f'"{trigger}, a drawing, ink {i}",drawing-{i}.jpg')
        archive.writestr("caption.csv", "\r\n".join(rows) + "\r\n")
    return path

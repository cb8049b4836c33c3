"""GPU measurements of the trainer on the full-size SDXL architecture with random weights (no download).

  python bench/gpu_bench.py build DIR          # random SDXL 1.0-shaped pipeline + a 10-image dataset zip
  python bench/gpu_bench.py modes DIR          # steps/s and peak memory of each step mode, batch 1 and 4
  python bench/gpu_bench.py e2e DIR STEPS BSZ  # the real trainer end to end, with its checkpoint timeline
  python bench/gpu_bench.py equiv DIR STEPS    # eager and CUDA-graph runs from one seed give the same LoRA
  python bench/gpu_bench.py example DIR ARGS   # diffusers' train_dreambooth_lora_sdxl.py, timed the same way

The architecture is SDXL 1.0 base's (unet/vae/text encoder configs as published in
stabilityai/stable-diffusion-xl-base-1.0); random weights change no kernel's cost. The tokenizer is
the small test vocabulary: prompts are encoded once, so its size costs nothing per step.
"""

from __future__ import annotations

import io
import json
import os
import sys
import time
import zipfile
from pathlib import Path

import numpy as np
import torch

HERE = Path(__file__).resolve().parent
sys.path[:0] = [str(HERE.parent), str(HERE.parent / "tests")]

UNET = dict(
    addition_embed_type="text_time", addition_time_embed_dim=256, attention_head_dim=[5, 10, 20],
    block_out_channels=[320, 640, 1280], cross_attention_dim=2048,
    down_block_types=["DownBlock2D", "CrossAttnDownBlock2D", "CrossAttnDownBlock2D"], in_channels=4, layers_per_block=2,
    out_channels=4, projection_class_embeddings_input_dim=2816, sample_size=128, transformer_layers_per_block=[1, 2, 10],
    up_block_types=["CrossAttnUpBlock2D", "CrossAttnUpBlock2D", "UpBlock2D"], use_linear_projection=True, norm_num_groups=32,
)
VAE = dict(
    block_out_channels=[128, 256, 512, 512], down_block_types=["DownEncoderBlock2D"] * 4, up_block_types=["UpDecoderBlock2D"] * 4,
    in_channels=3, out_channels=3, latent_channels=4, layers_per_block=2, norm_num_groups=32, sample_size=1024,
    scaling_factor=0.13025, force_upcast=True,
)
CLIP_L = dict(hidden_size=768, intermediate_size=3072, num_hidden_layers=12, num_attention_heads=12, hidden_act="quick_gelu", projection_dim=768)
CLIP_G = dict(hidden_size=1280, intermediate_size=5120, num_hidden_layers=32, num_attention_heads=20, hidden_act="gelu", projection_dim=1280)
PROMPT = "KMPLZ, a drawing"


def build(folder: Path) -> None:
    from diffusers import AutoencoderKL, EulerDiscreteScheduler, StableDiffusionXLPipeline, UNet2DConditionModel
    from PIL import Image
    from tiny_sdxl import tiny_tokenizer
    from transformers import CLIPTextConfig, CLIPTextModel, CLIPTextModelWithProjection

    started = time.perf_counter()
    torch.manual_seed(0)
    common = dict(vocab_size=49408, max_position_embeddings=77, bos_token_id=0, eos_token_id=1, pad_token_id=1)
    with torch.device("cuda"):
        unet = UNet2DConditionModel(**UNET).to(torch.float16)
        print(f"unet parameters: {sum(p.numel() for p in unet.parameters()) / 1e9:.3f} B (SDXL base: 2.567 B)")
        pipe = StableDiffusionXLPipeline(
            vae=AutoencoderKL(**VAE).to(torch.float16),
            text_encoder=CLIPTextModel(CLIPTextConfig(**common, **CLIP_L)).to(torch.float16),
            text_encoder_2=CLIPTextModelWithProjection(CLIPTextConfig(**common, **CLIP_G)).to(torch.float16),
            tokenizer=tiny_tokenizer(),
            tokenizer_2=tiny_tokenizer(),
            unet=unet,
            scheduler=EulerDiscreteScheduler(beta_start=0.00085, beta_end=0.012, beta_schedule="scaled_linear", steps_offset=1, timestep_spacing="leading"),
        )
    pipe.save_pretrained(folder / "sdxl")  # fp16 on disk, as SDXL is distributed
    rng = np.random.default_rng(0)
    (folder / "images").mkdir(exist_ok=True)
    rows = ["caption,image_file"]
    with zipfile.ZipFile(folder / "data.zip", "w") as archive:
        for i in range(10):
            # Smooth random pictures (not white noise), so the JPEGs and latents look like images.
            small = rng.integers(0, 255, (16, 16, 3), dtype=np.uint8)
            image = Image.fromarray(small).resize((1024, 1024), Image.Resampling.BICUBIC)
            data = io.BytesIO()
            image.save(data, format="JPEG", quality=90)
            archive.writestr(f"d{i}.jpg", data.getvalue())
            (folder / "images" / f"d{i}.jpg").write_bytes(data.getvalue())
            rows.append(f'"{PROMPT}",d{i}.jpg')
        archive.writestr("caption.csv", "\r\n".join(rows) + "\r\n")
    print(f"built in {time.perf_counter() - started:.1f}s")


def modes(folder: Path, which: list[str]) -> None:
    """Each step mode on the same UNet with synthetic prepared data: the trainer's own step code."""
    from types import SimpleNamespace

    from peft import LoraConfig

    from kmplz_trainer.export import LORA_TARGETS
    from kmplz_trainer.prepare import Prepared, load_unet
    from kmplz_trainer.step import make_step

    device, dtype = torch.device("cuda"), torch.bfloat16
    unet = load_unet(str(folder / "sdxl"), dtype, device)
    unet.requires_grad_(False)
    unet.add_adapter(LoraConfig(r=32, lora_alpha=32, init_lora_weights="gaussian", target_modules=LORA_TARGETS))
    for p in unet.parameters():
        if p.requires_grad:
            p.data = p.data.float()
    params = [p for p in unet.parameters() if p.requires_grad]
    print(f"LoRA parameters: {sum(p.numel() for p in params) / 1e6:.1f} M")
    n = 10
    data = Prepared(
        latent_mean=torch.randn(n, 4, 128, 128, device=device, dtype=dtype), latent_std=torch.full((n, 4, 128, 128), 0.01, device=device, dtype=dtype),
        prompt_embeds=torch.randn(n, 77, 2048, device=device, dtype=dtype), pooled_embeds=torch.randn(n, 1280, device=device, dtype=dtype),
        alphas_cumprod=torch.linspace(0.999, 0.01, 1000, device=device), prediction_type="epsilon", trigger=None,
    )
    results = []
    for spec in which:
        mode, bsz, ckpt, fused = spec.split(":")[0], int(spec.split(":")[1]), ":gc" in spec, ":nofused" not in spec
        if ckpt:
            unet.enable_gradient_checkpointing()
        else:
            unet.disable_gradient_checkpointing()
        # nofused: torch's default multi-tensor (foreach) AdamW, to show what fused=True buys.
        optimizer = torch.optim.AdamW(params, lr=1e-4, weight_decay=1e-4, fused=fused, foreach=None if fused else True)
        config = SimpleNamespace(step_mode=mode, gradient_checkpointing=ckpt)
        torch.cuda.empty_cache()
        torch.cuda.reset_peak_memory_stats()
        t0 = time.perf_counter()
        try:
            step, used = make_step(unet, data, optimizer, 1024, bsz, torch.Generator(device=device).manual_seed(0), config, device, dtype)
            index = torch.arange(bsz, device=device)
            for _ in range(3):
                step(index)
            torch.cuda.synchronize()
            setup = time.perf_counter() - t0
            t1 = time.perf_counter()
            count = 30 if bsz == 1 else 12
            for _ in range(count):
                loss = step(index)
            torch.cuda.synchronize()
            rate = count / (time.perf_counter() - t1)
            peak = torch.cuda.max_memory_allocated() / 2**30
            row = dict(spec=spec, mode=used, batch=bsz, gc=ckpt, steps_per_s=round(rate, 3), images_per_s=round(rate * bsz, 2),
                       min_per_1000=round(1000 / rate / 60, 2), peak_gib=round(peak, 2), setup_s=round(setup, 1), loss=float(loss))
        except Exception as error:  # a mode that fails is reported, and the others still run
            row = dict(spec=spec, error=f"{type(error).__name__}: {str(error)[:300]}")
        print("MODE " + json.dumps(row), flush=True)
        results.append(row)
        del optimizer
    out = Path(os.environ.get("OUT", "."))
    (out / "modes.json").write_text(json.dumps(results, indent=1))


def e2e(folder: Path, steps: int, bsz: int, mode: str) -> None:
    from kmplz_trainer import TrainConfig, train

    started = time.perf_counter()
    torch.cuda.reset_peak_memory_stats()
    config = TrainConfig(
        base_model=str(folder / "sdxl"), images_zip=folder / "data.zip", output_dir=folder / f"out-{bsz}-{mode}", token_string="KMPLZ",
        max_train_steps=steps, checkpointing_steps=steps // 4, resolution=1024, train_batch_size=bsz, lora_rank=32, seed=0, step_mode=mode,
    )
    timeline = []
    for checkpoint in train(config):
        row = dict(step=checkpoint.step, at_s=round(time.perf_counter() - started, 1), loss=round(checkpoint.loss, 4),
                   ready_after_step_s=round(checkpoint.seconds_after_step, 2), mb=round(checkpoint.path.stat().st_size / 2**20, 1))
        print("CKPT " + json.dumps(row), flush=True)
        timeline.append(row)
    total = time.perf_counter() - started
    summary = dict(steps=steps, batch=bsz, mode=mode, total_s=round(total, 1), peak_gib=round(torch.cuda.max_memory_allocated() / 2**30, 2),
                   reserved_gib=round(torch.cuda.max_memory_reserved() / 2**30, 2), checkpoints=timeline)
    print("E2E " + json.dumps(summary), flush=True)
    (Path(os.environ.get("OUT", ".")) / f"e2e-{bsz}-{mode}.json").write_text(json.dumps(summary, indent=1))


def equivalence(folder: Path, steps: int) -> None:
    """The CUDA-graph step computes what the eager step computes: the same seed through both (and eager
    twice, for the noise floor of bf16 kernels whose backward accumulates in varying order)."""
    import tarfile

    from safetensors.torch import load

    from kmplz_trainer import TrainConfig, train

    weights = {}
    for name, mode in (("eager", "eager"), ("eager-again", "eager"), ("cuda_graph", "cuda_graph")):
        config = TrainConfig(
            base_model=str(folder / "sdxl"), images_zip=folder / "data.zip", output_dir=folder / f"equiv-{name}", token_string="KMPLZ",
            max_train_steps=steps, checkpointing_steps=steps, seed=0, step_mode=mode,
        )
        (checkpoint,) = list(train(config))
        with tarfile.open(checkpoint.path) as tar:
            weights[name] = load(tar.extractfile("pytorch_lora_weights.safetensors").read())
        weights[name + "-loss"] = checkpoint.loss

    def rel(a, b):
        num = sum(float((a[k].double() - b[k].double()).norm() ** 2) for k in a if k.endswith("up.weight"))
        den = sum(float(b[k].double().norm() ** 2) for k in b if k.endswith("up.weight"))
        return (num / den) ** 0.5

    row = dict(steps=steps, eager_vs_eager=rel(weights["eager-again"], weights["eager"]), graph_vs_eager=rel(weights["cuda_graph"], weights["eager"]),
               losses=[weights["eager-loss"], weights["eager-again-loss"], weights["cuda_graph-loss"]])
    print("EQUIV " + json.dumps(row), flush=True)


def example(script: str, args: list[str]) -> None:
    """diffusers' example, run in this process so its peak memory and training time can be read at
    the moment it saves its LoRA (before its final inference, which is left out)."""
    import runpy

    import diffusers

    started = time.perf_counter()
    original = diffusers.StableDiffusionXLPipeline.save_lora_weights.__func__

    def save_and_report(cls, *a, **k):
        peak = torch.cuda.max_memory_allocated() / 2**30
        print("EXAMPLE " + json.dumps(dict(trained_s=round(time.perf_counter() - started, 1), peak_gib=round(peak, 2))), flush=True)
        original(cls, *a, **k)
        os._exit(0)

    diffusers.StableDiffusionXLPipeline.save_lora_weights = classmethod(save_and_report)
    sys.argv = [script, *args]
    runpy.run_path(script, run_name="__main__")


if __name__ == "__main__":
    command, folder = sys.argv[1], Path(sys.argv[2])
    if command == "build":
        build(folder)
    elif command == "modes":
        modes(folder, sys.argv[3].split(","))
    elif command == "e2e":
        e2e(folder, int(sys.argv[3]), int(sys.argv[4]), sys.argv[5] if len(sys.argv) > 5 else "auto")
    elif command == "equiv":
        equivalence(folder, int(sys.argv[3]))
    elif command == "example":
        example(str(folder), sys.argv[3:])

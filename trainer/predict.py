"""kmplz's trainer as a Cog model: one prediction trains one LoRA and yields an archive per checkpoint.

The output is an iterator of Paths, so on Replicate the prediction's `output` list grows by one URL
per checkpoint while it runs and an `output` webhook fires for each; kmplz previews each one. A
canceled prediction stops the run before its next step (train()'s generator is closed).

It is a prediction, not a Cog training: trainings return one output at the end.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import tarfile
import tempfile
import time
import urllib.request
from collections.abc import Iterator
from contextlib import closing
from typing import Optional
from pathlib import Path as LocalPath

from cog import BasePredictor, Input, Path

from kmplz_trainer import TrainConfig, train

# What replicate/cog-sdxl itself trains on: SDXL 1.0 base in diffusers' layout with the fp16-fix VAE
# (cog-sdxl predict.py SDXL_URL). KMPLZ_BASE_MODEL overrides it: a local folder, or a URL of a tar
# of such a folder (http(s) or file).
DEFAULT_BASE_MODEL = "https://weights.replicate.delivery/default/sdxl/sdxl-vae-upcast-fix.tar"
BASE_MODEL_CACHE = LocalPath(os.environ.get("KMPLZ_BASE_MODEL_CACHE", "./sdxl-cache"))


def resolve_base_model(source: str, cache: LocalPath) -> str:
    if "://" not in source:
        if not LocalPath(source, "unet").is_dir():
            raise RuntimeError(f"KMPLZ_BASE_MODEL={source} is not a diffusers SDXL folder (no unet/)")
        return source
    if (cache / "unet").is_dir():
        return str(cache)
    started = time.time()
    partial = cache.with_name(cache.name + ".partial")
    shutil.rmtree(partial, ignore_errors=True)
    if shutil.which("pget") and source.startswith("http"):
        # pget (Replicate's parallel downloader, as cog-sdxl uses) downloads and untars at once.
        subprocess.check_call(["pget", "-x", source, str(partial)], close_fds=False)
    else:
        partial.mkdir(parents=True)
        with urllib.request.urlopen(source) as response, tarfile.open(fileobj=response, mode="r|*") as tar:
            tar.extractall(partial, filter="data")
    # A tar of the folder itself rather than of its contents holds one top folder.
    inner = [p for p in partial.iterdir() if p.is_dir()]
    root = partial if (partial / "unet").is_dir() else inner[0] if len(inner) == 1 else partial
    if not (root / "unet").is_dir():
        raise RuntimeError(f"{source} holds no diffusers SDXL folder (no unet/)")
    shutil.rmtree(cache, ignore_errors=True)
    root.rename(cache)
    shutil.rmtree(partial, ignore_errors=True)
    print(f"base model from {source} in {time.time() - started:.1f}s")
    return str(cache)


# BasePredictor and predict() rather than cog 0.23's BaseRunner and run(): 0.23 still runs them (with a
# deprecation warning), and older cog CLIs a teacher may have installed know nothing else.
class Predictor(BasePredictor):
    def setup(self) -> None:
        self.base_model = resolve_base_model(os.environ.get("KMPLZ_BASE_MODEL", DEFAULT_BASE_MODEL), BASE_MODEL_CACHE)
        self.outputs: LocalPath | None = None

    def predict(
        self,
        input_images: Path = Input(description="A zip of the training images and caption.csv (caption,image_file), as kmplz exports it."),
        token_string: str = Input(description="The trigger word; every caption contains it.", default="TOK"),
        max_train_steps: int = Input(description="Training steps in the one run.", default=1000, ge=1),
        checkpointing_steps: int = Input(description="An archive is yielded every this many steps, and after the last.", default=250, ge=1),
        resolution: int = Input(description="Square side trained at; never above the images' own size.", default=1024),
        train_batch_size: int = Input(description="Images per step.", default=1, ge=1),
        lora_rank: int = Input(description="LoRA rank.", default=32, ge=1),
        learning_rate: float = Input(description="Constant AdamW learning rate.", default=1e-4),
        # Optional[int]: cog 0.23 refuses a plain `int` input whose default is None ("Field required").
        seed: Optional[int] = Input(description="Random seed; empty for a random one.", default=None),
        gradient_checkpointing: bool = Input(description="Less GPU memory, about 40% slower.", default=False),
    ) -> Iterator[Path]:
        # Archives stay on disk until the next prediction: Cog uploads each yielded file after the yield.
        if self.outputs is not None:
            shutil.rmtree(self.outputs, ignore_errors=True)
        self.outputs = LocalPath(tempfile.mkdtemp(prefix="kmplz-checkpoints-"))
        images = input_images.convert() if hasattr(input_images, "convert") else input_images  # a URLPath downloads here
        config = TrainConfig(
            base_model=self.base_model,
            images_zip=LocalPath(images),
            output_dir=self.outputs,
            token_string=token_string,
            max_train_steps=max_train_steps,
            checkpointing_steps=checkpointing_steps,
            resolution=resolution,
            train_batch_size=train_batch_size,
            lora_rank=lora_rank,
            learning_rate=learning_rate,
            seed=seed,
            gradient_checkpointing=gradient_checkpointing,
        )
        # closing(): when Cog cancels (or stops reading), the run is stopped before its next step and
        # its threads are joined here, not whenever the generator happens to be collected.
        with closing(train(config)) as checkpoints:
            for checkpoint in checkpoints:
                yield Path(checkpoint.path)

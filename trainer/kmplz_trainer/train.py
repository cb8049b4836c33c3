"""One SDXL DreamBooth-LoRA run that hands out a cog-sdxl-compatible archive every N steps.

`train()` is a generator: the run goes on in a worker thread while the caller (the Cog predictor)
uploads the archives it has been given, and a third thread writes each archive so the GPU never
waits for the disk. Closing the generator, or setting `cancel`, stops the run before its next step.
"""

from __future__ import annotations

import os
import queue
import random
import sys
import threading
import time
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import asdict, dataclass
from pathlib import Path

import torch
import torch.nn.functional as F
from diffusers.utils import logging as diffusers_logging
from peft import LoraConfig
from transformers.utils import logging as transformers_logging
from peft.utils import get_peft_model_state_dict

from .dataset import read_dataset, training_resolution
from .export import LORA_TARGETS, Snapshot, write_archive
from .prepare import load_unet, prepare
from .step import make_step


@dataclass(frozen=True)
class TrainConfig:
    base_model: str  # a local folder in diffusers' SDXL layout
    images_zip: Path
    output_dir: Path
    token_string: str = "TOK"
    max_train_steps: int = 1000
    checkpointing_steps: int = 250
    resolution: int | None = 1024  # None: the images' own size
    train_batch_size: int = 1
    lora_rank: int = 32
    # 1e-4, constant, AdamW: diffusers' train_dreambooth_lora_sdxl.py README settings for SDXL LoRA.
    learning_rate: float = 1e-4
    seed: int | None = None
    gradient_checkpointing: bool = False
    # "auto": CUDA graphs on a GPU (see step.py for what each mode buys), eager on the CPU.
    step_mode: str = "auto"
    device: str | None = None


@dataclass(frozen=True)
class Checkpoint:
    step: int
    loss: float  # mean training loss over the steps since the previous checkpoint
    path: Path
    seconds_after_step: float  # from the end of its step to the archive being complete


def train(
    config: TrainConfig, cancel: threading.Event | None = None, on_step: Callable[[int, int], None] | None = None
) -> Iterator[Checkpoint]:
    cancel = cancel or threading.Event()
    handed: queue.Queue = queue.Queue()
    worker = threading.Thread(target=_run, args=(config, cancel, on_step, handed), name="kmplz-train", daemon=True)
    worker.start()
    try:
        while True:
            item = handed.get()
            if item is None:
                return
            if isinstance(item, BaseException):
                raise item
            if cancel.is_set():
                return
            yield item
    finally:
        # A closed generator (the consumer stopped, or Cog canceled the prediction) stops the run.
        cancel.set()
        worker.join()


def _run(config: TrainConfig, cancel: threading.Event, on_step, handed: queue.Queue) -> None:
    writer = ThreadPoolExecutor(max_workers=1, thread_name_prefix="kmplz-archive")
    try:
        _train(config, cancel, on_step, handed, writer)
        writer.shutdown(wait=True)
    except BaseException as error:  # handed to the consumer's thread, which re-raises it
        writer.shutdown(wait=True, cancel_futures=True)
        handed.put(error)
    finally:
        handed.put(None)


def _train(config: TrainConfig, cancel: threading.Event, on_step, handed: queue.Queue, writer: ThreadPoolExecutor) -> None:
    started = time.perf_counter()
    # Only the training bar in the logs: kmplz reads the last `step/total [` there, and the loaders'
    # own bars (`Loading weights: 84/84 [`) would read as progress when their count met max_train_steps.
    diffusers_logging.disable_progress_bar()
    transformers_logging.disable_progress_bar()
    device = torch.device(config.device or ("cuda" if torch.cuda.is_available() else "cpu"))
    # bf16 on the GPU (frozen UNet weights and autocast; the LoRA weights and AdamW state stay fp32),
    # fp32 on the CPU, where bf16 matmuls are slow and the tests want exact repeatability.
    dtype = torch.bfloat16 if device.type == "cuda" else torch.float32
    seed = config.seed if config.seed is not None else int.from_bytes(os.urandom(4), "big") % 2**31
    log(f"Using seed: {seed}")
    random.seed(seed)
    torch.manual_seed(seed)
    if device.type == "cuda":
        torch.backends.cuda.matmul.allow_tf32 = True
        torch.backends.cudnn.allow_tf32 = True

    examples = read_dataset(config.images_zip, config.token_string)
    resolution = training_resolution(examples, config.resolution)
    log(f"{len(examples)} images, trained at {resolution}x{resolution}")
    data = prepare(config.base_model, examples, resolution, config.token_string, device, dtype)
    log(f"latents and prompt embeddings ready after {time.perf_counter() - started:.1f}s")

    unet = load_unet(config.base_model, dtype, device)
    unet.requires_grad_(False)
    # lora_alpha = rank (scale 1) and gaussian init, as diffusers' train_dreambooth_lora_sdxl.py.
    lora = LoraConfig(r=config.lora_rank, lora_alpha=config.lora_rank, init_lora_weights="gaussian", target_modules=LORA_TARGETS)
    unet.add_adapter(lora)
    for param in unet.parameters():
        if param.requires_grad:
            param.data = param.data.float()
    if config.gradient_checkpointing:
        unet.enable_gradient_checkpointing()
    lora_tensors = get_peft_model_state_dict(unet)  # views of the live parameters
    params = [p for p in unet.parameters() if p.requires_grad]
    optimizer = torch.optim.AdamW(
        params, lr=config.learning_rate, betas=(0.9, 0.999), weight_decay=1e-4, eps=1e-8, fused=device.type == "cuda"
    )

    bsz, total = config.train_batch_size, config.max_train_steps
    order = _sample_order(len(examples), total * bsz, seed).view(total, bsz).to(device)
    generator = torch.Generator(device=device).manual_seed(seed)
    step_fn, mode = make_step(unet, data, optimizer, resolution, bsz, generator, config, device, dtype)
    log(f"step mode: {mode}; ready to train after {time.perf_counter() - started:.1f}s")

    settings = {**asdict(config), "images_zip": str(config.images_zip), "output_dir": str(config.output_dir)}
    settings.update(seed=seed, resolution=resolution, lora_alpha=config.lora_rank, step_mode=mode, images=len(examples))
    lora_metadata = lora.to_dict()
    config.output_dir.mkdir(parents=True, exist_ok=True)
    losses = torch.zeros(total, device=device)
    last_checkpoint = 0
    loop_started = time.perf_counter()
    for step in range(1, total + 1):
        if cancel.is_set():
            log(f"canceled before step {step}")
            return
        losses[step - 1] = step_fn(order[step - 1])
        _progress(step, total, loop_started)
        if on_step:
            on_step(step, total)
        if step % config.checkpointing_steps == 0 or step == total:
            loss = losses[last_checkpoint:step].mean().item()  # the one sync per checkpoint
            last_checkpoint = step
            snapshot = Snapshot(step, loss, {k: v.detach().to("cpu", copy=True) for k, v in lora_tensors.items()}, time.perf_counter())
            future = writer.submit(write_archive, snapshot, config.output_dir, data.trigger, lora.lora_alpha / lora.r, settings, lora_metadata)
            future.add_done_callback(lambda f, s=snapshot: _hand(f, s, handed))
    peak = f", peak GPU memory {torch.cuda.max_memory_allocated(device) / 2**30:.1f} GiB" if device.type == "cuda" else ""
    log(f"trained {total} steps in {time.perf_counter() - loop_started:.1f}s ({time.perf_counter() - started:.1f}s with loading){peak}")


def _hand(future, snapshot: Snapshot, handed: queue.Queue) -> None:
    if future.cancelled():
        return
    if future.exception() is not None:
        handed.put(future.exception())
        return
    ready = time.perf_counter() - snapshot.taken_at
    log(f"checkpoint {snapshot.step}: loss {snapshot.loss:.4f}, archive ready {ready:.2f}s after its step")
    handed.put(Checkpoint(snapshot.step, snapshot.loss, future.result(), ready))


def _sample_order(count: int, needed: int, seed: int) -> torch.Tensor:
    """Epochs of shuffled indices, made once on the CPU so no step waits on a host-to-device copy."""
    generator = torch.Generator().manual_seed(seed)
    epochs = -(-needed // count)
    return torch.cat([torch.randperm(count, generator=generator) for _ in range(epochs)])[:needed]


def _progress(step: int, total: int, since: float) -> None:
    # tqdm's shape (`steps: 250/1000 [00:10<00:30, 2.50it/s]`): kmplz reads `(\d+)/(\d+) \[`.
    elapsed = time.perf_counter() - since
    rate = step / elapsed if elapsed > 0 else 0.0
    remaining = (total - step) / rate if rate > 0 else 0.0
    print(f"steps: {step}/{total} [{_clock(elapsed)}<{_clock(remaining)}, {rate:.2f}it/s]", flush=True)


def _clock(seconds: float) -> str:
    minutes, secs = divmod(int(seconds), 60)
    return f"{minutes:02d}:{secs:02d}"


def log(line: str) -> None:
    print(line, file=sys.stdout, flush=True)

"""One training step, and what makes it fast on a GPU.

At 1024² and batch 1 the eager SDXL UNet step is bound by the host launching thousands of small
kernels (peft's LoRA wrappers add several per projection), not by the GPU's arithmetic. So the
UNet's forward and backward are captured once as CUDA graphs ("cuda_graph":
torch.cuda.make_graphed_callables), and each step replays them: on an H100 that took batch 1 from
1.98 to 9.8 steps/s and batch 4 from 1.84 to 3.8 (BENCH.md), for 3 s of capture and no compiler
run. Sampling noise and timesteps, the loss and the fused AdamW step stay outside the graph: a few
dozen launches against the UNet's thousands.

With gradient checkpointing the step runs eager: its recomputation saves and restores the RNG state
inside the backward, which graph capture restricts (not tried; the memory-saving setting is for
small cards, where speed is secondary).
"compile" (torch.compile) is kept only to compare: compiling SDXL's forward and backward had not
finished after 4 minutes on the H100, most of the 5-minute budget for a whole run.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from .prepare import Prepared


class _Denoise(nn.Module):
    """The UNet's noise prediction with plain tensor arguments, as a graph capture needs."""

    def __init__(self, unet: nn.Module, autocast_dtype: torch.dtype | None, device_type: str):
        super().__init__()
        self.unet = unet
        self.autocast_dtype = autocast_dtype
        self.device_type = device_type

    def forward(self, noisy, timesteps, prompt_embeds, pooled, time_ids):
        enabled = self.autocast_dtype is not None
        # cache_enabled=False: a graph capture must not keep autocast's cast cache across replays.
        with torch.autocast(self.device_type, dtype=self.autocast_dtype or torch.float32, enabled=enabled, cache_enabled=False):
            added = {"text_embeds": pooled, "time_ids": time_ids}
            return self.unet(noisy, timesteps, prompt_embeds, added_cond_kwargs=added, return_dict=False)[0]


def make_step(unet, data: Prepared, optimizer, resolution: int, bsz: int, generator, config, device, dtype):
    mode = config.step_mode
    if mode == "auto":
        mode = "cuda_graph" if device.type == "cuda" and not config.gradient_checkpointing else "eager"
    if mode == "cuda_graph" and (device.type != "cuda" or config.gradient_checkpointing):
        mode = "eager"
    if mode not in ("eager", "compile", "cuda_graph"):
        raise ValueError(f"unknown step_mode {mode!r}")

    denoise: nn.Module = _Denoise(unet, dtype if device.type == "cuda" else None, device.type)
    time_ids = torch.tensor([[resolution, resolution, 0, 0, resolution, resolution]], device=device, dtype=dtype).repeat(bsz, 1)
    sqrt_alpha = data.alphas_cumprod.sqrt()
    sqrt_sigma = (1.0 - data.alphas_cumprod).sqrt()
    timesteps = data.alphas_cumprod.shape[0]
    velocity = data.prediction_type == "v_prediction"

    def inputs(index: torch.Tensor, rng: torch.Generator):
        mean, std = data.latent_mean[index], data.latent_std[index]
        latents = mean.float() + std.float() * torch.randn(mean.shape, generator=rng, device=device)
        noise = torch.randn(latents.shape, generator=rng, device=device)
        t = torch.randint(0, timesteps, (bsz,), generator=rng, device=device)
        a, s = sqrt_alpha[t].view(-1, 1, 1, 1), sqrt_sigma[t].view(-1, 1, 1, 1)
        noisy = (a * latents + s * noise).to(dtype)
        target = a * noise - s * latents if velocity else noise
        return (noisy, t, data.prompt_embeds[index], data.pooled_embeds[index], time_ids), target

    if mode == "compile":
        denoise = torch.compile(denoise)
    elif mode == "cuda_graph":
        # The capture's warm-up runs forward and backward on sample inputs from a throwaway generator
        # (the run's own random stream stays as eager would draw it); its gradients are discarded.
        sample, _ = inputs(torch.zeros(bsz, dtype=torch.long, device=device), torch.Generator(device=device).manual_seed(0))
        denoise = torch.cuda.make_graphed_callables(denoise, sample, allow_unused_input=True)
        optimizer.zero_grad(set_to_none=True)

    def step(index: torch.Tensor) -> torch.Tensor:
        args, target = inputs(index, generator)
        prediction = denoise(*args)
        loss = F.mse_loss(prediction.float(), target)
        loss.backward()
        optimizer.step()
        optimizer.zero_grad(set_to_none=True)
        return loss.detach()

    return step, mode

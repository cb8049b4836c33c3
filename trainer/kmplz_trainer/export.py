"""Checkpoint archives that the official cog-sdxl predictor accepts as `replicate_weights`.

Followed source: replicate/cog-sdxl at c79cb3c9c3c2968ee53ada00c7fb02aa3b9fc58c.
- predict.py `load_trained_weights`: no `unet.safetensors` means LoRA; it reads `lora.safetensors`,
  takes each processor's rank from `<processor>.<proj>_lora.up.weight`.shape[1], builds a
  LoRAAttnProcessor2_0 for EVERY entry of `unet.attn_processors` (a processor missing from the file
  is a KeyError) and loads the tensors with `unet.load_state_dict(strict=False)` — so a wrong key
  name is silently ignored, which is why the tests derive the names from the UNet the same way.
  It then loads `embeddings.pti` with TokenEmbeddingsHandler and replaces each key of
  `special_params.json` in the prompt by its value.
- dataset_and_utils.py `TokenEmbeddingsHandler._load_embeddings`: tensors `text_encoders_0` and
  `text_encoders_1`, shape (n, hidden), become the special tokens `<s0>`..`<s{n-1}>`.
- The LoRAAttnProcessor2_0 it builds (diffusers <= 0.25) computes `W x + scale * up(down(x))`
  with no alpha, so peft's `lora_B @ lora_A * (alpha / r)` is stored with the factor folded into up.

How the trigger maps (the honest choice): the LoRA is trained with the trigger as plain text — the
text encoders stay frozen, so the trigger's own tokens condition the UNet. cog-sdxl's loader can
only ADD tokens, so the archive adds `<s0>..<s{k-1}>` whose embeddings are exactly the base
encoders' embeddings of the trigger's k tokens, and special_params maps the trigger to them. A
prompt with the trigger therefore encodes to the very same embeddings through cog-sdxl as it did
in training (the tests check this), and a prompt without it is untouched.
"""

from __future__ import annotations

import json
import shutil
import tarfile
from dataclasses import dataclass
from pathlib import Path

import torch
from safetensors.torch import save_file

LORA_TARGETS = ["to_q", "to_k", "to_v", "to_out.0"]
ARCHIVE_FILES = ("lora.safetensors", "embeddings.pti", "special_params.json", "pytorch_lora_weights.safetensors", "training_state.json")
_COG_NAMES = {"to_q": "to_q_lora", "to_k": "to_k_lora", "to_v": "to_v_lora", "to_out.0": "to_out_lora"}


def cog_sdxl_lora(peft_state: dict[str, torch.Tensor], scaling: float) -> dict[str, torch.Tensor]:
    """peft keys (`<attn>.to_q.lora_A.weight`) to cog-sdxl's (`<attn>.processor.to_q_lora.down.weight`)."""
    out: dict[str, torch.Tensor] = {}
    for key, tensor in peft_state.items():
        for target, cog_name in _COG_NAMES.items():
            for peft_part, cog_part in (("lora_A", "down"), ("lora_B", "up")):
                suffix = f".{target}.{peft_part}.weight"
                if key.endswith(suffix):
                    attention = key[: -len(suffix)]
                    value = tensor * scaling if cog_part == "up" else tensor
                    # fp16 because cog-sdxl's loader calls .half() on every tensor anyway.
                    out[f"{attention}.processor.{cog_name}.{cog_part}.weight"] = value.to(torch.float16).contiguous()
    if len(out) != len(peft_state):
        raise ValueError(f"{len(peft_state) - len(out)} LoRA tensors have no cog-sdxl name")
    return out


@dataclass(frozen=True)
class TriggerEmbeddings:
    """What the archive tells cog-sdxl about the trigger (see the module docstring)."""

    special_params: dict[str, str]
    embeddings: dict[str, torch.Tensor]


def trigger_embeddings(token_string: str, tokenizers, text_encoders) -> TriggerEmbeddings:
    rows: dict[str, torch.Tensor] = {}
    count = None
    for index, (tokenizer, encoder) in enumerate(zip(tokenizers, text_encoders)):
        ids = tokenizer(token_string, add_special_tokens=False).input_ids
        if count is not None and len(ids) != count:
            raise ValueError(f"the two tokenizers split {token_string!r} differently; cog-sdxl needs one token list")
        count = len(ids)
        table = encoder.get_input_embeddings().weight
        rows[f"text_encoders_{index}"] = table[ids].detach().to("cpu", torch.float32).contiguous()
    placeholders = "".join(f"<s{i}>" for i in range(count or 0))
    return TriggerEmbeddings(special_params={token_string: placeholders}, embeddings=rows)


@dataclass(frozen=True)
class Snapshot:
    """LoRA weights copied off the device at `step`, ready to be written by another thread."""

    step: int
    loss: float
    peft_state: dict[str, torch.Tensor]
    taken_at: float


def write_archive(snapshot: Snapshot, directory: Path, trigger: TriggerEmbeddings, scaling: float, settings: dict, lora_config: dict) -> Path:
    """One .tar per checkpoint, written to a temporary name and renamed, so a reader never sees half of one."""
    from diffusers import StableDiffusionXLPipeline
    from diffusers.utils import convert_state_dict_to_diffusers

    staging = directory / f".checkpoint-{snapshot.step:06d}"
    staging.mkdir(parents=True, exist_ok=True)
    # diffusers' own writer, as its train_dreambooth_lora_sdxl.py example saves: the "unet." prefix and
    # the LoraConfig as metadata, so load_lora_weights rebuilds the same rank and alpha.
    StableDiffusionXLPipeline.save_lora_weights(
        save_directory=staging,
        unet_lora_layers=convert_state_dict_to_diffusers(snapshot.peft_state),
        unet_lora_adapter_metadata=dict(lora_config),
    )
    save_file(cog_sdxl_lora(snapshot.peft_state, scaling), staging / "lora.safetensors")
    save_file(trigger.embeddings, staging / "embeddings.pti")
    (staging / "special_params.json").write_text(json.dumps(trigger.special_params))
    (staging / "training_state.json").write_text(json.dumps({"step": snapshot.step, "loss": snapshot.loss, **settings}, indent=2))
    final = directory / f"checkpoint-{snapshot.step:06d}.tar"
    partial = final.with_suffix(".tar.partial")
    with tarfile.open(partial, "w") as tar:
        for name in ARCHIVE_FILES:
            tar.add(staging / name, arcname=name)
    partial.rename(final)
    shutil.rmtree(staging)
    return final

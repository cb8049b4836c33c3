"""The real trainer on a tiny random SDXL (CPU): archives in order while it runs, cog-sdxl's format,
diffusers' format, cancellation."""

from __future__ import annotations

import json
import math
import re
import tarfile
import threading
from pathlib import Path

import pytest
import torch
from diffusers import StableDiffusionXLPipeline, UNet2DConditionModel
from safetensors.torch import load_file
from tiny_sdxl import dataset_zip
from transformers import CLIPTextModel, CLIPTextModelWithProjection, CLIPTokenizer

from kmplz_trainer import DatasetError, TrainConfig, train

TRIGGER = "KMPLZ"  # splits into several tokens in the tiny vocabulary, so the mapping covers k > 1
RANK = 4


def cog_sdxl_expected_shapes(unet: UNet2DConditionModel, rank: int) -> dict[str, tuple[int, int]]:
    """The tensors cog-sdxl's loader builds for this UNet, derived as it derives them.

    replicate/cog-sdxl c79cb3c predict.py `load_trained_weights`: one LoRAAttnProcessor2_0 for every
    name in `unet.attn_processors`, hidden size from the block, cross_attention_dim for attn2 only.
    LoRAAttnProcessor2_0 (huggingface/diffusers 8eb17315c8^, attention_processor.py and lora.py):
    to_q/to_out LoRALinearLayer(hidden, hidden), to_k/to_v LoRALinearLayer(cross or hidden, hidden);
    LoRALinearLayer's down is Linear(in, rank) and up is Linear(rank, out).
    """
    shapes = {}
    for name in unet.attn_processors:
        cross = None if name.endswith("attn1.processor") else unet.config.cross_attention_dim
        if name.startswith("mid_block"):
            hidden = unet.config.block_out_channels[-1]
        elif name.startswith("up_blocks"):
            hidden = list(reversed(unet.config.block_out_channels))[int(name[len("up_blocks.")])]
        else:
            hidden = unet.config.block_out_channels[int(name[len("down_blocks.")])]
        for proj, in_features in (("to_q", hidden), ("to_k", cross or hidden), ("to_v", cross or hidden), ("to_out", hidden)):
            shapes[f"{name}.{proj}_lora.down.weight"] = (rank, in_features)
            shapes[f"{name}.{proj}_lora.up.weight"] = (hidden, rank)
    return shapes


def unpack(archive: Path, into: Path) -> Path:
    into.mkdir(parents=True, exist_ok=True)
    with tarfile.open(archive) as tar:
        tar.extractall(into, filter="data")
    return into


@pytest.fixture(scope="module")
def run(tiny_sdxl: Path, tmp_path_factory):
    """Six steps, a checkpoint every two. The step callback holds step 3 until the consumer has the
    step-2 archive: if archives were only handed out at the end, this would time out instead."""
    folder = tmp_path_factory.mktemp("run")
    first_handed = threading.Event()
    waited = {}
    steps: list[int] = []

    def on_step(step: int, total: int) -> None:
        steps.append(step)
        if step == 3:
            waited["in_time"] = first_handed.wait(timeout=120)

    config = TrainConfig(
        base_model=str(tiny_sdxl), images_zip=dataset_zip(folder / "data.zip", TRIGGER), output_dir=folder / "out",
        token_string=TRIGGER, max_train_steps=6, checkpointing_steps=2, resolution=1024, train_batch_size=2,
        lora_rank=RANK, learning_rate=5e-2, seed=7,
    )
    handed = []
    for checkpoint in train(config, on_step=on_step):
        handed.append((checkpoint, len(steps), checkpoint.path.exists()))
        first_handed.set()
    return {"handed": handed, "waited": waited, "folder": folder, "config": config}


def test_archives_come_out_in_order_while_the_run_goes_on(run):
    assert [c.step for c, _, _ in run["handed"]] == [2, 4, 6]
    assert run["waited"]["in_time"], "the step-2 archive was not handed out while step 3 was running"
    checkpoint, steps_done_then, existed = run["handed"][0]
    assert steps_done_then <= 3 and existed  # handed out before step 4 could start
    assert all(math.isfinite(c.loss) for c, _, _ in run["handed"])
    for checkpoint, _, _ in run["handed"]:
        state = json.loads(tarfile.open(checkpoint.path).extractfile("training_state.json").read())
        assert state["step"] == checkpoint.step and state["loss"] == pytest.approx(checkpoint.loss)
        assert state["resolution"] == 64  # the images' own side, below the requested 1024


def test_each_archive_is_what_cog_sdxl_loads(run, tiny_sdxl: Path, tmp_path: Path):
    unet = UNet2DConditionModel.from_pretrained(tiny_sdxl, subfolder="unet")
    expected = cog_sdxl_expected_shapes(unet, RANK)
    for checkpoint, _, _ in run["handed"]:
        files = unpack(checkpoint.path, tmp_path / str(checkpoint.step))
        lora = load_file(files / "lora.safetensors")
        assert {k: tuple(v.shape) for k, v in lora.items()} == expected
        # cog-sdxl reads each processor's rank from up.weight.shape[1].
        assert {v.shape[1] for k, v in lora.items() if k.endswith("up.weight")} == {RANK}
        # The same update as the diffusers file: cog's up @ down equals diffusers' lora.up @ lora.down.
        diffusers_lora = load_file(files / "pytorch_lora_weights.safetensors")
        for key in [k for k in expected if k.endswith("to_out_lora.up.weight")][:3]:
            attention = key[: -len(".processor.to_out_lora.up.weight")]
            cog_delta = lora[key].float() @ lora[key.replace("up.weight", "down.weight")].float()
            ref = diffusers_lora[f"unet.{attention}.to_out.0.lora.up.weight"] @ diffusers_lora[f"unet.{attention}.to_out.0.lora.down.weight"]
            torch.testing.assert_close(cog_delta, ref, rtol=2e-2, atol=1e-4)


def test_cog_sdxl_encodes_the_mapped_prompt_as_training_encoded_the_trigger(run, tiny_sdxl: Path, tmp_path: Path):
    files = unpack(run["handed"][-1][0].path, tmp_path)
    token_map = json.loads((files / "special_params.json").read_text())
    assert list(token_map) == [TRIGGER]
    prompt = f"{TRIGGER}, a drawing of a dog"
    plain = encode(tiny_sdxl, [prompt])
    # replicate/cog-sdxl c79cb3c: TokenEmbeddingsHandler.load_embeddings / _load_embeddings (dataset_and_utils.py)
    # adds <s0>..<s{n-1}> as special tokens with the stored rows; predict() then replaces each key of
    # special_params.json in the prompt.
    embeddings = load_file(files / "embeddings.pti")
    mapped = prompt
    for key, value in token_map.items():
        mapped = mapped.replace(key, value)
    assert mapped != prompt
    torch.testing.assert_close(encode(tiny_sdxl, [mapped], embeddings), plain, rtol=0, atol=0)


def encode(base: Path, prompts: list[str], cog_embeddings: dict | None = None) -> torch.Tensor:
    out = []
    for index, (sub, cls) in enumerate((("text_encoder", CLIPTextModel), ("text_encoder_2", CLIPTextModelWithProjection))):
        tokenizer = CLIPTokenizer.from_pretrained(base, subfolder=sub.replace("text_encoder", "tokenizer"))
        encoder = cls.from_pretrained(base, subfolder=sub)
        if cog_embeddings is not None:
            rows = cog_embeddings[f"text_encoders_{index}"]
            tokens = [f"<s{i}>" for i in range(rows.shape[0])]
            tokenizer.add_special_tokens({"additional_special_tokens": tokens})
            encoder.resize_token_embeddings(len(tokenizer))
            # cog-sdxl writes text_model.embeddings.token_embedding (transformers 4.31); the same table here.
            encoder.get_input_embeddings().weight.data[tokenizer.convert_tokens_to_ids(tokens)] = rows
        ids = tokenizer(prompts, padding="max_length", max_length=77, truncation=True, return_tensors="pt").input_ids
        with torch.no_grad():
            out.append(encoder(ids, output_hidden_states=True).hidden_states[-2])
    return torch.cat(out, dim=-1)


def test_diffusers_weights_load_and_change_the_output(run, tiny_sdxl: Path, tmp_path: Path):
    pipe = StableDiffusionXLPipeline.from_pretrained(tiny_sdxl)

    def render():
        generator = torch.Generator().manual_seed(0)
        return pipe(f"{TRIGGER}, a drawing", num_inference_steps=2, height=64, width=64, generator=generator, output_type="np").images

    before = render()
    files = unpack(run["handed"][-1][0].path, tmp_path)
    pipe.load_lora_weights(files, weight_name="pytorch_lora_weights.safetensors")
    # Every projection of every attention got its LoRA back, at the trained rank.
    loaded = [m for m in pipe.unet.modules() if len(getattr(m, "lora_A", {})) > 0]
    assert len(loaded) == 4 * len(pipe.unet.attn_processors)
    assert {next(iter(m.lora_A.values())).weight.shape[0] for m in loaded} == {RANK}
    after = render()
    assert abs(after - before).max() > 1e-3


def test_weights_differ_between_checkpoints(run, tmp_path: Path):
    weights = [load_file(unpack(c.path, tmp_path / str(c.step)) / "pytorch_lora_weights.safetensors") for c, _, _ in run["handed"]]
    for earlier, later in zip(weights, weights[1:]):
        assert earlier.keys() == later.keys()
        assert any(not torch.equal(earlier[k], later[k]) for k in earlier)


def test_a_canceled_run_stops_at_the_next_step(tiny_sdxl: Path, tmp_path: Path, capfd):
    cancel = threading.Event()
    steps: list[int] = []
    seen_at_cancel = {}

    def on_step(step: int, total: int) -> None:
        steps.append(step)

    config = TrainConfig(
        base_model=str(tiny_sdxl), images_zip=dataset_zip(tmp_path / "data.zip", TRIGGER), output_dir=tmp_path / "out",
        token_string=TRIGGER, max_train_steps=200, checkpointing_steps=2, lora_rank=RANK, seed=1,
    )
    handed = []
    for checkpoint in train(config, cancel=cancel, on_step=on_step):
        handed.append(checkpoint.step)
        seen_at_cancel["steps"] = len(steps)
        cancel.set()
    assert handed == [2]
    assert len(steps) <= seen_at_cancel["steps"] + 1, f"ran on to step {len(steps)} after the cancel at {seen_at_cancel['steps']}"
    assert not (tmp_path / "out" / "checkpoint-000200.tar").exists()
    # The logs kmplz parses (src/training/progress.ts: `(\d+)/(\d+) \[`) hold only the training's bar.
    logs = capfd.readouterr()
    counters = re.findall(r"(\d+)/(\d+) \[", logs.out + logs.err)
    assert counters and {total for _, total in counters} == {"200"}
    assert [int(step) for step, _ in counters] == steps


def test_an_archive_without_the_trigger_in_a_caption_is_refused(tiny_sdxl: Path, tmp_path: Path):
    config = TrainConfig(base_model=str(tiny_sdxl), images_zip=dataset_zip(tmp_path / "data.zip", "OTHER"), output_dir=tmp_path / "out", token_string=TRIGGER)
    with pytest.raises(DatasetError, match="does not contain the trigger word"):
        list(train(config))


def test_one_seed_gives_one_result(tiny_sdxl: Path, tmp_path: Path):
    images = dataset_zip(tmp_path / "data.zip", TRIGGER)

    def weights(seed: int, name: str):
        config = TrainConfig(
            base_model=str(tiny_sdxl), images_zip=images, output_dir=tmp_path / name, token_string=TRIGGER,
            max_train_steps=2, checkpointing_steps=2, lora_rank=RANK, learning_rate=5e-2, seed=seed,
        )
        (checkpoint,) = list(train(config))
        return load_file(unpack(checkpoint.path, tmp_path / f"{name}-files") / "pytorch_lora_weights.safetensors")

    first, again, other = weights(11, "a"), weights(11, "b"), weights(12, "c")
    assert all(torch.equal(first[k], again[k]) for k in first)
    assert any(not torch.equal(first[k], other[k]) for k in first)


@pytest.mark.parametrize("token_string", ["", " KMPLZ"])
def test_a_trigger_that_is_no_word_is_refused(tiny_sdxl: Path, tmp_path: Path, token_string: str):
    config = TrainConfig(base_model=str(tiny_sdxl), images_zip=dataset_zip(tmp_path / "data.zip", TRIGGER), output_dir=tmp_path / "out", token_string=token_string)
    with pytest.raises(DatasetError, match="token_string"):
        list(train(config))

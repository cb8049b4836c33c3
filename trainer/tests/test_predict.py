"""The Cog model, driven through the cog package the way coglet drives it: the predictor loaded from
cog.yaml's `predict` reference, its schema read by cog's inspector, inputs normalised by
`check_input` (defaults applied, constraints checked), then setup() and predict()."""

from __future__ import annotations

import re
import tarfile
import threading
from pathlib import Path

import pytest
import yaml
from cog._adt import OutputKind, PrimitiveType
from cog._inspector import check_input, create_predictor
from cog.predictor import load_predictor_from_ref
from tiny_sdxl import dataset_zip

TRAINER = Path(__file__).resolve().parent.parent

# The inputs kmplz's TypeScript side sends (src/services/replicate): names, defaults and bounds.
EXPECTED_DEFAULTS = {
    "token_string": "TOK",
    "max_train_steps": 1000,
    "checkpointing_steps": 250,
    "resolution": 1024,
    "train_batch_size": 1,
    "lora_rank": 32,
    "learning_rate": 1e-4,
    "seed": None,
    "gradient_checkpointing": False,
}


def load(monkeypatch, base_model: str, cache: Path):
    monkeypatch.chdir(TRAINER)
    monkeypatch.setenv("KMPLZ_BASE_MODEL", base_model)
    monkeypatch.setenv("KMPLZ_BASE_MODEL_CACHE", str(cache))
    ref = yaml.safe_load((TRAINER / "cog.yaml").read_text())["predict"]
    predictor = load_predictor_from_ref(ref)
    info = create_predictor(Path(ref.split(":")[0]).stem, ref.split(":")[1])
    return predictor, info


def test_the_schema_is_what_kmplz_sends(monkeypatch, tiny_sdxl: Path, tmp_path: Path):
    _, info = load(monkeypatch, str(tiny_sdxl), tmp_path / "cache")
    assert list(info.inputs) == ["input_images", *EXPECTED_DEFAULTS]
    assert info.inputs["input_images"].type.primitive is PrimitiveType.PATH
    defaults = check_input(info.inputs, {"input_images": "x.zip"})
    assert {k: v for k, v in defaults.items() if k != "input_images"} == EXPECTED_DEFAULTS
    # An iterator of files: on Replicate the output list grows by one URL per checkpoint.
    # The version's openapi_schema Output that kmplz's schema check recognises.
    assert info.output.kind is OutputKind.ITERATOR and info.output.type is PrimitiveType.PATH
    assert info.output.json_type() == {"title": "Output", "type": "array", "items": {"type": "string", "format": "uri"}, "x-cog-array-type": "iterator"}
    with pytest.raises(ValueError, match="max_train_steps"):
        check_input(info.inputs, {"input_images": "x.zip", "max_train_steps": 0})
    with pytest.raises(ValueError, match="checkpointing_steps"):
        check_input(info.inputs, {"input_images": "x.zip", "checkpointing_steps": 0})


def test_setup_and_predict_yield_one_archive_per_checkpoint_in_order(monkeypatch, tiny_sdxl: Path, tmp_path: Path):
    # The base model as a URL of a tar, as on Replicate (file:// here, so nothing is downloaded).
    base_tar = tmp_path / "sdxl.tar"
    with tarfile.open(base_tar, "w") as tar:
        tar.add(tiny_sdxl, arcname="sdxl")
    predictor, info = load(monkeypatch, base_tar.as_uri(), tmp_path / "cache")
    predictor.setup()
    assert (tmp_path / "cache" / "unet").is_dir()

    images = dataset_zip(tmp_path / "data.zip", "TOK")
    kwargs = check_input(info.inputs, {"input_images": str(images), "max_train_steps": 5, "checkpointing_steps": 2, "lora_rank": 4, "seed": 3})
    outputs = predictor.predict(**kwargs)
    paths = []
    for path in outputs:
        assert Path(path).is_file()  # complete when yielded: Cog uploads it right away
        paths.append(Path(path))
    assert [p.name for p in paths] == ["checkpoint-000002.tar", "checkpoint-000004.tar", "checkpoint-000005.tar"]
    for path in paths:
        with tarfile.open(path) as tar:
            assert set(tar.getnames()) == {
                "lora.safetensors", "embeddings.pti", "special_params.json", "pytorch_lora_weights.safetensors", "training_state.json",
            }
            assert tar.extractfile("special_params.json").read() == b'{"TOK": "<s0>"}'  # "tok" is one token here


def test_closing_the_prediction_stops_the_run(monkeypatch, tiny_sdxl: Path, tmp_path: Path, capfd):
    """What a canceled prediction does to the predict generator: it is closed after an output."""
    predictor, info = load(monkeypatch, str(tiny_sdxl), tmp_path / "cache")
    predictor.setup()
    kwargs = check_input(info.inputs, {"input_images": str(dataset_zip(tmp_path / "data.zip", "TOK")), "max_train_steps": 200, "checkpointing_steps": 2, "lora_rank": 4})
    outputs = predictor.predict(**kwargs)
    first = next(outputs)
    outputs.close()
    assert Path(first).name == "checkpoint-000002.tar"
    assert not any(t.name == "kmplz-train" for t in threading.enumerate()), "the training thread outlived the prediction"
    steps = [int(m) for m in re.findall(r"steps: (\d+)/200 \[", capfd.readouterr().out)]
    assert 2 <= max(steps) < 20


def test_a_bad_archive_fails_the_prediction_with_its_reason(monkeypatch, tiny_sdxl: Path, tmp_path: Path):
    predictor, info = load(monkeypatch, str(tiny_sdxl), tmp_path / "cache")
    predictor.setup()
    bad = tmp_path / "bad.zip"
    bad.write_bytes(b"not a zip")
    kwargs = check_input(info.inputs, {"input_images": str(bad)})
    with pytest.raises(ValueError, match="not a zip archive"):
        list(predictor.predict(**kwargs))

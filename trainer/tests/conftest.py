from __future__ import annotations

import os
import sys
from pathlib import Path

import pytest

TRAINER = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(TRAINER), str(TRAINER / "tests")]

# One thread: the tiny model's ops take microseconds, and OpenMP workers spinning for a core on a
# shared 2-core machine made each of them take milliseconds (30x slower steps, measured).
os.environ.setdefault("OMP_NUM_THREADS", "1")

import torch  # noqa: E402
from tiny_sdxl import build_tiny_sdxl  # noqa: E402

torch.set_num_threads(1)


@pytest.fixture(scope="session")
def tiny_sdxl(tmp_path_factory) -> Path:
    return build_tiny_sdxl(tmp_path_factory.mktemp("tiny-sdxl"))

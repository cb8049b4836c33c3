"""kmplz trainer: SDXL DreamBooth LoRA, one run, a cog-sdxl-compatible archive every N steps."""

from .dataset import DatasetError
from .train import Checkpoint, TrainConfig, train

__all__ = ["Checkpoint", "DatasetError", "TrainConfig", "train"]

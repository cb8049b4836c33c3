"""The archive kmplz exports: the training squares plus `caption.csv` (`caption,image_file`).

kmplz writes it in src/dataset/intake/export.ts (CRLF rows, RFC 4180 quoting, images at the root);
a zip a teacher made by hand may nest everything one folder down (macOS does), so caption.csv is
looked up at the shallowest depth and image paths are read relative to it.
"""

from __future__ import annotations

import csv
import io
import re
import zipfile
from dataclasses import dataclass
from pathlib import Path

from PIL import Image, ImageOps


class DatasetError(ValueError):
    """The archive cannot be trained on; the message says what to fix."""


@dataclass(frozen=True)
class Example:
    file: str
    caption: str
    image: Image.Image


def read_dataset(zip_path: str | Path, token_string: str) -> list[Example]:
    if not token_string.strip() or token_string != token_string.strip():
        raise DatasetError(f"token_string must be a word without surrounding spaces, not {token_string!r}")
    try:
        archive = zipfile.ZipFile(zip_path)
    except zipfile.BadZipFile as error:
        raise DatasetError(f"input_images is not a zip archive: {error}") from None
    with archive:
        names = [n for n in archive.namelist() if not n.startswith("__MACOSX/")]
        csvs = sorted((n for n in names if n.rsplit("/", 1)[-1].lower() == "caption.csv"), key=lambda n: n.count("/"))
        if not csvs:
            raise DatasetError("input_images has no caption.csv (columns caption,image_file)")
        root = csvs[0][: -len("caption.csv")]
        rows = list(csv.DictReader(io.StringIO(archive.read(csvs[0]).decode("utf-8-sig"))))
        if not rows or not {"caption", "image_file"} <= set(rows[0].keys()):
            raise DatasetError("caption.csv needs the columns caption,image_file and at least one row")
        # The trigger must be a word of every caption: the LoRA learns the style from the captions
        # that name it, and special_params.json maps exactly this word at inference.
        trigger = re.compile(rf"(?<![\w]){re.escape(token_string)}(?![\w])")
        examples = []
        for row in rows:
            file, caption = row["image_file"].strip(), row["caption"].strip()
            if not trigger.search(caption):
                raise DatasetError(f"the caption of {file} does not contain the trigger word {token_string!r}")
            try:
                data = archive.read(root + file)
            except KeyError:
                raise DatasetError(f"caption.csv names {file}, which is not in the archive") from None
            try:
                image = ImageOps.exif_transpose(Image.open(io.BytesIO(data))).convert("RGB")
            except Exception as error:  # PIL raises several types for a damaged file
                raise DatasetError(f"{file} is not a readable image: {error}") from None
            examples.append(Example(file=file, caption=caption, image=image))
        return examples


def training_resolution(examples: list[Example], requested: int | None, multiple: int = 64) -> int:
    """The side the squares are trained at: the requested one, but never above the smallest image
    (upscaling a square invents no detail and costs 4x the compute per doubling), floored to a
    multiple of 64 so every UNet level of SDXL (latents /8, then /2 twice) divides evenly."""
    smallest = min(min(e.image.size) for e in examples)
    side = smallest if requested is None else min(requested, smallest)
    side = side // multiple * multiple
    if side < multiple:
        raise DatasetError(f"the images are too small to train on ({smallest}px; at least {multiple}px)")
    return side


def square(image: Image.Image, side: int) -> Image.Image:
    """Centre crop to a square, then resize: kmplz already sends squares, so this is a resize."""
    width, height = image.size
    edge = min(width, height)
    left, top = (width - edge) // 2, (height - edge) // 2
    cropped = image.crop((left, top, left + edge, top + edge))
    return cropped if edge == side else cropped.resize((side, side), Image.Resampling.LANCZOS)

"""Pictures in and out: generator output as uint8 pixels, grids and PNG files, and a picture read from a file."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
from PIL import Image

from anime_dcgan.errors import UserError

MAX_SIDE = 4096  # pixels a side of a picture to read: far more than a face needs; larger ones are refused undecoded


class PictureError(UserError, ValueError):
    """A file that cannot be used as a picture of a face; the message says what to use instead."""


def read_picture(path: str | Path) -> np.ndarray:
    """The picture at `path` as uint8 HxWx3 RGB pixels. PictureError for a missing file, one that is not a picture
    (or is damaged), and one over MAX_SIDE pixels a side, found from its header before it is decoded."""
    path = Path(path)
    if not path.is_file():
        state = "is a folder" if path.is_dir() else "does not exist"
        raise PictureError(f"{path} {state}: use a PNG, JPEG or WebP picture of a face")
    try:
        with Image.open(path) as image:
            if max(image.size) > MAX_SIDE:
                raise PictureError(f"{path.name} is {image.width}x{image.height} pixels: use a picture of at most "
                                   f"{MAX_SIDE} pixels a side, best a square crop of one face")  # fmt: skip
            return np.asarray(image.convert("RGB"))
    except PictureError:
        raise
    except Image.DecompressionBombError:
        raise PictureError(f"{path.name} is too large a picture: use one of at most {MAX_SIDE} pixels a side") from None
    except (OSError, ValueError, SyntaxError):  # what Pillow raises for a file it cannot read as a picture
        raise PictureError(f"{path.name} is not a picture: use a PNG, JPEG or WebP image of a face") from None


def to_uint8(images) -> np.ndarray:
    """Images scaled to [-1, 1] (any array-like, NHWC or HWC) as uint8 pixels."""
    pixels = (np.asarray(images, dtype=np.float32) + 1.0) * 127.5
    return np.clip(np.round(pixels), 0, 255).astype(np.uint8)


def make_grid(images: np.ndarray, columns: int | None = None, padding: int = 2) -> np.ndarray:
    """Tile a batch of uint8 NHWC images into one picture, `columns` wide, on a white background."""
    count, height, width, channels = images.shape
    columns = columns or math.ceil(math.sqrt(count))
    rows = math.ceil(count / columns)
    grid = np.full(
        (rows * (height + padding) + padding, columns * (width + padding) + padding, channels),
        255,
        dtype=np.uint8,
    )
    for index, image in enumerate(images):
        top = padding + (index // columns) * (height + padding)
        left = padding + (index % columns) * (width + padding)
        grid[top : top + height, left : left + width] = image
    return grid


def save_png(pixels: np.ndarray, path: str | Path) -> Path:
    """Write uint8 pixels to `path`, creating its folder."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    Image.fromarray(pixels).save(path)
    return path

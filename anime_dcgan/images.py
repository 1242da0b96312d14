"""Turning generator output into pictures: uint8 conversion, grids and PNG files."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
from PIL import Image


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

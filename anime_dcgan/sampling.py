"""Drawing faces from a trained generator: loading one, the noise it draws from, and its faces as images."""

from __future__ import annotations

from pathlib import Path

import keras
import numpy as np

from anime_dcgan.errors import UserError
from anime_dcgan.images import make_grid, save_png, to_uint8

GENERATOR_FILE = "generator.keras"
# The generator that ships with the package: the default recipe trained on 3,500 faces (docs/pretrained.md).
PRETRAINED = "pretrained"
PRETRAINED_FILE = Path(__file__).resolve().parent / "pretrained" / "anime-faces-64.keras"


class ModelError(UserError, ValueError):
    """The --model path holds no usable generator; the message says what to pass instead."""


def load_generator(model: str | Path = PRETRAINED) -> keras.Model:
    """The generator in a run folder (its generator.keras), in a .keras file, or the one that ships with the package
    ("pretrained", the default)."""
    path = PRETRAINED_FILE if str(model) == PRETRAINED else Path(model)
    if path.is_dir():
        path = path / GENERATOR_FILE
    if not path.is_file():
        raise ModelError(
            f"no generator at {path}: pass a run folder that holds {GENERATOR_FILE} (written after each epoch) "
            "or a .keras file"
        )
    try:
        return keras.models.load_model(path, compile=False)
    except Exception:  # Keras raises many types, "file not found" among them, for a damaged or foreign file
        raise ModelError(
            f"{path} is damaged or not a saved Keras model: pass the run folder again after its next epoch, "
            "or another .keras file"
        ) from None


def latent_noise(count: int, latent_dim: int, seed: int = 0) -> np.ndarray:
    """`count` float32 noise vectors of `latent_dim` standard normal numbers, the same for the same seed."""
    return np.random.default_rng(seed).standard_normal((count, latent_dim)).astype("float32")


def generate_faces(generator: keras.Model, count: int, seed: int = 0) -> np.ndarray:
    """`count` faces as uint8 NHWC images, from the noise `latent_noise` draws for `seed`."""
    latent = latent_noise(count, generator.input_shape[-1], seed)
    batches = [generator(latent[i : i + 256], training=False) for i in range(0, count, 256)]
    return to_uint8(np.concatenate(batches))


def write_faces(faces: np.ndarray, out: str | Path, columns: int | None = None) -> list[Path]:
    """One grid PNG if `out` names a file, else one PNG per face in the folder `out`."""
    out = Path(out)
    if out.suffix and not out.is_dir():
        return [save_png(make_grid(faces, columns), out)]
    return [save_png(face, out / f"face_{i:04d}.png") for i, face in enumerate(faces)]

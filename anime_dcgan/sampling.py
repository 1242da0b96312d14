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


def seed_latents(seeds: list[int], latent_dim: int) -> np.ndarray:
    """One noise vector per seed: the first that `latent_noise` draws for it, so seed s gives the face that
    `generate --seed s --n 1` draws."""
    return np.stack([latent_noise(1, latent_dim, seed)[0] for seed in seeds])


def truncate(latent: np.ndarray, psi: float) -> np.ndarray:
    """The truncation trick: noise pulled towards the mean of its distribution (the origin) by `psi`. 1 leaves it
    as it is; smaller trades variety for the cleaner faces near the mean; 0 gives every seed the mean's face."""
    return (psi * latent).astype("float32")


def slerp(a: np.ndarray, b: np.ndarray, t: float) -> np.ndarray:
    """Spherical interpolation from `a` (t = 0) to `b` (t = 1): for Gaussian noise, every point on the way keeps the
    length typical of the noise, where a straight line would pass through the unlikely region near the origin."""
    cosine = np.dot(a, b) / (np.linalg.norm(a) * np.linalg.norm(b))
    angle = np.arccos(np.clip(cosine, -1.0, 1.0))
    if angle < 1e-6:
        return ((1 - t) * a + t * b).astype("float32")
    return ((np.sin((1 - t) * angle) * a + np.sin(t * angle) * b) / np.sin(angle)).astype("float32")


def walk(keys: np.ndarray, frames: int, loop: bool = False) -> np.ndarray:
    """`frames` noise vectors walking through `keys` in order, evenly in time: from the first key to the last one,
    or, with `loop`, on and back towards the first (the last frame just before it, so the animation repeats
    smoothly)."""
    segments = len(keys) if loop else len(keys) - 1
    times = np.arange(frames) * segments / (frames if loop else max(frames - 1, 1))
    path = []
    for time in times:
        segment = min(int(time), segments - 1)
        path.append(slerp(keys[segment], keys[(segment + 1) % len(keys)], time - segment))
    return np.stack(path)


def draw(generator: keras.Model, latent: np.ndarray) -> np.ndarray:
    """The generator's faces for the noise vectors `latent`, as uint8 NHWC images."""
    batches = [generator(latent[i : i + 256], training=False) for i in range(0, len(latent), 256)]
    return to_uint8(np.concatenate(batches))


def generate_faces(generator: keras.Model, count: int, seed: int = 0) -> np.ndarray:
    """`count` faces as uint8 NHWC images, from the noise `latent_noise` draws for `seed`."""
    return draw(generator, latent_noise(count, generator.input_shape[-1], seed))


def write_faces(faces: np.ndarray, out: str | Path, columns: int | None = None) -> list[Path]:
    """One grid PNG if `out` names a file, else one PNG per face in the folder `out`."""
    out = Path(out)
    if out.suffix and not out.is_dir():
        return [save_png(make_grid(faces, columns), out)]
    return [save_png(face, out / f"face_{i:04d}.png") for i, face in enumerate(faces)]


def write_animation(frames: np.ndarray, path: str | Path, fps: int = 24) -> Path:
    """uint8 frames as an animated GIF (looping) or an MP4 (H.264 through imageio's ffmpeg plugin), by `path`'s
    suffix. Raises UserError saying how to get the plugin if an MP4 is asked for without it."""
    import imageio.v3 as iio

    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    if path.suffix.lower() == ".mp4":
        try:
            import imageio_ffmpeg  # noqa: F401
        except ImportError:
            raise UserError(
                f"writing {path} needs imageio's ffmpeg plugin: pip install imageio-ffmpeg (its wheel carries its own "
                "ffmpeg), or ask for a .gif"
            ) from None
        # H.264 wants even sides: the 64 px faces are; a macro block of 16 is not needed at this size.
        iio.imwrite(path, frames, extension=".mp4", fps=fps, codec="libx264", macro_block_size=1)
    else:
        iio.imwrite(path, frames, extension=".gif", duration=1000 / fps, loop=0)
    return path

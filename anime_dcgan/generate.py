"""Draw new faces with a trained generator: `python -m anime_dcgan.generate --model runs/faces --out faces.png`."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from anime_dcgan.cli import import_tensorflow, program_name
from anime_dcgan.images import make_grid, save_png, to_uint8

if TYPE_CHECKING:
    import keras

GENERATOR_FILE = "generator.keras"


class ModelError(ValueError):
    """The --model path holds no usable generator; the message says what to pass instead."""


def load_generator(model: str | Path) -> keras.Model:
    """The generator in a run folder (its generator.keras) or in a .keras file."""
    import_tensorflow()  # here, so that the command line is read before TensorFlow starts
    import keras

    path = Path(model)
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


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog=program_name("anime_dcgan.generate"), description=__doc__)
    parser.add_argument("--model", required=True, help="run folder (uses its generator.keras) or a .keras file")
    parser.add_argument("--n", type=int, default=64, help="number of faces (default: 64)")
    parser.add_argument("--seed", type=int, default=0, help="noise seed: the same seed draws the same faces")
    parser.add_argument("--out", default="faces.png", help="a .png file for a grid, or a folder for one PNG per face")
    parser.add_argument("--columns", type=int, help="faces per row of the grid (default: about square)")
    args = parser.parse_args(argv)
    if args.n < 1:
        parser.error(f"--n must be at least 1, not {args.n}")
    out = Path(args.out)
    if out.suffix and out.suffix.lower() != ".png" and not out.is_dir():
        print(f"error: --out {args.out}: name a .png file for a grid, or a folder for one PNG per face", file=sys.stderr)
        return 2
    replacing = out.is_file()
    try:
        generator = load_generator(args.model)
    except ModelError as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    written = write_faces(generate_faces(generator, args.n, args.seed), out, args.columns)
    replaced = " (replacing the file that was there)" if replacing else ""
    print(f"Wrote {args.n} faces to {written[0] if len(written) == 1 else out}{replaced}")
    return 0


if __name__ == "__main__":
    sys.exit(main())

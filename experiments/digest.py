"""The digest of a 2-epoch tiny `fit --deterministic --seed 0` run: every weight and optimizer tensor of its last
checkpoint and its history.csv, so a refactor can show that training computes bit-identical numbers on one machine.

Usage: python experiments/digest.py [RUN_DIR]   (from the repository's root; default: a fresh temporary folder)
"""

from __future__ import annotations

import csv
import hashlib
import subprocess
import sys
import tempfile
from pathlib import Path


FLAGS = ["--epochs", "2", "--image-size", "32", "--width", "8", "--latent-dim", "16", "--batch-size", "16",
         "--deterministic", "--seed", "0", "--verbose", "0"]  # fmt: skip


def tensor_digest(checkpoint_prefix: str) -> str:
    """A digest of every floating-point tensor in the checkpoint but the grids' fixed noise, independent of the names
    it is saved under."""
    import tensorflow as tf

    reader = tf.train.load_checkpoint(checkpoint_prefix)
    digests = []
    for name, shape in reader.get_variable_to_shape_map().items():
        if name.startswith("fixed_noise/"):
            continue  # the grids' noise: not trained
        value = reader.get_tensor(name)
        if shape and getattr(value, "dtype", None) is not None and value.dtype.kind == "f":
            digests.append(hashlib.sha256(value.tobytes() + str(value.shape).encode()).hexdigest())
    return hashlib.sha256("".join(sorted(digests)).encode()).hexdigest()[:16]


def history_digest(path: Path) -> str:
    with path.open() as file:
        rows = [";".join(row) for row in csv.reader(file)]
    return hashlib.sha256("\n".join(rows).encode()).hexdigest()[:16]


def main() -> None:
    run = Path(sys.argv[1]) if sys.argv[1:] else Path(tempfile.mkdtemp(prefix="digest-")) / "run"
    root = Path(__file__).resolve().parent.parent  # `python -m anime_dcgan.fit` of this checkout, as a user runs it
    subprocess.run([sys.executable, "-m", "anime_dcgan.fit", "--out", str(run), *FLAGS], cwd=root, check=True,
                   stdout=subprocess.DEVNULL)  # fmt: skip
    import tensorflow as tf

    prefix = tf.train.latest_checkpoint(str(run / "checkpoints"))
    print(f"weights {tensor_digest(prefix)}  history {history_digest(run / 'history.csv')}")


if __name__ == "__main__":
    main()

"""The TensorFlow DCGAN tutorial's training loop on the project's networks, for a fixed wall time: a peer for the
time-to-quality comparison (experiments/peers.sh). It trains `bench`'s reference step (the tutorial's step: float32,
Adam(1e-4), BCE, batch 256 as the tutorial has it) over shuffled epochs of the faces, stops at the deadline, and
saves the generator as OUT/generator.keras for `python -m anime_dcgan.evaluate --model OUT`.

Usage: .venv/bin/python experiments/tutorial_loop.py FACES_DIR OUT MINUTES [--batch-size 256] [--seed 0]
"""

import argparse
import json
import sys
import time
from pathlib import Path

import keras

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))  # this checkout's package
from anime_dcgan import data  # noqa: E402
from anime_dcgan.commands.bench import tutorial_step  # noqa: E402
from anime_dcgan.config import TrainConfig  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("faces")
    parser.add_argument("out")
    parser.add_argument("minutes", type=float)
    parser.add_argument("--batch-size", type=int, default=256)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()

    keras.utils.set_random_seed(args.seed)
    config = TrainConfig(batch_size=args.batch_size, precision="float32")
    dataset, folder = data.make_dataset(Path(args.faces), image_size=config.image_size, batch_size=args.batch_size,
                                        seed=args.seed)  # fmt: skip
    step, generator = tutorial_step(config)
    deadline = time.monotonic() + 60 * args.minutes
    images = epochs = 0
    while time.monotonic() < deadline:
        for batch in dataset:
            loss = step(batch)
            images += int(batch.shape[0])
            if time.monotonic() >= deadline:
                break
        else:
            epochs += 1
            print(f"epoch {epochs}: {images} images, d_loss {float(loss):.3f}", flush=True)
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    generator.save(out / "generator.keras")
    summary = {"peer": "tf-tutorial", "minutes": args.minutes, "images": images, "faces": folder.images}
    (out / "summary.json").write_text(json.dumps(summary) + "\n")
    print(json.dumps(summary))


if __name__ == "__main__":
    main()

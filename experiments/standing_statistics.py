"""Export a generator from a run's last checkpoint, to score it with `python -m anime_dcgan.evaluate --model OUT.keras`:
the weight average with standing statistics from BATCHES batches of fresh noise (how many batches do they need?), or,
with BATCHES `raw`, the trained generator itself, without the average (what is the average worth?).

Usage: python experiments/standing_statistics.py RUN_DIR BATCHES|raw OUT.keras   (from the repository's root)
"""

from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))  # the checkout's package

from anime_dcgan import checkpoints, cpu_layers, training  # noqa: E402
from anime_dcgan.config import CONFIG_FILE, TrainConfig  # noqa: E402


def main(run_dir: Path, batches: str, out: Path) -> None:
    config = TrainConfig.load(run_dir / CONFIG_FILE)
    if config.ema is None:
        sys.exit(f"error: {run_dir} keeps no weight average (--ema), so its generator.keras is already the raw one")
    gan = training.build_gan(config)
    checkpoint = checkpoints.TrainingCheckpoint(run_dir / "checkpoints", gan, training.fixed_noise(config), out)
    epochs, _ = checkpoint.restore()  # writes nothing: `out` is written below
    if batches == "raw":
        cpu_layers.portable(gan.generator).save(out)
        print(f"{out}: the trained generator (not the average) after {epochs} epochs")
        return
    gan.update_standing_statistics(int(batches), config.batch_size)
    cpu_layers.portable(gan.ema.model).save(out)
    print(f"{out}: the averaged generator after {epochs} epochs, statistics from {batches} batches of {config.batch_size}")


if __name__ == "__main__":
    if len(sys.argv) != 4 or not (sys.argv[2] == "raw" or sys.argv[2].isdigit()):
        sys.exit(__doc__.strip().splitlines()[-1])
    main(Path(sys.argv[1]), sys.argv[2], Path(sys.argv[3]))

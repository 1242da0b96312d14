"""What `--deterministic` costs on this machine: images/s of fit's default training step (64 px, width 64, batch 128)
with and without TensorFlow's op determinism, which stays on for the rest of a process once enabled, so each
measurement runs in a process of its own; the two take turns and the medians count.

Usage: python experiments/determinism.py [TURNS] [STEPS]   (from the repository's root; default 3 turns of 10 steps)
"""

from __future__ import annotations

import statistics
import subprocess
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))  # the checkout's package

def measure(deterministic: bool, steps: int) -> float:
    """Images/s of `steps` default steps after 3 warm-up steps, in this process."""
    from anime_dcgan.commands import import_tensorflow

    import_tensorflow()
    import keras
    import tensorflow as tf

    from anime_dcgan import training
    from anime_dcgan.config import TrainConfig

    if deterministic:
        tf.config.experimental.enable_op_determinism()
    keras.utils.set_random_seed(0)
    config = TrainConfig(seed=0).resolved()
    gan = training.build_gan(config)
    batch = tf.random.uniform((config.batch_size, config.image_size, config.image_size, 3), -1.0, 1.0)
    step = tf.function(gan.train_step)
    for _ in range(3):
        float(step(batch)["d_loss"])
    start = time.perf_counter()
    for _ in range(steps):
        logs = step(batch)
    float(logs["d_loss"])
    return steps * config.batch_size / (time.perf_counter() - start)


def main() -> None:
    turns, steps = (int(arg) for arg in (sys.argv[1:] + ["3", "10"])[:2])
    rates: dict[bool, list[float]] = {False: [], True: []}
    for _ in range(turns):
        for deterministic in (False, True):
            command = [sys.executable, __file__, "--measure", str(int(deterministic)), str(steps)]
            rates[deterministic].append(float(subprocess.run(command, capture_output=True, text=True, check=True).stdout))
    plain, deterministic = (statistics.median(rates[flag]) for flag in (False, True))
    print(f"default step: {plain:.1f} images/s; with --deterministic: {deterministic:.1f} images/s "
          f"(medians of {turns}); ratio={deterministic / plain:.2f}")  # fmt: skip


if __name__ == "__main__":
    if sys.argv[1:2] == ["--measure"]:
        print(measure(sys.argv[2] == "1", int(sys.argv[3])))
    else:
        main()

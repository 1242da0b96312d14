"""What the default step's parts cost: the step at one precision with and without DiffAugment and the weight
average, beside the reference step and the step's convolution bound, timed in turns as `anime_dcgan.bench` times.

Usage: python experiments/step_costs.py [PRECISION [BATCH [TURNS]]]   (from the repository's root; PRECISION
float32 or mixed_bfloat16, default float32; BATCH default 128; TURNS default 5)
"""

from __future__ import annotations

import dataclasses
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))  # the checkout's package

import tensorflow as tf  # noqa: E402

from anime_dcgan.commands import bench  # noqa: E402
from anime_dcgan.config import TrainConfig  # noqa: E402

VARIANTS = {  # name -> changes to the default recipe
    "default step": {},
    "without the weight average": {"ema": None},
    "without DiffAugment": {"augment": ""},
    "without either": {"ema": None, "augment": ""},
}


def main(precision: str, batch: int, turns: int) -> None:
    config = TrainConfig(batch_size=batch).resolved()
    real = tf.random.uniform((batch, config.image_size, config.image_size, 3), -1.0, 1.0)
    candidates = [bench.Candidate(bench.REFERENCE, batch, bench.reference_step(config, real))]
    for name, changes in VARIANTS.items():
        step = bench.project_step(dataclasses.replace(config, **changes), real, precision, jit_compile=False)
        candidates.append(bench.Candidate(f"{name} ({precision})", batch, step))
    candidates.append(bench.Candidate(f"convolution bound ({precision})", batch, bench.convolution_bound(config, precision)))
    rates = bench.time_candidates(candidates, steps=5, repeats=turns)
    reference = rates[bench.REFERENCE]
    for name, rate in rates.items():
        print(f"{name:44}{rate:10.1f}{rate / reference:8.2f}x")


if __name__ == "__main__":
    arguments = sys.argv[1:] + [None] * 3
    main(arguments[0] or "float32", int(arguments[1] or 128), int(arguments[2] or 5))

"""Where the convolution bound's time goes: every convolution pass of the default step, timed on its own, with how
often a step runs it, and the bound they add up to against the reference step timed beside them.

Usage: python experiments/convolution_bound.py [PRECISION [BATCH [TURNS]]]   (from the repository's root;
PRECISION float32 or mixed_bfloat16, default float32; BATCH default 128)

`python -m anime_dcgan.bench` prints the bound itself (its "convolution bound" rows); this splits it by layer and
pass (forward, input gradient, kernel gradient) with bench's own passes (`bench.bound_passes`). Medians of TURNS
alternated turns of 3 calls each.
"""

from __future__ import annotations

import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))  # the checkout's package

import tensorflow as tf  # noqa: E402

from anime_dcgan.commands import bench  # noqa: E402
from anime_dcgan.config import TrainConfig  # noqa: E402


def main(precision: str, batch: int, turns: int) -> None:
    config = TrainConfig(batch_size=batch).resolved()
    passes = bench.bound_passes(config, precision)
    real = tf.random.uniform((batch, config.image_size, config.image_size, 3), -1.0, 1.0)
    reference = bench.reference_step(config, real)
    for *_, convolution in passes:
        float(convolution())  # trace and warm up
    reference(1)
    times: dict[int, list[float]] = {index: [] for index in range(len(passes) + 1)}
    for _ in range(turns):
        for index, (*_, convolution) in enumerate(passes):
            start = time.perf_counter()
            for _ in range(3):
                result = convolution()
            float(result)
            times[index].append((time.perf_counter() - start) / 3 * 1000)
        start = time.perf_counter()
        reference(3)
        times[len(passes)].append((time.perf_counter() - start) / 3 * 1000)
    ms = {index: statistics.median(values) for index, values in times.items()}

    print(f"{precision}, batch {batch}: ms a call, and calls a step")
    total = 0.0
    for index, (layer, kind, count, _) in enumerate(passes):
        shape = f"{layer.input.shape[1:]} -> {layer.output.shape[1:]}"
        print(f"{layer.name:>28} {shape:>34} {kind:>16} {ms[index]:7.1f} x {count}")
        total += ms[index] * count
    print(f"convolutions of a step: {total:.0f} ms; the reference step (float32): {ms[len(passes)]:.0f} ms")
    print(f"bound={ms[len(passes)] / total:.2f} (the reference's step time over the convolutions')")


if __name__ == "__main__":
    arguments = sys.argv[1:] + [None] * 3
    main(arguments[0] or "float32", int(arguments[1] or 128), int(arguments[2] or 5))

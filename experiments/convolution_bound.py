"""Where the convolution bound's time goes: every convolution pass of the default step, timed on its own, with how
often a step runs it, and the bound they add up to against the reference step timed beside them; and how fast the
passes do their arithmetic, against a large matrix product in the same precision timed beside them (the most this
CPU's kernels do per second).

Usage: python experiments/convolution_bound.py [PRECISION [BATCH [TURNS [FLAGS]]]]   (from the repository's root;
PRECISION float32 or mixed_bfloat16, default float32; BATCH default 128; FLAGS: fit's flags of the recipe, e.g.
"--updates simultaneous", default none)

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


def main(precision: str, batch: int, turns: int, flags: str) -> None:
    config = bench.recipe_config(TrainConfig(batch_size=batch).resolved(), flags)
    passes = bench.bound_passes(config, precision)
    real = tf.random.uniform((batch, config.image_size, config.image_size, 3), -1.0, 1.0)
    whole = [bench.matrix_product(bench.compute_dtype(precision)).run, bench.reference_step(config, real)]
    for *_, convolution in passes:
        float(convolution())  # trace and warm up
    for run in whole:
        run(1)
    times: dict[int, list[float]] = {index: [] for index in range(len(passes) + len(whole))}
    for _ in range(turns):
        for index, (*_, convolution) in enumerate(passes):
            start = time.perf_counter()
            for _ in range(3):
                result = convolution()
            float(result)
            times[index].append((time.perf_counter() - start) / 3 * 1000)
        for index, run in enumerate(whole, len(passes)):
            start = time.perf_counter()
            run(3)
            times[index].append((time.perf_counter() - start) / 3 * 1000)
    ms = {index: statistics.median(values) for index, values in times.items()}

    peak = 2 * bench.MATRIX**3 / ms[len(passes)] / 1e6
    print(f"{precision}, batch {batch} ({flags or 'the default'}): ms a call, calls a step, GFLOP/s")
    total, flops = 0.0, 0
    for index, (layer, kind, count, _) in enumerate(passes):
        shape = f"{layer.input.shape[1:]} -> {layer.output.shape[1:]}"
        work = 2 * bench.multiply_adds(layer, batch)
        rate = work / ms[index] / 1e6
        print(f"{layer.name:>28} {shape:>34} {kind:>16} {ms[index]:7.1f} x {str(count):>5} {rate:7.0f}")
        total += ms[index] * count
        flops += work * count
    print(f"convolutions of a step: {total:.0f} ms, {flops / 1e9:.1f} GFLOP, {flops / total / 1e6:.0f} GFLOP/s; a "
          f"{bench.MATRIX}x{bench.MATRIX} matrix product: {peak:.0f} GFLOP/s; the reference step (float32): "
          f"{ms[len(passes) + 1]:.0f} ms")
    print(f"bound={ms[len(passes) + 1] / total:.2f} (the reference's step time over the convolutions'); the "
          f"convolutions at {flops / total / 1e6 / peak:.0%} of the matrix product's rate")


if __name__ == "__main__":
    arguments = sys.argv[1:] + [None] * 4
    main(arguments[0] or "float32", int(arguments[1] or 128), int(arguments[2] or 5), arguments[3] or "")

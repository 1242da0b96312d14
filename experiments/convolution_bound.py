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

import math
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))  # the checkout's package

import keras  # noqa: E402
import tensorflow as tf  # noqa: E402

from anime_dcgan import training  # noqa: E402
from anime_dcgan.commands import bench  # noqa: E402
from anime_dcgan.config import TrainConfig  # noqa: E402


MATMUL = 2048  # the side of the square matrices whose product gives the arithmetic rate to compare with


def multiply_adds(layer, batch: int) -> int:
    """Multiply-adds of one pass of `layer` (forward, input or kernel gradient: each pairs every kernel weight with
    every position of the smaller map), "same" padding's zeros counted."""
    inner = getattr(layer, "layer", layer)
    small = layer.input.shape if "Transpose" in type(inner).__name__ else layer.output.shape
    return batch * small[1] * small[2] * math.prod(inner.kernel.shape)


def matmul(dtype) -> tf.types.experimental.GenericFunction:
    a = tf.cast(tf.random.normal((MATMUL, MATMUL)), dtype)
    return tf.function(lambda: tf.cast(tf.matmul(a, a)[0, 0], "float32"))


def main(precision: str, batch: int, turns: int, flags: str) -> None:
    config = bench.recipe_config(TrainConfig(batch_size=batch).resolved(), flags)
    passes = bench.bound_passes(config, precision)
    dtype = keras.mixed_precision.Policy(training.resolve_precision(precision)).compute_dtype
    passes.append((None, "matmul", 0, matmul(dtype)))
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

    peak = 2 * MATMUL**3 / ms[len(passes) - 1] / 1e6
    print(f"{precision}, batch {batch} ({flags or 'the default'}): ms a call, calls a step, GFLOP/s")
    total, flops = 0.0, 0
    for index, (layer, kind, count, _) in enumerate(passes[:-1]):
        shape = f"{layer.input.shape[1:]} -> {layer.output.shape[1:]}"
        work = 2 * multiply_adds(layer, batch)
        rate = work / ms[index] / 1e6
        print(f"{layer.name:>28} {shape:>34} {kind:>16} {ms[index]:7.1f} x {str(count):>5} {rate:7.0f}")
        total += ms[index] * count
        flops += work * count
    print(f"convolutions of a step: {total:.0f} ms, {flops / 1e9:.1f} GFLOP, {flops / total / 1e6:.0f} GFLOP/s; a "
          f"{MATMUL}x{MATMUL} matrix product: {peak:.0f} GFLOP/s; the reference step (float32): "
          f"{ms[len(passes)]:.0f} ms")
    print(f"bound={ms[len(passes)] / total:.2f} (the reference's step time over the convolutions'); the convolutions "
          f"at {flops / total / 1e6 / peak:.0%} of the matrix product's rate")


if __name__ == "__main__":
    arguments = sys.argv[1:] + [None] * 4
    main(arguments[0] or "float32", int(arguments[1] or 128), int(arguments[2] or 5), arguments[3] or "")

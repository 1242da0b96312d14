"""How long the kernel gradient of each of the 64 px discriminator's convolutions takes on this machine (4x4 kernels,
stride 2, batch BATCH, default 128): TensorFlow's backward-filter convolution against `cpu_layers.kernel_gradient` (one matmul of
input patches by output gradients), in float32 and bfloat16, medians of 5 turns of 5 calls. The generator's
transposed convolutions have the same kernel gradients, from output to input.

Usage: python experiments/kernel_gradients.py [BATCH]   (from the repository's root)
"""

from __future__ import annotations

import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))  # the checkout's package

import tensorflow as tf  # noqa: E402

from anime_dcgan import cpu_layers  # noqa: E402

LAYERS = [(64, 3, 64), (32, 64, 128), (16, 128, 256), (8, 256, 512)]  # input side, channels in, channels out


def milliseconds(function, *args) -> float:
    function(*args)  # trace and warm up
    times = []
    for _ in range(5):
        start = time.perf_counter()
        for _ in range(5):
            result = function(*args)
        float(result)
        times.append((time.perf_counter() - start) / 5)
    return statistics.median(times) * 1000


def main(batch: int) -> None:
    print(f"batch {batch}")
    print(f"{'layer':>22} | {'float32: conv':>13} {'matmul':>7} | {'bfloat16: conv':>14} {'matmul':>7}  (ms)")
    for side, channels_in, channels_out in LAYERS:
        row = []
        for dtype in (tf.float32, tf.bfloat16):
            inputs = tf.cast(tf.random.normal((batch, side, side, channels_in)), dtype)
            gradients = tf.cast(tf.random.normal((batch, side // 2, side // 2, channels_out)), dtype)

            @tf.function
            def by_convolution(inputs, gradients):
                kernel = tf.raw_ops.Conv2DBackpropFilter(
                    input=inputs, filter_sizes=[4, 4, channels_in, channels_out], out_backprop=gradients,
                    strides=[1, 2, 2, 1], padding="SAME",
                )  # fmt: skip
                return tf.reduce_sum(tf.cast(kernel, tf.float32))

            @tf.function
            def by_matmul(inputs, gradients):
                return tf.reduce_sum(tf.cast(cpu_layers.kernel_gradient(inputs, gradients, 4, 2), tf.float32))

            row += [milliseconds(by_convolution, inputs, gradients), milliseconds(by_matmul, inputs, gradients)]
        layer = f"{side}x{side}x{channels_in} -> {side // 2}x{side // 2}x{channels_out}"
        print(f"{layer:>22} | {row[0]:13.1f} {row[1]:7.1f} | {row[2]:14.1f} {row[3]:7.1f}")


if __name__ == "__main__":
    main(int(sys.argv[1]) if len(sys.argv) > 1 else 128)

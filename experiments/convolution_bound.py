"""The fastest the default step could run against the reference step on this machine if it did nothing but its
convolutions: every convolution pass that each step runs, timed on its own, added up.

Usage: python experiments/convolution_bound.py [BATCH [TURNS]]   (from the repository's root; BATCH default 128)

A 64 px network has four 4x4, stride-2 convolution shapes (the discriminator's, and the generator's the other way
round). Each is timed in three passes: forward (conv), input gradient (conv transposed, which is also the
generator's forward) and kernel gradient (by matmul for the 8x8 <-> 4x4 layer, as `cpu_layers.SmallMapConv2D` does on a
CPU). One training step of batch B runs, per pass summed over the four shapes (F, I, K; I' = I without the 3-channel
layer, whose input gradient D's update does not need):

- the reference (the TensorFlow tutorial's simultaneous update): D forward on real and fake, D's kernel and input
  gradients on both, the input gradient through D for G, G's forward and backward: 3F + 3K + 2I' + 2I;
- the project's step (G's update goes through the updated D): one more D forward on the fakes: 4F + 3K + 2I' + 2I.

The same run times the reference's whole step (float32, batch 128) and the project's default step (bfloat16, batch
B, the recipe `fit` trains with no flags) as `anime_dcgan.bench` does. Every other cost of a step (BatchNorm,
activations, augmentation, optimizers) only adds to the project's time, so the reference's whole step over the
project's convolutions alone, per image, bounds the ratio `bench` can show. Medians of TURNS alternated turns of 3
calls (steps) each.
"""

from __future__ import annotations

import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))  # the checkout's package

import tensorflow as tf  # noqa: E402

from anime_dcgan import cpu_layers  # noqa: E402
from anime_dcgan.commands import bench
from anime_dcgan.config import TrainConfig  # noqa: E402

LAYERS = [(64, 3, 64), (32, 64, 128), (16, 128, 256), (8, 256, 512)]  # input side, channels in, channels out
REFERENCE_BATCH = 128


def passes(batch: int, side: int, channels_in: int, channels_out: int, dtype) -> dict:
    """The three passes of one convolution shape as traced functions, with their arguments."""
    inputs = tf.cast(tf.random.normal((batch, side, side, channels_in)), dtype)
    outputs = tf.cast(tf.random.normal((batch, side // 2, side // 2, channels_out)), dtype)
    kernel = tf.cast(tf.random.normal((4, 4, channels_in, channels_out)), dtype)
    strides = [1, 2, 2, 1]

    def total(tensor):  # one element: the whole convolution runs, nothing else is timed with it
        return tf.cast(tensor[0, 0, 0, 0], tf.float32)

    def forward(inputs, kernel):
        return total(tf.nn.conv2d(inputs, kernel, 2, "SAME"))

    def input_gradient(outputs, kernel):
        return total(tf.raw_ops.Conv2DBackpropInput(
            input_sizes=inputs.shape, filter=kernel, out_backprop=outputs, strides=strides, padding="SAME",
        ))  # fmt: skip

    def kernel_gradient(inputs, outputs):
        if side == 8:  # the small-map layer's matmul
            return total(cpu_layers.kernel_gradient(inputs, outputs, 4, 2))
        return total(tf.raw_ops.Conv2DBackpropFilter(
            input=inputs, filter_sizes=kernel.shape, out_backprop=outputs, strides=strides, padding="SAME",
        ))  # fmt: skip

    return {
        "F": (tf.function(forward), (inputs, kernel)),
        "I": (tf.function(input_gradient), (outputs, kernel)),
        "K": (tf.function(kernel_gradient), (inputs, outputs)),
    }


def steps(batch: int) -> dict:
    """The reference's step at batch 128 and the project's default step at `batch`, each as a function of no
    arguments that runs one step and returns 0 when it has finished."""

    def one_step(run) -> float:
        run(1)  # waits for the step's result
        return 0.0

    def real_batch(config: TrainConfig):
        return tf.random.uniform((config.batch_size, config.image_size, config.image_size, 3), -1.0, 1.0)

    reference, default = TrainConfig(batch_size=REFERENCE_BATCH).resolved(), TrainConfig(batch_size=batch).resolved()
    reference_run = bench.reference_step(reference, real_batch(reference))
    default_run = bench.project_step(default, real_batch(default), "mixed_bfloat16", jit_compile=False)
    return {"reference": (one_step, (reference_run,)), "default": (one_step, (default_run,))}


def main(batch: int, turns: int) -> None:
    candidates = steps(batch)  # key -> (function, args); the convolutions' keys: (dtype, layer index, pass)
    for name, dtype, size in (("float32", tf.float32, REFERENCE_BATCH), ("bfloat16", tf.bfloat16, batch)):
        for index, layer in enumerate(LAYERS):
            for step, entry in passes(size, *layer, dtype).items():
                candidates[name, index, step] = entry
    for function, args in candidates.values():
        float(function(*args))  # trace and warm up
    times = {key: [] for key in candidates}
    for _ in range(turns):
        for key, (function, args) in candidates.items():
            start = time.perf_counter()
            for _ in range(3):
                result = function(*args)
            float(result)
            times[key].append((time.perf_counter() - start) / 3 * 1000)
    ms = {key: statistics.median(values) for key, values in times.items()}

    print(f"ms per call: float32 at batch {REFERENCE_BATCH}, bfloat16 at batch {batch}")
    print(f"{'layer':>22} | {'F':>6} {'I':>6} {'K':>6} | {'F':>6} {'I':>6} {'K':>6}")
    for index, (side, channels_in, channels_out) in enumerate(LAYERS):
        row = [ms[dtype, index, step] for dtype in ("float32", "bfloat16") for step in "FIK"]
        layer = f"{side}x{side}x{channels_in} -> {side // 2}x{side // 2}x{channels_out}"
        cells = [" ".join(f"{t:6.1f}" for t in row[:3]), " ".join(f"{t:6.1f}" for t in row[3:])]
        print(f"{layer:>22} | {cells[0]} | {cells[1]}")

    def step_ms(dtype: str, forwards: int) -> float:
        def summed(step, layers=range(len(LAYERS))):
            return sum(ms[dtype, index, step] for index in layers)

        return forwards * summed("F") + 3 * summed("K") + 2 * summed("I", range(1, len(LAYERS))) + 2 * summed("I")

    reference = ms["reference"] / REFERENCE_BATCH
    print(f"reference step: {ms['reference']:.0f} ms a step of {REFERENCE_BATCH}, its convolutions "
          f"{step_ms('float32', 3):.0f} ms")
    print(f"default step: {ms['default']:.0f} ms a step of {batch}, ratio={reference / (ms['default'] / batch):.2f}")
    for label, forwards in (("the project's update", 4), ("a simultaneous update", 3)):
        convolutions = step_ms("bfloat16", forwards)
        bound = reference / (convolutions / batch)
        print(f"convolutions of {label}: {convolutions:.0f} ms a step of {batch}, bound={bound:.2f}")


if __name__ == "__main__":
    main(int(sys.argv[1]) if len(sys.argv) > 1 else 128, int(sys.argv[2]) if len(sys.argv) > 2 else 5)

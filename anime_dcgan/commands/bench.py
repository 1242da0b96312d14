"""Time training on this machine: `python -m anime_dcgan.bench` prints images/s and `ratio=` on its last line.

Measures one full training step (D and G updated) of the project's GAN at each precision and XLA setting, a
reference step timed beside it (the TensorFlow DCGAN tutorial's: a plain tf.function with two GradientTapes and
one generator forward shared by both updates, float32, the same networks and batch), and the input pipeline.
Candidates are timed in turns, each turn after a warm-up, and each figure is the median over the turns, so that a
busy, shared machine slows them alike. The last line is the images/s of the step `fit` takes by default (its
precision and XLA setting chosen for this machine) over the reference's.
"""

from __future__ import annotations

import argparse
import dataclasses
import statistics
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from anime_dcgan.commands import command, import_tensorflow, program_name
from anime_dcgan.config import IMAGE_SIZES, PRECISIONS, TrainConfig

REFERENCE = "reference step (TF tutorial, float32)"
BATCH_SIZE = 128  # the tutorial's and the paper's batch, at which the reference step is compared


@dataclass
class Candidate:
    """One thing to time: `run(steps)` does `steps` steps of `images_per_step` images and blocks until done."""

    name: str
    images_per_step: int
    run: Callable[[int], None]
    steps: int | None = None  # steps of every turn, if fixed by the candidate (a whole epoch); else the bench's


def tutorial_step(config: TrainConfig):
    """The TensorFlow DCGAN tutorial's training step on the project's networks, float32, graph mode: returns
    `step(images) -> d_loss` and the generator it trains."""
    import keras
    import tensorflow as tf

    from anime_dcgan import cpu_layers, models

    keras.mixed_precision.set_global_policy("float32")
    # Keras's own layers, as the tutorial has them (the project's networks train BatchNorm with a fused kernel).
    generator = cpu_layers.portable(models.build_generator(config.latent_dim, config.image_size, config.width))
    discriminator = cpu_layers.portable(models.build_discriminator(config.image_size, config.width))
    cross_entropy = keras.losses.BinaryCrossentropy(from_logits=True)
    g_optimizer, d_optimizer = keras.optimizers.Adam(1e-4), keras.optimizers.Adam(1e-4)

    @tf.function
    def step(images):
        noise = tf.random.normal([tf.shape(images)[0], config.latent_dim])
        with tf.GradientTape() as g_tape, tf.GradientTape() as d_tape:
            generated = generator(noise, training=True)
            real_output = discriminator(images, training=True)
            fake_output = discriminator(generated, training=True)
            g_loss = cross_entropy(tf.ones_like(fake_output), fake_output)
            d_loss = cross_entropy(tf.ones_like(real_output), real_output) + cross_entropy(
                tf.zeros_like(fake_output), fake_output
            )
        g_optimizer.apply_gradients(zip(g_tape.gradient(g_loss, generator.trainable_variables),
                                        generator.trainable_variables))  # fmt: skip
        d_optimizer.apply_gradients(zip(d_tape.gradient(d_loss, discriminator.trainable_variables),
                                        discriminator.trainable_variables))  # fmt: skip
        return d_loss

    return step, generator


def reference_step(config: TrainConfig, real_batch) -> Callable[[int], None]:
    """`tutorial_step` on one batch, `steps` times a turn."""
    step, _ = tutorial_step(config)

    def run(steps: int) -> None:
        for _ in range(steps):
            loss = step(real_batch)
        float(loss)  # wait for the last step

    return run


def project_step(config: TrainConfig, real_batch, precision: str, jit_compile: bool) -> Callable[[int], None]:
    """The project's GAN.train_step as `fit` builds it from `config`, at `precision`, with or without XLA."""
    import tensorflow as tf

    from anime_dcgan import training

    gan = training.build_gan(dataclasses.replace(config, precision=precision))
    step = tf.function(gan.train_step, jit_compile=jit_compile)

    def run(steps: int) -> None:
        for _ in range(steps):
            logs = step(real_batch)
        float(logs["d_loss"])

    return run


def pipeline(config: TrainConfig) -> Callable[[int], None]:
    """Batches of the input pipeline on `config`'s data, as `fit` reads them (decoded once, then gathered)."""
    from anime_dcgan import data

    images, folder = data.load_images(config.data_folder, config.image_size)
    data.check_enough(folder, config.batch_size)
    batches = iter(data.training_stream(images, config.batch_size, seed=0))

    def run(steps: int) -> None:
        for _ in range(steps):
            next(batches)

    return run


def fit_epochs(config: TrainConfig, run_dir: Path) -> Candidate:
    """Whole epochs of `fit` on `config`'s faces as a run trains them: the stream, the default step and every
    epoch's outputs (grid, GIF, history and plot, standing statistics, checkpoint and generator) into `run_dir`."""
    from anime_dcgan import training

    run = training.Run(dataclasses.replace(config, out=str(run_dir)), verbose=0)
    run.load_data()
    run.build_networks()
    run.restore()
    callbacks = run.make_callbacks()

    def train(_: int) -> None:
        run.fit_epochs(run.epoch + 1, callbacks)

    name = f"fit epoch (batch {config.batch_size}, {run.steps_per_epoch} steps, outputs)"
    return Candidate(name, config.batch_size, train, run.steps_per_epoch)


def time_candidates(candidates: list[Candidate], steps: int, repeats: int, warmup: int = 2) -> dict[str, float]:
    """Median images/s of each candidate over `repeats` turns of `steps` steps, the candidates taking turns."""
    for candidate in candidates:
        candidate.run(warmup)  # tracing, compiling, first allocations
    rates: dict[str, list[float]] = {candidate.name: [] for candidate in candidates}
    for _ in range(repeats):
        for candidate in candidates:
            start = time.perf_counter()
            candidate.run(steps)
            images = (candidate.steps or steps) * candidate.images_per_step
            rates[candidate.name].append(images / (time.perf_counter() - start))
    return {name: statistics.median(values) for name, values in rates.items()}


def build_parser() -> argparse.ArgumentParser:
    d = TrainConfig()
    parser = argparse.ArgumentParser(prog=program_name("anime_dcgan.bench"), description=__doc__)
    parser.add_argument("--batch-size", type=int, default=BATCH_SIZE,
                        help=f"images per step (default: {BATCH_SIZE}, the DCGAN paper's; fit's is {d.batch_size})")  # fmt: skip
    parser.add_argument("--image-size", type=int, choices=IMAGE_SIZES, default=d.image_size,
                        help=f"image side in pixels (default: {d.image_size})")  # fmt: skip
    parser.add_argument("--width", type=int, default=d.width, help=f"network width (default: {d.width})")
    parser.add_argument("--steps", type=int, default=10, help="steps per timed turn (default: 10)")
    parser.add_argument("--repeats", type=int, default=3, help="timed turns; the median counts (default: 3)")
    parser.add_argument("--precision", nargs="+", choices=PRECISIONS[1:],
                        help="precisions of the project's step to time besides the default step (default: those "
                             "this device computes natively: float32, and bfloat16 where --precision auto takes it)")  # fmt: skip
    parser.add_argument("--xla", nargs="+", choices=("off", "on"), default=["off"],
                        help="XLA settings of those steps (default: off)")  # fmt: skip
    parser.add_argument("--data", help="faces for the pipeline figure (default: the bundled sample)")
    parser.add_argument("--fit-epoch", action="store_true",
                        help="also time whole epochs of fit on those faces, outputs and all, as a run trains them")  # fmt: skip
    parser.add_argument("--fit-batch-size", type=int, default=d.batch_size,
                        help=f"images per step of those epochs (default: {d.batch_size}, fit's)")  # fmt: skip
    return parser


@command
def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    for flag, value in (("--batch-size", args.batch_size), ("--fit-batch-size", args.fit_batch_size),
                        ("--width", args.width), ("--steps", args.steps), ("--repeats", args.repeats)):  # fmt: skip
        if value < 1:
            parser.error(f"{flag} must be a positive whole number, not {value}")
    config = TrainConfig(
        batch_size=args.batch_size, image_size=args.image_size, width=args.width, data=args.data or ""
    ).resolved()
    import_tensorflow()
    import tensorflow as tf

    from anime_dcgan.training import describe_cpu, describe_device, resolve_precision

    real_batch = tf.random.uniform((config.batch_size, config.image_size, config.image_size, 3), -1.0, 1.0)
    default_precision = resolve_precision(config.precision)
    default_xla = "on" if tf.config.list_physical_devices("GPU") else "off"  # what jit_compile "auto" does
    precisions = args.precision or list(dict.fromkeys([default_precision, "float32"]))  # native ones, unless asked
    settings = [(default_precision, default_xla)]
    settings += [(p, x) for p in precisions for x in args.xla if (p, x) != settings[0]]
    candidates = [Candidate(REFERENCE, config.batch_size, reference_step(config, real_batch))]
    for i, (precision, xla) in enumerate(settings):
        name = f"{'default' if i == 0 else 'project'} step ({precision}, XLA {xla})"
        candidates.append(Candidate(name, config.batch_size, project_step(config, real_batch, precision, xla == "on")))
    with tempfile.TemporaryDirectory(prefix="anime-dcgan-bench-") as scratch:  # fit epochs write a run here
        candidates.append(Candidate("input pipeline", config.batch_size, pipeline(config)))
        if args.fit_epoch:
            fit_config = dataclasses.replace(config, batch_size=args.fit_batch_size)
            candidates.append(fit_epochs(fit_config, Path(scratch)))

        print(f"Timing {args.repeats} turns of {args.steps} steps of {config.batch_size} images at {config.image_size} px, "
              f"width {config.width}, on {describe_device()}; {describe_cpu()}")  # fmt: skip
        rates = time_candidates(candidates, args.steps, args.repeats)
    reference = rates[REFERENCE]
    print(f"{'':44}{'images/s':>10}{'x reference':>13}")
    for name, rate in rates.items():
        print(f"{name:44}{rate:10.1f}{rate / reference:12.2f}x")
    default = rates[candidates[1].name]
    print(f"ratio={default / reference:.2f}")
    return 0


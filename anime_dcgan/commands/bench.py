"""Time training on this machine: `python -m anime_dcgan.bench` prints images/s and `ratio=` on its last line.

Measures one full training step (D and G updated) of the project's GAN at each precision, XLA setting and number of
steps per compiled call, and of other recipes given as fit's flags; a reference step timed beside them (the
TensorFlow DCGAN tutorial's: a plain tf.function with two GradientTapes and one generator forward shared by both
updates, float32, the same networks and batch); the input pipeline (plain and with --mirror's x-flips); and each
precision's and recipe's convolution bound: that step's convolution passes alone, each as often as the step runs it,
the fastest the step could run on this machine if it did nothing else; and a large matrix product in the default
step's precision, how fast this machine's kernels do arithmetic, against which the bound's convolutions are rated.
Candidates are timed in turns, each turn after a warm-up, and each figure is the median over the turns, so that a
busy, shared machine slows them alike. The last line is the images/s of the step `fit` takes by default (its
precision and XLA setting chosen for this machine) over the reference's.
"""

from __future__ import annotations

import argparse
import contextlib
import dataclasses
import io
import math
import shlex
import statistics
import subprocess
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path

from anime_dcgan.commands import UsageError, at_least, command, import_tensorflow, program_name
from anime_dcgan.config import IMAGE_SIZES, PRECISIONS, TrainConfig, overridden

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


def project_step(
    config: TrainConfig, real_batch, precision: str, jit_compile: bool, steps_per_execution: int = 1
) -> Callable[[int], None]:
    """The project's GAN.train_step as `fit` builds it from `config`, at `precision`, with or without XLA; each of
    `run(calls)` runs `steps_per_execution` steps in one compiled call, as `fit --steps-per-execution` does."""
    import tensorflow as tf

    from anime_dcgan import training

    gan = training.build_gan(dataclasses.replace(config, precision=precision))

    @tf.function(jit_compile=jit_compile)
    def call(images):
        logs = gan.train_step(images)
        if steps_per_execution > 1:  # a Python condition: the loop is in the graph only where asked for
            for _ in tf.range(steps_per_execution - 1):
                logs = gan.train_step(images)
        return logs

    def run(calls: int) -> None:
        for _ in range(calls):
            logs = call(real_batch)
        float(logs["d_loss"])

    return run


MATRIX = 2048  # the side of the square matrices whose product rates this machine's arithmetic
FORWARD, INPUT, KERNEL = "forward", "input gradient", "kernel gradient"
SECOND_KERNEL = "kernel gradient of an input gradient"  # a plain kernel gradient, in every layer


def convolutions(model) -> list:
    """`model`'s convolution and transposed-convolution layers, input to output (spectral norm's wrappers as
    themselves: their input and output shapes are the convolution's)."""
    import keras

    kinds = (keras.layers.Conv2D, keras.layers.Conv2DTranspose)
    return [layer for layer in model.layers if isinstance(getattr(layer, "layer", layer), kinds)]


def after_weights(tensor) -> bool:
    """Whether a functional model's symbolic `tensor` depends on a layer with trainable weights."""
    history = tensor._keras_history
    node = history.operation._inbound_nodes[history.node_index]
    return bool(history.operation.trainable_weights) or any(after_weights(each) for each in node.input_tensors)


def step_convolutions(gan) -> list[tuple[object, str, Fraction]]:
    """Every convolution pass of one `GAN.train_step`, as (layer, pass, times a step): each of D's `d_steps` updates
    runs D forward on a real and a fake batch and takes the kernel gradients of both, and their input gradients
    where weights lie below; G draws each update's fakes once; G's update runs D forward on its fakes (and on the
    real batch, for a loss that compares them) unless updates are simultaneous, takes D's input gradients down to
    the image, and G's own input and kernel gradients. A penalty on D's input gradients (R1, R2, WGAN-GP's) adds,
    on the updates it runs on, D's forward pass and input gradients down to the image, and their gradients: a
    forward-like pass and the kernel's gradient of each input gradient, and the forward pass's own gradients (zero,
    but computed)."""
    n = gan.d_steps
    penalties = n * sum((p.input_gradient_share for p in gan.gan_loss.penalties), Fraction(0))
    # Alternating updates run D again for G's update; simultaneous ones take G's loss from the last update's outputs.
    g_forwards = 0 if gan.updates == "simultaneous" else 1 + gan.gan_loss.generator_sees_real
    passes = []
    for layer in convolutions(gan.discriminator):
        below = after_weights(layer.input)
        forwards = 2 * n + g_forwards + 2 * penalties
        inputs = 2 * n * below + 1 + penalties * (1 + below)
        passes += [(layer, FORWARD, forwards), (layer, INPUT, inputs), (layer, KERNEL, 2 * n + penalties),
                   (layer, SECOND_KERNEL, penalties)]  # fmt: skip
    for layer in convolutions(gan.generator):
        passes += [(layer, FORWARD, n), (layer, INPUT, int(after_weights(layer.input))), (layer, KERNEL, 1)]
    return [(layer, kind, Fraction(times)) for layer, kind, times in passes if times]


def multiply_adds(layer, batch: int) -> int:
    """Multiply-adds of one pass of a convolution `layer` on `batch` maps (forward, input or kernel gradient alike:
    each pairs every kernel weight with every position of the smaller map; "same" padding's zeros counted)."""
    import keras

    inner = getattr(layer, "layer", layer)
    small = layer.input.shape if isinstance(inner, keras.layers.Conv2DTranspose) else layer.output.shape
    return batch * small[1] * small[2] * math.prod(inner.kernel.shape)


def step_flops(config: TrainConfig) -> int:
    """Floating-point operations of one step's convolution passes (`step_convolutions`), two to a multiply-add."""
    from anime_dcgan import training

    passes = step_convolutions(training.build_gan(config))
    return int(sum(2 * multiply_adds(layer, config.batch_size) * times for layer, _, times in passes))


def matrix_product(dtype: str) -> Candidate:
    """Products of two MATRIX x MATRIX matrices in `dtype`, one a step: how fast this machine's kernels can do
    arithmetic."""
    import tensorflow as tf

    matrix = tf.cast(tf.random.normal((MATRIX, MATRIX)), dtype)
    product = tf.function(lambda: tf.cast(tf.matmul(matrix, matrix)[0, 0], "float32"))

    def run(steps: int) -> None:
        for _ in range(steps):
            result = product()
        float(result)

    return Candidate(f"{MATRIX}x{MATRIX} matrix product ({dtype})", 1, run)


def convolution_pass(layer, kind: str, batch: int, dtype: str):
    """One pass of `layer`'s convolution on a batch of random maps in `dtype`, as a traced function of no arguments
    that returns one element of its result (so that it runs whole and nothing else is timed with it). The
    small-map layers' kernel gradient is their matrix product on a CPU, as they train."""
    import keras
    import tensorflow as tf

    from anime_dcgan import cpu_layers

    inner = getattr(layer, "layer", layer)
    transposed = isinstance(inner, keras.layers.Conv2DTranspose)
    large, small = (layer.output.shape, layer.input.shape) if transposed else (layer.input.shape, layer.output.shape)
    large, small = (batch, *large[1:]), (batch, *small[1:])
    kernel = tf.cast(tf.random.normal(inner.kernel.shape), dtype)  # (k, k, large's channels, small's)
    stride, padding, size = inner.strides[0], inner.padding.upper(), inner.kernel_size[0]
    large_maps, small_maps = (tf.cast(tf.random.normal(shape), dtype) for shape in (large, small))
    small_map = isinstance(inner, (cpu_layers.SmallMapConv2D, cpu_layers.SmallMapConv2DTranspose))

    def convolve():  # large -> small: a convolution's forward pass, a transposed one's input gradient
        return tf.nn.conv2d(large_maps, kernel, stride, padding)

    def transpose():  # small -> large
        return tf.nn.conv2d_transpose(small_maps, kernel, large, stride, padding)

    def kernel_gradient():
        if small_map and not cpu_layers.on_accelerator():
            return cpu_layers.kernel_gradient(large_maps, small_maps, size, stride)
        return plain_kernel_gradient()

    def plain_kernel_gradient():
        return tf.raw_ops.Conv2DBackpropFilter(input=large_maps, filter_sizes=kernel.shape, out_backprop=small_maps,
                                               strides=[1, stride, stride, 1], padding=padding)  # fmt: skip

    passes = {FORWARD: transpose if transposed else convolve, INPUT: convolve if transposed else transpose,
              KERNEL: kernel_gradient, SECOND_KERNEL: plain_kernel_gradient}  # fmt: skip
    return tf.function(lambda: tf.cast(tf.reshape(passes[kind](), [-1])[0], "float32"))


def compute_dtype(precision: str) -> str:
    """The dtype a `--precision` computes in on this machine ("auto" resolved)."""
    import keras

    from anime_dcgan import training

    return keras.mixed_precision.Policy(training.resolve_precision(precision)).compute_dtype


def bound_passes(config: TrainConfig, precision: str) -> list[tuple[object, str, Fraction, Callable]]:
    """`step_convolutions` of the project's step at `precision`, each with its traced `convolution_pass`."""
    from anime_dcgan import training

    gan = training.build_gan(dataclasses.replace(config, precision=precision))
    dtype = compute_dtype(precision)
    return [(layer, kind, times, convolution_pass(layer, kind, config.batch_size, dtype))
            for layer, kind, times in step_convolutions(gan)]  # fmt: skip


def convolution_bound(config: TrainConfig, precision: str) -> Callable[[int], None]:
    """Only the convolutions of the project's step at `precision`, each pass as often as the step runs it: the
    fastest that step could run on this machine if it did nothing else."""
    passes = [(convolution, times) for *_, times, convolution in bound_passes(config, precision)]
    done = 0  # steps run so far: a pass made every k-th step (a lazy penalty's) runs on every k-th of them

    def run(steps: int) -> None:
        nonlocal done
        for step in range(done, done + steps):
            for convolution, times in passes:
                for _ in range(math.floor((step + 1) * times) - math.floor(step * times)):
                    result = convolution()
        done += steps
        float(result)

    return run


def pipelines(config: TrainConfig) -> list[Candidate]:
    """The input pipeline on `config`'s data as `fit` reads it (decoded once, then gathered), plain and with
    `--mirror`'s x-flips."""
    from anime_dcgan import data

    images, folder = data.load_images(config.data_folder, config.image_size)
    data.check_enough(folder, config.batch_size)

    def batches(mirror: bool) -> Callable[[int], None]:
        stream = iter(data.training_stream(images, config.batch_size, seed=0, mirror=mirror))

        def run(steps: int) -> None:
            for _ in range(steps):
                next(stream)

        return run

    return [Candidate("input pipeline", config.batch_size, batches(mirror=False)),
            Candidate("input pipeline, x-flips (--mirror)", config.batch_size, batches(mirror=True))]  # fmt: skip


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


PEER_SCRIPT = Path(__file__).resolve().parents[2] / "experiments" / "pytorch_dcgan.py"


def peer_step(python: str, batch_size: int, channels_last: bool, stack: contextlib.ExitStack) -> Candidate:
    """PyTorch's DCGAN step (`experiments/pytorch_dcgan.py serve`, 64 px, width 64, float32) run by `python`, a
    Python with PyTorch, in a process of its own that steps when asked, so that it takes turns with the others;
    `stack` ends the process."""
    if not PEER_SCRIPT.is_file():
        raise UsageError(f"--peer-python runs {PEER_SCRIPT.relative_to(PEER_SCRIPT.parents[1])}, which is not here: "
                         "run bench from a checkout of the repository")  # fmt: skip
    command = [python, str(PEER_SCRIPT), "serve", "--batch-size", str(batch_size)]
    try:
        process = subprocess.Popen(command + ["--channels-last"] * channels_last, stdin=subprocess.PIPE,
                                   stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)  # fmt: skip
    except OSError as error:
        raise UsageError(f"--peer-python {python}: {error.strerror}: name a Python that has PyTorch") from None
    stack.callback(process.wait)
    stack.callback(process.stdin.close)  # the peer ends with its input
    ready = process.stdout.readline()
    if not ready.startswith("ready"):
        reason = (process.stderr.read().strip().splitlines() or ["it exited"])[-1]
        raise UsageError(f"--peer-python {python} could not run PyTorch's DCGAN ({reason}): name a Python that has "
                         "PyTorch, e.g. the FID tool's /tmp/fidenv/bin/python")  # fmt: skip

    def run(steps: int) -> None:
        process.stdin.write(f"{steps}\n")
        process.stdin.flush()
        if process.stdout.readline().strip() != "done":
            raise UsageError(f"PyTorch's DCGAN stopped: {process.stderr.read().strip()[-300:]}")

    layout = "channels-last" if channels_last else "NCHW"
    return Candidate(f"PyTorch DCGAN step (float32, {layout})", batch_size, run)


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
    parser.add_argument("--steps-per-execution", nargs="+", type=at_least(1), default=[1], metavar="N",
                        help="steps per compiled call of those steps, as fit's flag of that name (default: 1); a "
                             "turn is then --steps calls")  # fmt: skip
    parser.add_argument("--recipe", action="append", default=[], metavar="FLAGS",
                        help="fit's flags of another recipe whose step (and its convolution bound) to time beside "
                             "the default step, at the default's precision and XLA setting, e.g. --recipe='--loss relativistic --gamma 0.1'; the "
                             "batch, image size and width are the bench's unless the flags set them; repeatable")  # fmt: skip
    parser.add_argument("--data", help="faces for the pipeline figure (default: the bundled sample)")
    parser.add_argument("--fit-epoch", action="store_true",
                        help="also time whole epochs of fit on those faces, outputs and all, as a run trains them")  # fmt: skip
    parser.add_argument("--fit-batch-size", type=int, default=d.batch_size,
                        help=f"images per step of those epochs (default: {d.batch_size}, fit's)")  # fmt: skip
    parser.add_argument("--peer-python", metavar="PYTHON",
                        help="a Python with PyTorch (never a dependency: e.g. the FID tool's /tmp/fidenv/bin/python) "
                             "to time PyTorch's DCGAN step, experiments/pytorch_dcgan.py, in the same turns, NCHW "
                             "and channels-last; 64 px, width 64 only")  # fmt: skip
    return parser


def recipe_config(config: TrainConfig, flags: str) -> TrainConfig:
    """`config` with `fit`'s `flags` on top; raises UsageError with fit's complaint about flags it refuses."""
    from anime_dcgan.commands import fit

    complaint = io.StringIO()
    try:
        with contextlib.redirect_stderr(complaint):
            given = vars(fit.build_parser().parse_args(shlex.split(flags)))
    except SystemExit:
        reason = complaint.getvalue().strip().splitlines()[-1].split("error: ", 1)[-1]
        raise UsageError(f"--recipe {flags!r}: {reason}") from None
    options = {field.name for field in dataclasses.fields(TrainConfig)}
    return overridden(config, {name: value for name, value in fit.with_preset(given).items() if name in options})


def step_settings(
    default: tuple[str, str, int], precisions: list[str], xla: list[str], steps_per_execution: list[int]
) -> list[tuple[str, str, int]]:
    """(precision, XLA, steps a call) of the default step, then of every other combination asked for."""
    others = [(p, x, n) for p in precisions for x in xla for n in steps_per_execution]
    return [default] + [setting for setting in others if setting != default]


def step_names(settings: list[tuple[str, str, int]]) -> list[str]:
    """The table's name of each of `settings`' steps, the first the default."""
    names = []
    for i, (precision, xla, steps) in enumerate(settings):
        per_call = f", {steps} a call" if steps > 1 else ""
        names.append(f"{'default' if i == 0 else 'project'} step ({precision}, XLA {xla}{per_call})")
    return names


def step_candidates(
    config: TrainConfig,
    precisions: list[str] | None,
    xla: list[str],
    steps_per_execution: list[int],
    recipes: dict[str, TrainConfig],
) -> tuple[list[Candidate], str]:
    """The reference step, the default step, the project's step at the other `precisions` (the native ones if None),
    `xla` and `steps_per_execution` settings, the step of each of `recipes` (by their flags) with the default's
    settings, and the convolution bound of each precision and recipe; and the default's precision."""
    import_tensorflow()
    import tensorflow as tf

    tf.get_logger().setLevel("ERROR")  # no retracing warnings: it traces a function for every convolution pass

    from anime_dcgan.training import resolve_precision

    def random_faces(config):
        return tf.random.uniform((config.batch_size, config.image_size, config.image_size, 3), -1.0, 1.0)

    real_batch = random_faces(config)
    default_precision = resolve_precision(config.precision)
    default_xla = "on" if tf.config.list_physical_devices("GPU") else "off"  # what jit_compile "auto" does
    precisions = precisions or list(dict.fromkeys([default_precision, "float32"]))  # native ones, unless asked
    default = (default_precision, default_xla, config.steps_per_execution)
    settings = step_settings(default, precisions, xla, steps_per_execution)
    candidates = [Candidate(REFERENCE, config.batch_size, reference_step(config, real_batch))]
    for (precision, on_or_off, steps), name in zip(settings, step_names(settings)):
        step = project_step(config, real_batch, precision, on_or_off == "on", steps)
        candidates.append(Candidate(name, config.batch_size * steps, step))
    precision, on_or_off, steps = default
    for flags, recipe in recipes.items():
        step = project_step(recipe, random_faces(recipe), precision, on_or_off == "on", steps)
        candidates.append(Candidate(f"recipe step ({flags})", recipe.batch_size * steps, step))
    for precision in dict.fromkeys(precision for precision, _, _ in settings):
        bound = convolution_bound(config, precision)
        candidates.append(Candidate(f"convolution bound ({precision})", config.batch_size, bound))
    for flags, recipe in recipes.items():
        bound = convolution_bound(recipe, default_precision)
        candidates.append(Candidate(f"convolution bound ({flags})", recipe.batch_size, bound))
    return candidates, default_precision


@command
def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    for flag, value in (("--batch-size", args.batch_size), ("--fit-batch-size", args.fit_batch_size),
                        ("--width", args.width), ("--steps", args.steps), ("--repeats", args.repeats)):  # fmt: skip
        if value < 1:
            parser.error(f"{flag} must be a positive whole number, not {value}")
    if args.peer_python and (args.image_size, args.width) != (64, 64):
        parser.error("--peer-python times PyTorch's recipe at 64 px, width 64: leave --image-size and --width at 64")
    config = TrainConfig(
        batch_size=args.batch_size, image_size=args.image_size, width=args.width, data=args.data or ""
    ).resolved()
    recipes = {flags: recipe_config(config, flags) for flags in args.recipe}
    with tempfile.TemporaryDirectory(prefix="anime-dcgan-bench-") as scratch, contextlib.ExitStack() as peers:
        # The peers first: a Python that cannot run them is an error before anything is built.
        layouts = (False, True) if args.peer_python else ()
        peer_candidates = [peer_step(args.peer_python, config.batch_size, layout, peers) for layout in layouts]
        candidates, default_precision = step_candidates(
            config, args.precision, args.xla, args.steps_per_execution, recipes
        )
        candidates += peer_candidates
        candidates += pipelines(config)
        dtype = compute_dtype(default_precision)
        product = matrix_product(dtype)
        candidates.append(product)
        if args.fit_epoch:
            fit_config = dataclasses.replace(config, batch_size=args.fit_batch_size)
            candidates.append(fit_epochs(fit_config, Path(scratch)))

        from anime_dcgan.training import describe_cpu, describe_device

        print(f"Timing {args.repeats} turns of {args.steps} steps of {config.batch_size} images at {config.image_size} px, "
              f"width {config.width}, on {describe_device()}; {describe_cpu()}")  # fmt: skip
        rates = time_candidates(candidates, args.steps, args.repeats)
    arithmetic = rates.pop(product.name) * 2 * MATRIX**3  # the matrix product's FLOP/s
    reference = rates[REFERENCE]
    names = max(44, *(len(name) + 2 for name in rates))
    print(f"{'':{names}}{'images/s':>10}{'x reference':>13}")
    for name, rate in rates.items():
        print(f"{name:{names}}{rate:10.1f}{rate / reference:12.2f}x")
    default = rates[candidates[1].name]
    bound = rates[f"convolution bound ({default_precision})"]
    flops = step_flops(dataclasses.replace(config, precision=default_precision))
    at_bound = flops * bound / config.batch_size
    print(f"At its bound the default step's convolutions ({flops / 1e9:.2f} GFLOP) run at {at_bound / 1e9:.0f} "
          f"GFLOP/s, {at_bound / arithmetic:.0%} of a {MATRIX}x{MATRIX} {dtype} matrix product's "
          f"{arithmetic / 1e9:.0f} GFLOP/s.")
    print(f"The default step runs at {default / bound:.0%} of its convolution bound.")
    print(f"ratio={default / reference:.2f}")
    return 0


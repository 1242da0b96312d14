"""Training a GAN from its options: the networks and optimizers they name, and a run as named stages (`Run`)."""

from __future__ import annotations

import contextlib
import dataclasses
import os
import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path

import keras
import tensorflow as tf

from anime_dcgan.errors import UserError
from anime_dcgan import augment, callbacks, checkpoints, data, distribute, losses, metrics, models, outputs, resnets
from anime_dcgan.averaging import WeightAverage
from anime_dcgan.config import CONFIG_FILE, ConfigError, TrainConfig
from anime_dcgan.gan import GAN
from anime_dcgan.lock import run_lock
from anime_dcgan.sampling import latent_noise

SAMPLE_COUNT = 64  # faces in each epoch's grid: 8 x 8


def build_optimizer(config: TrainConfig, learning_rate: float) -> keras.optimizers.Optimizer:
    if config.optimizer == "adam":
        return keras.optimizers.Adam(learning_rate, beta_1=config.beta1, beta_2=config.beta2)
    if config.optimizer == "rmsprop":
        return keras.optimizers.RMSprop(learning_rate, momentum=config.momentum)
    return keras.optimizers.SGD(learning_rate, momentum=config.momentum)


def resolve_precision(precision: str) -> str:
    """The Keras dtype policy for `precision`; "auto" picks by device: bfloat16 on TPUs, on CUDA GPUs of compute
    capability 8.0 and up and on CPUs with AVX512_BF16 or AMX; float16 (loss-scaled) on 7.x GPUs; else float32."""
    if precision != "auto":
        return precision
    if tf.config.list_logical_devices("TPU"):
        return "mixed_bfloat16"
    gpus = tf.config.list_physical_devices("GPU")
    if gpus:
        major, _ = tf.config.experimental.get_device_details(gpus[0]).get("compute_capability", (0, 0))
        return "mixed_bfloat16" if major >= 8 else "mixed_float16" if major == 7 else "float32"
    return "mixed_bfloat16" if cpu_has_bfloat16() else "float32"


# The /proc/cpuinfo flags that decide how fast a CPU trains: vector width and native bfloat16.
SPEED_FLAGS = ("fma", "avx2", "avx512f", "avx512_bf16", "amx_bf16")


def cpu_flags() -> set[str]:
    """This CPU's feature flags, from /proc/cpuinfo (Linux; none elsewhere)."""
    try:
        text = Path("/proc/cpuinfo").read_text()
    except OSError:
        return set()
    return {flag for line in text.splitlines() if line.startswith("flags") for flag in line.split(":", 1)[1].split()}


# oneDNN's instruction sets below AVX512_CORE_BF16, for ONEDNN_MAX_CPU_ISA (and its older name DNNL_MAX_CPU_ISA).
ISAS_WITHOUT_BFLOAT16 = ("SSE41", "AVX", "AVX2", "AVX2_VNNI", "AVX512_CORE", "AVX512_CORE_VNNI")


def cpu_has_bfloat16() -> bool:
    """Whether this CPU computes in bfloat16 natively (AVX512_BF16 or AMX), unless ONEDNN_MAX_CPU_ISA keeps oneDNN,
    which runs the convolutions, to an instruction set without it (as on most laptops: AVX2)."""
    cap = os.environ.get("ONEDNN_MAX_CPU_ISA") or os.environ.get("DNNL_MAX_CPU_ISA") or ""
    return bool(cpu_flags() & {"avx512_bf16", "amx_bf16"}) and cap.upper() not in ISAS_WITHOUT_BFLOAT16


def describe_cpu() -> str:
    """The CPU and the features that decide its speed: "Intel(R) Xeon(R) Processor: fma avx2 avx512f avx512_bf16"."""
    try:
        names = [line.split(":", 1)[1].strip() for line in Path("/proc/cpuinfo").read_text().splitlines()
                 if line.startswith("model name")]  # fmt: skip
    except OSError:
        names = []
    features = [flag for flag in SPEED_FLAGS if flag in cpu_flags()]
    return f"{names[0] if names else 'CPU'}: {' '.join(features) or 'none of ' + ', '.join(SPEED_FLAGS)}"


def build_gan(config: TrainConfig) -> GAN:
    """Generator, discriminator, optimizers, loss and update schedule, as the (resolved) options say; the networks
    in `config.precision` (their outputs, the losses and the images stay float32)."""
    policy = resolve_precision(config.precision)
    previous = keras.mixed_precision.dtype_policy()
    keras.mixed_precision.set_dtype_policy(policy)
    try:
        return _build_gan(config, loss_scaling=policy == "mixed_float16")
    finally:
        keras.mixed_precision.set_dtype_policy(previous)


def _build_gan(config: TrainConfig, loss_scaling: bool) -> GAN:
    scaled = keras.optimizers.LossScaleOptimizer if loss_scaling else (lambda optimizer: optimizer)
    loss = losses.build(config)
    if config.architecture == "resnet":
        generator = resnets.build_generator(config.latent_dim, config.image_size, config.width)
        build_discriminator = resnets.build_discriminator
    else:
        generator = models.build_generator(
            config.latent_dim, config.image_size, config.width, config.g_activation, config.upsample
        )
        build_discriminator = models.build_discriminator
    discriminator = build_discriminator(
        config.image_size,
        config.width,
        normalization=discriminator_normalization(loss, config),
        dropout=config.dropout,
        clip=loss.clip,
        spectral_norm=config.spectral_norm,
        minibatch_std=config.minibatch_std,
    )
    gan = GAN(
        generator,
        discriminator,
        augment=augment.from_options(config),
        ema=WeightAverage(generator, config.ema) if config.ema is not None else None,
        seed=config.seed,
    )
    gan.compile(
        d_optimizer=scaled(build_optimizer(config, config.d_learning_rate)),
        g_optimizer=scaled(build_optimizer(config, config.g_learning_rate)),
        loss=loss,
        d_steps=config.d_steps,
        d_threshold=config.d_threshold,
        g_threshold=config.g_threshold,
        updates=config.updates,
        jit_compile={"on": True, "off": False}.get(config.jit_compile, "auto"),
        steps_per_execution=config.steps_per_execution,
    )
    return gan


def fixed_noise(config: TrainConfig) -> tf.Variable:
    """The noise of every epoch's grid: the first faces `generate` draws for the run's seed (a checkpoint restores
    it, so a resumed run keeps the noise it started with)."""
    return tf.Variable(latent_noise(SAMPLE_COUNT, config.latent_dim, config.seed), trainable=False)


def restore_learning_rates(gan: GAN, config: TrainConfig) -> None:
    """Set both optimizers' learning rates from `config`, over whatever a restored checkpoint put back.

    The other optimizer settings (betas, momentum) are not checkpointed and come from `config` already.
    """
    gan.d_optimizer.learning_rate = config.d_learning_rate
    gan.g_optimizer.learning_rate = config.g_learning_rate


def print_changes(before: TrainConfig, after: TrainConfig) -> None:
    """One line naming each option a resumed run now runs with differently, if any."""
    changed = [
        f"--{name.replace('_', '-')} {getattr(before, name)} -> {getattr(after, name)}"
        for name in before.__dataclass_fields__
        if name not in ("out", "epochs") and getattr(before, name) != getattr(after, name)
    ]
    if changed:
        print("Changed on resume: " + ", ".join(changed))


def discriminator_normalization(loss: losses.GANLoss, config: TrainConfig) -> str:
    """The loss's normalisation (BatchNorm, or LayerNorm under WGAN-GP's per-sample penalty); none in place of
    BatchNorm under spectral norm or in the residual discriminator."""
    normalization = loss.critic_normalization
    plain = config.spectral_norm or config.architecture == "resnet"
    return "none" if plain and normalization == "batch" else normalization


def describe_device() -> str:
    """What trains, in words: "8 TPU cores", "1 x NVIDIA A100-SXM4-40GB", or "CPU (2 cores, no GPU found)"."""
    tpus = tf.config.list_logical_devices("TPU")
    if tpus:
        return f"{len(tpus)} TPU cores"
    gpus = tf.config.list_physical_devices("GPU")
    if gpus:
        name = tf.config.experimental.get_device_details(gpus[0]).get("device_name", "GPU")
        return f"{len(gpus)} x {name}"
    return f"CPU ({os.cpu_count()} cores, no GPU found)"


def train(
    config: TrainConfig, verbose: str | int = "auto", inception_weights: str | None = None
) -> keras.callbacks.History | None:
    """Train (or resume) the run in config.out, writing its outputs there every epoch, on the devices of
    config.strategy; `inception_weights` is the FID network's weights file for --eval-every (default:
    $ANIME_DCGAN_INCEPTION, else a download)."""
    strategy = distribute.make_strategy(config.strategy)  # first: a TPU must start before anything else
    check_divisible(config, strategy.num_replicas_in_sync)
    with folder_to_write(Path(config.out), strategy) as run_dir:
        run = Run(dataclasses.replace(config, out=str(run_dir)), strategy, verbose, inception_weights)
        return run.train()


def check_divisible(config: TrainConfig, replicas: int) -> None:
    """Refuse a batch that the strategy's replicas cannot share equally."""
    if config.batch_size % replicas:
        raise ConfigError(
            f"--batch-size {config.batch_size} does not split over the {replicas} replicas of --strategy "
            f"{config.strategy}: pass a multiple of {replicas}"
        )


@contextlib.contextmanager
def folder_to_write(run_dir: Path, strategy: tf.distribute.Strategy) -> Iterator[Path]:
    """Where this process writes the run: `run_dir`, except on the workers of a multi-worker run other than the
    chief. They take part in every checkpoint (reading the replicas' state is collective) but write into a private
    copy of the run's checkpoints and history, deleted at the end, so that only the chief writes `run_dir`."""
    if distribute.is_chief(strategy):
        yield run_dir
        return
    with tempfile.TemporaryDirectory(prefix="anime-dcgan-worker-") as private:
        for name in ("checkpoints", "history.csv", CONFIG_FILE):
            if (run_dir / name).is_dir():
                shutil.copytree(run_dir / name, Path(private) / name)
            elif (run_dir / name).exists():
                shutil.copy2(run_dir / name, Path(private) / name)
        print(f"Worker {strategy.cluster_resolver.task_id}: training with the chief, which writes {run_dir}")
        yield Path(private)


class Run:
    """One training run in `config.out`, as the stages `train` takes in order: `load_data` (the faces, and those held
    out), `build_networks` (the GAN and the grids' noise, on the strategy's devices), `restore` (the newest
    checkpoint, if any), `make_callbacks` (what every epoch writes) and `fit`. bench and the notebooks take the
    stages they need. The options are resolved once, here ("auto" precision becomes the one this device computes
    in, which config.json then records so the run resumes in it anywhere), and not changed afterwards."""

    def __init__(
        self,
        config: TrainConfig,
        strategy: tf.distribute.Strategy | None = None,
        verbose: str | int = "auto",
        inception_weights: str | None = None,
    ):
        self.config = dataclasses.replace(config, precision=resolve_precision(config.precision))
        self.strategy = strategy or tf.distribute.get_strategy()
        self.verbose = verbose
        self.inception_weights = inception_weights
        self.run_dir = Path(self.config.out)
        self.images_per_step = self.config.batch_size * self.config.d_steps  # a real batch per D update
        self.epoch, self.step = 0, 0  # where training goes on from: epochs finished, steps done in the next

    def train(self) -> keras.callbacks.History | None:
        """Every stage in order; None if the run has already trained `config.epochs` epochs."""
        self.load_data()
        self.build_networks()
        self.restore()
        if self.epoch >= self.config.epochs:
            print(f"{self.run_dir} has already trained {self.epoch} epochs: pass --epochs above {self.epoch} to go on")
            return None
        callbacks = self.make_callbacks()  # before the run folder is touched: FID weights can be missing
        self.announce()
        history = self.fit(callbacks)
        best = f" and best.keras (FID {self.evaluation.best_fid:.1f})" if self.evaluation else ""
        print(f"Done: {self.run_dir}/samples, progress.gif, history.csv, losses.png, generator.keras{best}")
        return history

    def load_data(self) -> None:
        """The training faces in memory (`images`), the held-out ones' files and the steps of an epoch."""
        config = self.config
        files = data.find_image_files(config.data_folder)
        files, self.held_out = data.split_holdout(files, config.holdout) if config.holdout else (files, [])
        self.images, folder = data.load_images(config.data_folder, config.image_size, files)
        data.check_enough(folder, self.images_per_step)
        self.steps_per_epoch = folder.images // self.images_per_step
        held = f"; {len(self.held_out)} more held out for evaluation" if self.held_out else ""
        print(f"Found {folder.describe()}{held}")
        print(
            f"{self.steps_per_epoch} steps per epoch of {self.images_per_step} images at {config.image_size} px, "
            f"loss {config.loss}, {config.optimizer}, {config.precision}, on {describe_device()}"
            + "".join(f", {words}" for words in [distribute.describe(self.strategy)] if words)
        )

    def build_networks(self) -> None:
        """The GAN (`gan`), seeded, built on the strategy's devices, and the grids' fixed noise (`noise`)."""
        keras.utils.set_random_seed(self.config.seed)
        if self.config.deterministic:
            tf.config.experimental.enable_op_determinism()  # for the rest of this process
        with self.strategy.scope():
            self.gan = build_gan(self.config)
        self.noise = fixed_noise(self.config)

    def restore(self) -> None:
        """The newest readable checkpoint into the GAN and the noise, if there is one (`epoch`, `step`), with the
        learning rates config.json gives over the checkpoint's."""
        self.checkpoint = checkpoints.TrainingCheckpoint(
            self.run_dir / "checkpoints", self.gan, self.noise, self.run_dir / "generator.keras"
        )
        self.epoch, self.step = self.checkpoint.restore()
        restore_learning_rates(self.gan, self.config)

    def make_callbacks(self) -> list[keras.callbacks.Callback]:
        """What a run does besides training, in order: learning rates, guard, statistics, outputs, the checkpoint
        (so that everything else is on disk before an epoch counts as done) and the mid-epoch checkpoint."""
        config, run_dir = self.config, self.run_dir
        self.evaluation = quality_evaluation(config, self.held_out, run_dir, self.inception_weights)
        # Several workers must checkpoint together: only at epoch ends, not on one process's clock or signal.
        seconds = 0 if distribute.is_multi_worker(self.strategy) else config.checkpoint_every * 60
        self.preemption = checkpoints.PreemptionCheckpoint(self.checkpoint, self.steps_per_epoch, seconds, self.step)
        samples_dir = run_dir / "samples"
        return [
            *([callbacks.LearningRateDecay(config.d_learning_rate, config.g_learning_rate, config.epochs,
                                           config.decay_epochs)] if config.decay_epochs else []),  # fmt: skip
            callbacks.NonFiniteGuard(config.on_nonfinite == "stop", nonfinite_hint(config, run_dir)),
            *([callbacks.StandingStatistics(config.batch_size)] if config.ema is not None else []),
            outputs.SampleGrid(samples_dir, self.noise),
            outputs.ProgressGif(samples_dir, run_dir / "progress.gif"),
            *([self.evaluation] if self.evaluation else []),
            outputs.HistoryLog(run_dir / "history.csv", run_dir / "losses.png", self.epoch),
            keras.callbacks.TensorBoard(log_dir=str(run_dir / "logs"), write_graph=False),
            self.checkpoint,
            self.preemption,
        ]

    def announce(self) -> None:
        """Where the run starts, and which options a resumed run now runs with differently."""
        if self.step:
            print(f"Resuming {self.run_dir} at step {self.step} of {self.steps_per_epoch} in epoch {self.epoch + 1}")
        elif self.epoch:
            print(f"Resuming {self.run_dir} after epoch {self.epoch}")
        else:
            print(f"Writing the run to {self.run_dir}")
        if (self.run_dir / CONFIG_FILE).exists():
            print_changes(TrainConfig.load(self.run_dir / CONFIG_FILE).resolved(), self.config)

    def fit(self, callbacks: list[keras.callbacks.Callback]) -> keras.callbacks.History | None:
        """Train to `config.epochs` under the run folder's lock, SIGINT and SIGTERM stopping after a checkpointed
        step; a folder that stops being writable is an OutputError that says how to resume."""
        check_writable(self.run_dir)
        together = distribute.is_multi_worker(self.strategy)
        signals = contextlib.nullcontext() if together else self.preemption.catching_signals()
        with run_lock(self.run_dir), signals:  # one writer per run folder; signals stop after a step
            try:
                self.config.save(self.run_dir / CONFIG_FILE)
                return self.fit_epochs(self.config.epochs, callbacks)
            except OSError as error:  # a full disk, or a folder that stopped being writable, mid-run
                raise OutputError(
                    f"could not write {error.filename or self.run_dir} ({error.strerror or error}): free some space or "
                    "fix the folder, then run the same command to resume; the last finished epoch's files are intact"
                ) from None

    def fit_epochs(self, until: int, callbacks: list[keras.callbacks.Callback]) -> keras.callbacks.History | None:
        """Train from where the run is to epoch `until`: the rest of a part-done epoch first, on its own."""
        # Keras averages a first batch over the replicas to build the model, a collective that takes no uint8 pixels.
        scaled = self.strategy.num_replicas_in_sync > 1 or distribute.is_multi_worker(self.strategy)
        history = None
        while self.epoch < until:
            end = self.epoch + 1 if self.step else until
            stream = data.training_stream(self.images, self.images_per_step, self.config.seed, self.epoch, self.step,
                                          scaled=scaled, mirror=self.config.mirror)  # fmt: skip
            history = self.gan.fit(
                stream,
                epochs=end,
                initial_epoch=self.epoch,
                steps_per_epoch=self.steps_per_epoch - self.step,
                shuffle=False,  # the stream shuffles itself
                verbose=self.verbose,
                callbacks=callbacks,
            )
            self.epoch, self.step = end, 0
        return history


class OutputError(UserError, RuntimeError):
    """The run folder cannot be written; the message says what to do."""


def check_writable(run_dir: Path) -> None:
    """Create `run_dir` and write a file in it, or raise OutputError before any training happens."""
    probe = run_dir / ".write-test"
    try:
        run_dir.mkdir(parents=True, exist_ok=True)
        probe.write_bytes(b"")
        probe.unlink()
    except OSError as error:
        raise OutputError(
            f"cannot write the run folder {run_dir} ({error.strerror or error}): pass an --out you can write to"
        ) from None


def nonfinite_hint(config: TrainConfig, run_dir: Path) -> str:
    """What to try after a NaN/Inf, for NonFiniteGuard's message."""
    return (
        f"The learning rate ({config.d_learning_rate:g} for D, {config.g_learning_rate:g} for G) may be too high for "
        f"--loss {config.loss} with {config.optimizer}: resume the last good checkpoint with a lower --lr "
        f"(python -m anime_dcgan.fit --out {run_dir} --lr ...), or pass --on-nonfinite skip to drop such updates "
        "and go on."
    )


def quality_evaluation(
    config: TrainConfig, held_out: list[Path], run_dir: Path, inception_weights: str | None
) -> outputs.QualityEvaluation | None:
    """The FID/KID callback that --eval-every asks for, with the real faces' features ready (cached per folder)."""
    if not config.eval_every:
        return None
    inception = metrics.load_inception(inception_weights)
    print(f"Measuring FID and KID of {config.eval_n} faces every {config.eval_every} epochs against "
          f"{config.eval_data or f'the {len(held_out)} held-out faces'}")  # fmt: skip
    real_features = metrics.folder_features(
        inception, config.eval_data or config.data_folder, config.image_size, files=None if config.eval_data else held_out
    )
    earlier = outputs.read_history(run_dir / "history.csv")
    return outputs.QualityEvaluation(
        inception, real_features, config.eval_every, config.eval_n, run_dir / "best.keras", outputs.best_fid(earlier)
    )

"""Training a GAN from its options: the networks, optimizers and callbacks a run needs, and the run itself."""

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

from anime_dcgan import callbacks, data, distribute, losses, metrics, models
from anime_dcgan.augment import DiffAugment
from anime_dcgan.averaging import WeightAverage
from anime_dcgan.config import CONFIG_FILE, ConfigError, TrainConfig
from anime_dcgan.gan import GAN
from anime_dcgan.lock import run_lock

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


def cpu_has_bfloat16() -> bool:
    """Whether this CPU computes in bfloat16 natively (AVX512_BF16 or AMX), from /proc/cpuinfo (Linux)."""
    try:
        flags = Path("/proc/cpuinfo").read_text()
    except OSError:
        return False
    return any(flag in flags.split() for flag in ("avx512_bf16", "amx_bf16"))


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
    generator = models.build_generator(
        config.latent_dim, config.image_size, config.width, config.g_activation, config.upsample
    )
    discriminator = models.build_discriminator(
        config.image_size,
        config.width,
        normalization=discriminator_normalization(loss, config.spectral_norm),
        dropout=config.dropout,
        clip=loss.clip,
        spectral_norm=config.spectral_norm,
    )
    gan = GAN(
        generator,
        discriminator,
        augment=DiffAugment(config.augment),
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
        jit_compile={"on": True, "off": False}.get(config.jit_compile, "auto"),
        steps_per_execution=config.steps_per_execution,
    )
    return gan


def fixed_noise(config: TrainConfig) -> tf.Variable:
    """The noise of every epoch's grid, drawn from the run's seed (a checkpoint restores it, so it never changes)."""
    return tf.Variable(keras.random.normal((SAMPLE_COUNT, config.latent_dim), seed=config.seed), trainable=False)


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


def discriminator_normalization(loss: losses.GANLoss, spectral_norm: bool) -> str:
    """The loss's normalisation (BatchNorm, or LayerNorm under WGAN-GP's per-sample penalty), none under spectral norm
    unless the loss needs its own."""
    normalization = loss.critic_normalization
    return "none" if spectral_norm and normalization == "batch" else normalization


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
    config.strategy.

    `inception_weights` is the FID network's weights file for --eval-every (default: $ANIME_DCGAN_INCEPTION, else a
    download).
    """
    strategy = distribute.make_strategy(config.strategy)  # first: a TPU must start before anything else
    check_divisible(config, strategy.num_replicas_in_sync)
    with folder_to_write(Path(config.out), strategy) as run_dir:
        return _train(dataclasses.replace(config, out=str(run_dir)), strategy, verbose, inception_weights)


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


def _train(
    config: TrainConfig, strategy: tf.distribute.Strategy, verbose: str | int, inception_weights: str | None
) -> keras.callbacks.History | None:
    # A new run records the precision "auto" picked here, so that it resumes in the same one anywhere.
    config = dataclasses.replace(config, precision=resolve_precision(config.precision))
    images_per_step = config.batch_size * config.d_steps  # one real batch for each discriminator update
    run_dir = Path(config.out)
    files = data.find_image_files(config.data_folder)
    files, held_out = data.split_holdout(files, config.holdout) if config.holdout else (files, [])
    images, folder = data.load_images(config.data_folder, config.image_size, files)
    data.check_enough(folder, images_per_step)
    steps_per_epoch = folder.images // images_per_step
    print(f"Found {folder.describe()}" + (f"; {len(held_out)} more held out for evaluation" if held_out else ""))
    print(
        f"{steps_per_epoch} steps per epoch of {images_per_step} images at {config.image_size} px, "
        f"loss {config.loss}, {config.optimizer}, {config.precision}, on {describe_device()}"
        + "".join(f", {words}" for words in [distribute.describe(strategy)] if words)
    )

    keras.utils.set_random_seed(config.seed)
    if config.deterministic:
        tf.config.experimental.enable_op_determinism()  # for the rest of this process
    with strategy.scope():
        gan = build_gan(config)
    noise = fixed_noise(config)
    checkpoint = callbacks.TrainingCheckpoint(run_dir / "checkpoints", gan, noise, run_dir / "generator.keras")
    initial_epoch, initial_step = checkpoint.restore()
    restore_learning_rates(gan, config)  # the checkpoint brought back the old ones; config.json says what runs
    if initial_epoch >= config.epochs:
        print(f"{run_dir} has already trained {initial_epoch} epochs: pass --epochs above {initial_epoch} to go on")
        return None
    evaluation = quality_evaluation(config, held_out, run_dir, inception_weights)  # before the run folder is touched
    if initial_step:
        print(f"Resuming {run_dir} at step {initial_step} of {steps_per_epoch} in epoch {initial_epoch + 1}")
    else:
        print(f"Resuming {run_dir} after epoch {initial_epoch}" if initial_epoch else f"Writing the run to {run_dir}")
    if (run_dir / CONFIG_FILE).exists():
        print_changes(TrainConfig.load(run_dir / CONFIG_FILE).resolved(), config)
    check_writable(run_dir)
    # Several workers must checkpoint together: only at epoch ends, not on one process's clock or signal.
    together = distribute.is_multi_worker(strategy)
    # Keras averages a first batch over the replicas to build the model, a collective that takes no uint8 pixels.
    several = strategy.num_replicas_in_sync > 1 or together
    seconds = 0 if together else config.checkpoint_every * 60
    preemption = callbacks.PreemptionCheckpoint(checkpoint, steps_per_epoch, seconds, initial_step)
    signals = contextlib.nullcontext() if together else preemption.catching_signals()
    with run_lock(run_dir), signals:  # one writer per run folder; signals stop after a step
        try:
            config.save(run_dir / CONFIG_FILE)
            run = run_callbacks(config, noise, checkpoint, evaluation, initial_epoch) + [preemption]
            history = None
            while initial_epoch < config.epochs:  # the rest of a part-done epoch first, on its own, then whole ones
                until = initial_epoch + 1 if initial_step else config.epochs
                history = gan.fit(
                    data.training_stream(images, images_per_step, config.seed, initial_epoch, initial_step,
                                         scaled=several),  # fmt: skip
                    epochs=until,
                    initial_epoch=initial_epoch,
                    steps_per_epoch=steps_per_epoch - initial_step,
                    shuffle=False,  # the stream shuffles itself
                    verbose=verbose,
                    callbacks=run,
                )
                initial_epoch, initial_step = until, 0
        except OSError as error:  # a full disk, or a folder that stopped being writable, mid-run
            raise OutputError(
                f"could not write {error.filename or run_dir} ({error.strerror or error}): free some space or fix "
                "the folder, then run the same command to resume; the last finished epoch's files are intact"
            ) from None
    best = f" and best.keras (FID {evaluation.best_fid:.1f})" if evaluation else ""
    print(f"Done: {run_dir}/samples, progress.gif, history.csv, losses.png, generator.keras{best}")
    return history


class OutputError(RuntimeError):
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


def run_callbacks(
    config: TrainConfig,
    noise: tf.Variable,
    checkpoint: callbacks.TrainingCheckpoint,
    evaluation: callbacks.QualityEvaluation | None,
    initial_epoch: int,
) -> list[keras.callbacks.Callback]:
    """What a run does besides training, in order: learning rates, guard, statistics, outputs, and the checkpoint
    last, so that everything else is on disk before an epoch counts as done."""
    run_dir = Path(config.out)
    samples_dir = run_dir / "samples"
    return [
        *([callbacks.LearningRateDecay(config.d_learning_rate, config.g_learning_rate, config.epochs,
                                       config.decay_epochs)] if config.decay_epochs else []),
        callbacks.NonFiniteGuard(config.on_nonfinite == "stop", nonfinite_hint(config, run_dir)),
        *([callbacks.StandingStatistics(config.batch_size)] if config.ema is not None else []),
        callbacks.SampleGrid(samples_dir, noise),
        callbacks.ProgressGif(samples_dir, run_dir / "progress.gif"),
        *([evaluation] if evaluation else []),
        callbacks.HistoryLog(run_dir / "history.csv", run_dir / "losses.png", initial_epoch),
        keras.callbacks.TensorBoard(log_dir=str(run_dir / "logs"), write_graph=False),
        checkpoint,
    ]


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
) -> callbacks.QualityEvaluation | None:
    """The FID/KID callback that --eval-every asks for, with the real faces' features ready (cached per folder)."""
    if not config.eval_every:
        return None
    inception = metrics.load_inception(inception_weights)
    print(f"Measuring FID and KID of {config.eval_n} faces every {config.eval_every} epochs against "
          f"{config.eval_data or f'the {len(held_out)} held-out faces'}")  # fmt: skip
    real_features = metrics.folder_features(
        inception, config.eval_data or config.data_folder, config.image_size, files=None if config.eval_data else held_out
    )
    earlier = callbacks.read_history(run_dir / "history.csv")
    return callbacks.QualityEvaluation(
        inception, real_features, config.eval_every, config.eval_n, run_dir / "best.keras", callbacks.best_fid(earlier)
    )

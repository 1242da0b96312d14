"""Train a DCGAN: `python -m anime_dcgan.fit --epochs 25 --out runs/faces` (run again to resume)."""

from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import keras  # noqa: E402
import tensorflow as tf  # noqa: E402

from anime_dcgan import callbacks, data, models  # noqa: E402
from anime_dcgan.config import CONFIG_FILE, ConfigError, TrainConfig, resume_or_new  # noqa: E402
from anime_dcgan.gan import GAN  # noqa: E402

SAMPLE_COUNT = 64  # faces in each epoch's grid: 8 x 8


def build_gan(config: TrainConfig) -> GAN:
    """Generator, discriminator and their Adam optimizers, as the options say."""
    gan = GAN(
        models.build_generator(config.latent_dim, config.image_size, config.width),
        models.build_discriminator(config.image_size, config.width),
        seed=config.seed,
    )
    gan.compile(
        d_optimizer=keras.optimizers.Adam(config.lr, beta_1=config.beta1),
        g_optimizer=keras.optimizers.Adam(config.lr, beta_1=config.beta1),
        gan_loss=config.loss,
    )
    return gan


def describe_device() -> str:
    gpus = tf.config.list_physical_devices("GPU")
    if gpus:
        name = tf.config.experimental.get_device_details(gpus[0]).get("device_name", "GPU")
        return f"{len(gpus)} x {name}"
    return f"CPU ({os.cpu_count()} cores)"


def train(config: TrainConfig, verbose: str | int = "auto") -> keras.callbacks.History | None:
    """Train (or resume) the run in config.out, writing its outputs there every epoch."""
    dataset, folder = data.make_dataset(config.data, config.image_size, config.batch_size, seed=config.seed)
    steps = folder.images // config.batch_size
    print(f"Found {folder.describe()}")
    print(f"{steps} steps per epoch of {config.batch_size} images at {config.image_size} px on {describe_device()}")

    keras.utils.set_random_seed(config.seed)
    gan = build_gan(config)
    run_dir = Path(config.out)
    noise = tf.Variable(keras.random.normal((SAMPLE_COUNT, config.latent_dim), seed=config.seed), trainable=False)
    checkpoint = callbacks.TrainingCheckpoint(run_dir / "checkpoints", gan, noise, run_dir / "generator.keras")
    initial_epoch = checkpoint.restore()
    if initial_epoch >= config.epochs:
        print(f"{run_dir} has already trained {initial_epoch} epochs: pass --epochs above {initial_epoch} to go on")
        return None
    print(f"Resuming {run_dir} after epoch {initial_epoch}" if initial_epoch else f"Writing the run to {run_dir}")
    run_dir.mkdir(parents=True, exist_ok=True)
    config.save(run_dir / CONFIG_FILE)

    samples_dir = run_dir / "samples"
    history = gan.fit(
        dataset,
        epochs=config.epochs,
        initial_epoch=initial_epoch,
        shuffle=False,  # the dataset shuffles itself
        verbose=verbose,
        callbacks=[
            callbacks.SampleGrid(samples_dir, noise),
            callbacks.ProgressGif(samples_dir, run_dir / "progress.gif"),
            callbacks.HistoryLog(run_dir / "history.csv", run_dir / "losses.png", initial_epoch),
            keras.callbacks.TensorBoard(log_dir=str(run_dir / "logs"), write_graph=False),
            checkpoint,  # last, so everything above is on disk before the epoch counts as done
        ],
    )
    print(f"Done: {run_dir}/samples, progress.gif, history.csv, losses.png and generator.keras")
    return history


def positive_int(text: str) -> int:
    value = int(text)
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be a positive whole number, not {text}")
    return value


def positive_float(text: str) -> float:
    value = float(text)
    if not value > 0:
        raise argparse.ArgumentTypeError(f"must be above 0, not {text}")
    return value


def beta(text: str) -> float:
    value = float(text)
    if not 0 <= value < 1:
        raise argparse.ArgumentTypeError(f"must be in [0, 1), not {text}")
    return value


def build_parser() -> argparse.ArgumentParser:
    defaults = TrainConfig()
    parser = argparse.ArgumentParser(
        prog="python -m anime_dcgan.fit",
        description="Train a DCGAN on a folder of face images. Run the same command with a larger --epochs "
        "and the same --out to resume; options not given are then taken from the run's config.json.",
        argument_default=argparse.SUPPRESS,  # only the flags given on the command line reach the options
    )
    parser.add_argument("--data", help="folder of face images, searched recursively (default: the bundled sample)")
    parser.add_argument("--out", help="run folder for samples, logs and checkpoints (default: runs/<timestamp>)")
    parser.add_argument("--epochs", type=positive_int, help=f"train until this epoch (default: {defaults.epochs})")
    parser.add_argument(
        "--batch-size", type=positive_int, help=f"images per training step (default: {defaults.batch_size})"
    )
    parser.add_argument(
        "--image-size", type=int, choices=models.IMAGE_SIZES,
        help=f"side of the square images in pixels (default: {defaults.image_size})",
    )  # fmt: skip
    parser.add_argument(
        "--latent-dim", type=positive_int, help=f"length of the generator's noise vector (default: {defaults.latent_dim})"
    )
    parser.add_argument(
        "--width", type=positive_int,
        help=f"channels of the networks' widest-resolution layer; the others are 2, 4, 8 times it (default: {defaults.width})",
    )  # fmt: skip
    parser.add_argument("--lr", type=positive_float, help=f"Adam learning rate of both networks (default: {defaults.lr})")
    parser.add_argument("--beta1", type=beta, help=f"Adam's beta_1 (default: {defaults.beta1})")
    parser.add_argument("--seed", type=int, help=f"random seed of weights, noise and shuffling (default: {defaults.seed})")
    return parser


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    given = vars(parser.parse_args(argv))
    out = Path(given.pop("out", None) or Path("runs") / time.strftime("%Y%m%d-%H%M%S"))
    try:
        train(resume_or_new(out, given))
    except (data.DataError, ConfigError) as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print(f"\nInterrupted: run the same command with --out {out} to resume after the last finished epoch.")
        return 130
    return 0


if __name__ == "__main__":
    sys.exit(main())

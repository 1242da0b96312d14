"""Train a GAN: `python -m anime_dcgan.fit --epochs 25 --out runs/faces` (run again to resume)."""

from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import keras  # noqa: E402
import tensorflow as tf  # noqa: E402

from anime_dcgan.cli import program_name  # noqa: E402
from anime_dcgan import callbacks, data, losses, metrics, models  # noqa: E402
from anime_dcgan.augment import POLICIES, parse_policy  # noqa: E402
from anime_dcgan.config import (  # noqa: E402
    CONFIG_FILE,
    LOSS_DEFAULTS,
    OPTIMIZERS,
    PRESETS,
    ConfigError,
    TrainConfig,
    resume_or_new,
)
from anime_dcgan.gan import GAN  # noqa: E402
from anime_dcgan.kaggle import KaggleError, resolve_data  # noqa: E402

SAMPLE_COUNT = 64  # faces in each epoch's grid: 8 x 8


def build_optimizer(config: TrainConfig, learning_rate: float) -> keras.optimizers.Optimizer:
    if config.optimizer == "adam":
        return keras.optimizers.Adam(learning_rate, beta_1=config.beta1, beta_2=config.beta2)
    if config.optimizer == "rmsprop":
        return keras.optimizers.RMSprop(learning_rate, momentum=config.momentum)
    return keras.optimizers.SGD(learning_rate, momentum=config.momentum)


def build_gan(config: TrainConfig) -> GAN:
    """Generator, discriminator, optimizers, loss and update schedule, as the (resolved) options say."""
    gan = GAN(
        models.build_generator(
            config.latent_dim, config.image_size, config.width, config.g_activation, config.upsample
        ),
        models.build_discriminator(
            config.image_size,
            config.width,
            normalization=discriminator_normalization(config),
            dropout=config.dropout,
            clip=config.clip if config.loss == "wgan" else None,
            spectral_norm=config.spectral_norm,
        ),
        seed=config.seed,
    )
    gan.compile(
        d_optimizer=build_optimizer(config, config.d_learning_rate),
        g_optimizer=build_optimizer(config, config.g_learning_rate),
        gan_loss=losses.get(config.loss, real_target=config.label_smoothing),
        d_steps=config.d_steps,
        gp_weight=config.gp_weight if config.loss == "wgan-gp" else 0.0,
        d_threshold=config.d_threshold,
        g_threshold=config.g_threshold,
        r1_gamma=config.r1,
        r1_every=config.r1_every,
        augment=parse_policy(config.augment),
        ema_decay=config.ema,
    )
    return gan


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


def discriminator_normalization(config: TrainConfig) -> str:
    """BatchNorm as in the paper, but none under spectral norm and LayerNorm under WGAN-GP's per-sample penalty."""
    if config.loss == "wgan-gp":
        return "layer"
    return "none" if config.spectral_norm else "batch"


def describe_device() -> str:
    gpus = tf.config.list_physical_devices("GPU")
    if gpus:
        name = tf.config.experimental.get_device_details(gpus[0]).get("device_name", "GPU")
        return f"{len(gpus)} x {name}"
    return f"CPU ({os.cpu_count()} cores)"


def train(
    config: TrainConfig, verbose: str | int = "auto", inception_weights: str | None = None
) -> keras.callbacks.History | None:
    """Train (or resume) the run in config.out, writing its outputs there every epoch.

    `inception_weights` is the FID network's weights file for --eval-every (default: $ANIME_DCGAN_INCEPTION, else a
    download).
    """
    images_per_step = config.batch_size * config.d_steps  # one real batch for each discriminator update
    files = data.find_image_files(config.data)
    files, held_out = data.split_holdout(files, config.holdout) if config.holdout else (files, [])
    dataset, folder = data.make_dataset(
        config.data, config.image_size, images_per_step, seed=config.seed, files=files
    )
    print(f"Found {folder.describe()}" + (f"; {len(held_out)} more held out for evaluation" if held_out else ""))
    print(
        f"{folder.images // images_per_step} steps per epoch of {images_per_step} images at {config.image_size} px, "
        f"loss {config.loss}, {config.optimizer}, on {describe_device()}"
    )

    keras.utils.set_random_seed(config.seed)
    gan = build_gan(config)
    run_dir = Path(config.out)
    noise = tf.Variable(keras.random.normal((SAMPLE_COUNT, config.latent_dim), seed=config.seed), trainable=False)
    checkpoint = callbacks.TrainingCheckpoint(run_dir / "checkpoints", gan, noise, run_dir / "generator.keras")
    initial_epoch = checkpoint.restore()
    restore_learning_rates(gan, config)  # the checkpoint brought back the old ones; config.json says what runs
    if initial_epoch >= config.epochs:
        print(f"{run_dir} has already trained {initial_epoch} epochs: pass --epochs above {initial_epoch} to go on")
        return None
    evaluation = quality_evaluation(config, held_out, run_dir, inception_weights)  # before the run folder is touched
    print(f"Resuming {run_dir} after epoch {initial_epoch}" if initial_epoch else f"Writing the run to {run_dir}")
    if (run_dir / CONFIG_FILE).exists():
        print_changes(TrainConfig.load(run_dir / CONFIG_FILE).resolved(), config)
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
            *([callbacks.StandingStatistics(config.batch_size)] if config.ema is not None else []),
            callbacks.SampleGrid(samples_dir, noise),
            callbacks.ProgressGif(samples_dir, run_dir / "progress.gif"),
            *([evaluation] if evaluation else []),
            callbacks.HistoryLog(run_dir / "history.csv", run_dir / "losses.png", initial_epoch),
            keras.callbacks.TensorBoard(log_dir=str(run_dir / "logs"), write_graph=False),
            checkpoint,  # last, so everything above is on disk before the epoch counts as done
        ],
    )
    best = f" and best.keras (FID {evaluation.best_fid:.1f})" if evaluation else ""
    print(f"Done: {run_dir}/samples, progress.gif, history.csv, losses.png, generator.keras{best}")
    return history


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
        inception, config.eval_data or config.data, config.image_size, files=None if config.eval_data else held_out
    )
    earlier = callbacks.read_history(run_dir / "history.csv")
    return callbacks.QualityEvaluation(
        inception, real_features, config.eval_every, config.eval_n, run_dir / "best.keras", callbacks.best_fid(earlier)
    )


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


def non_negative_float(text: str) -> float:
    value = float(text)
    if not value >= 0:
        raise argparse.ArgumentTypeError(f"must be 0 or more, not {text}")
    return value


def unit_interval(text: str) -> float:
    value = float(text)
    if not 0 <= value < 1:
        raise argparse.ArgumentTypeError(f"must be in [0, 1), not {text}")
    return value


def real_target(text: str) -> float:
    value = float(text)
    if not 0 < value <= 1:
        raise argparse.ArgumentTypeError(f"must be in (0, 1], the target for real images (0.9 is usual), not {text}")
    return value


def build_parser() -> argparse.ArgumentParser:
    d = TrainConfig()
    parser = argparse.ArgumentParser(
        prog=program_name("anime_dcgan.fit"),
        description="Train a GAN on a folder of face images. Run the same command with a larger --epochs "
        "and the same --out to resume; options not given are then taken from the run's config.json. "
        "Defaults marked 'per loss' come from the chosen loss's paper (see README).",
        argument_default=argparse.SUPPRESS,  # only the flags given on the command line reach the options
    )
    run = parser.add_argument_group("run")
    run.add_argument("--data", help="folder of face images, searched recursively; 'kaggle' or 'kaggle:owner/name' "
                     "downloads a Kaggle dataset to data/<name> first (default: the bundled sample)")
    run.add_argument("--out", help="run folder for samples, logs and checkpoints (default: runs/<timestamp>)")
    run.add_argument("--config", help="start a new run from a saved config.json; flags given override it")
    run.add_argument("--preset", choices=list(PRESETS),
                     help="start from a named recipe; 'dcgan' is the paper's DCGAN: bce loss, BatchNorm in D, no "
                     "augmentation or weight average (default: this project's recipe, see README)")
    run.add_argument("--epochs", type=positive_int, help=f"train until this epoch (default: {d.epochs})")
    run.add_argument("--batch-size", type=positive_int, help=f"images per update (default: {d.batch_size})")
    run.add_argument("--seed", type=int, help=f"random seed of weights, noise and shuffling (default: {d.seed})")
    run.add_argument("--verbose", type=int, choices=(0, 1, 2),
                     help="0: quiet, 1: a progress bar per epoch, 2: one line per epoch, for logs (default: 1)")

    net = parser.add_argument_group("networks")
    net.add_argument("--image-size", type=int, choices=models.IMAGE_SIZES, help=f"image side in pixels (default: {d.image_size})")
    net.add_argument("--latent-dim", type=positive_int, help=f"length of the noise vector (default: {d.latent_dim})")
    net.add_argument("--width", type=positive_int,
                     help=f"channels of the highest-resolution layer; deeper layers have 2, 4, 8 times as many (default: {d.width})")
    net.add_argument("--g-activation", choices=models.GENERATOR_ACTIVATIONS, help=f"generator activation (default: {d.g_activation})")
    net.add_argument("--upsample", choices=models.UPSAMPLINGS,
                     help="how the generator doubles its size: the paper's 4x4 transposed convolutions, or a "
                     f"nearest-neighbour resize then a 3x3 convolution, free of checkerboard (default: {d.upsample})")
    net.add_argument("--dropout", type=unit_interval, help=f"dropout rate after each discriminator layer (default: {d.dropout})")

    loss = parser.add_argument_group("loss and updates")
    loss.add_argument("--loss", choices=list(LOSS_DEFAULTS), help=f"GAN objective (default: {d.loss})")
    loss.add_argument("--d-steps", type=positive_int, help="discriminator updates per generator update, each on its own real batch (default: per loss)")
    loss.add_argument("--clip", type=positive_float, help=f"wgan: critic weights are clipped to +-clip (default: {d.clip})")
    loss.add_argument("--gp-weight", type=positive_float, help=f"wgan-gp: gradient penalty weight lambda (default: {d.gp_weight})")
    loss.add_argument("--label-smoothing", type=real_target,
                      help="one-sided label smoothing: target for real images, e.g. 0.9 (default: 1, none; bce, minimax, lsgan)")
    loss.add_argument("--d-threshold", type=float, help="skip a discriminator update while its loss is below this (default: never)")
    loss.add_argument("--g-threshold", type=float, help="update the generator only while its loss is above this (default: always)")

    opt = parser.add_argument_group("optimizers")
    opt.add_argument("--optimizer", choices=OPTIMIZERS, help="optimizer of both networks (default: per loss)")
    opt.add_argument("--lr", type=positive_float, help="learning rate of both networks (default: per loss)")
    opt.add_argument("--d-lr", type=positive_float, help="discriminator learning rate, e.g. for TTUR (default: --lr)")
    opt.add_argument("--g-lr", type=positive_float, help="generator learning rate (default: --lr)")
    opt.add_argument("--beta1", type=unit_interval, help="Adam's beta_1 (default: per loss)")
    opt.add_argument("--beta2", type=unit_interval, help="Adam's beta_2 (default: per loss)")
    opt.add_argument("--momentum", type=unit_interval, help=f"RMSprop and SGD momentum (default: {d.momentum})")
    better = parser.add_argument_group("quality")
    better.add_argument("--ema", type=unit_interval, metavar="DECAY",
                        help="keep an exponential moving average of G's weights (e.g. 0.999) and sample, evaluate and "
                        "export it (default: off)")
    better.add_argument("--augment", metavar="POLICY",
                        help=f"DiffAugment every image D sees, e.g. {','.join(POLICIES)} (default: none)")
    better.add_argument("--spectral-norm", action="store_true",
                        help="spectral normalisation on every discriminator layer, in place of its BatchNorm")
    better.add_argument("--r1", type=positive_float, metavar="GAMMA",
                        help="R1 penalty gamma/2 E||grad D(x)||^2 on real images (default: off)")
    better.add_argument("--r1-every", type=positive_int, metavar="K",
                        help="lazy R1: apply the penalty (scaled by K) every K discriminator steps (default: 1)")

    evaluate = parser.add_argument_group("measuring quality (FID and KID, see anime_dcgan.evaluate)")
    evaluate.add_argument("--holdout", type=non_negative_float, metavar="N",
                          help="keep N faces (or a fraction, if below 1) of --data out of training, the same ones "
                          "every run, to measure against (default: 0, none)")
    evaluate.add_argument("--eval-every", type=positive_int, metavar="E",
                          help="measure FID and KID every E epochs into history.csv and keep best.keras (default: never)")
    evaluate.add_argument("--eval-n", type=positive_int, metavar="N",
                          help=f"generated faces per measurement; FID depends on it (default: {d.eval_n})")
    evaluate.add_argument("--eval-data", metavar="DIR", help="real faces to measure against (default: the held-out ones)")
    evaluate.add_argument("--inception-weights", metavar="FILE",
                          help="the FID network's weights: inception-2015-12-05.tgz, its .pb, or an .npz "
                          "(default: $ANIME_DCGAN_INCEPTION, else downloaded once)")
    return parser  # fmt: skip


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    given = vars(parser.parse_args(argv))
    out = Path(given.pop("out", None) or Path("runs") / time.strftime("%Y%m%d-%H%M%S"))
    config_file = given.pop("config", None)
    verbose = given.pop("verbose", "auto")  # how to report, not part of the run
    inception_weights = given.pop("inception_weights", None)  # where this machine keeps them, not part of the run
    given = {**PRESETS.get(given.pop("preset", None), {}), **given}
    try:
        if "data" in given:
            given["data"] = resolve_data(given["data"])  # --data kaggle[:owner/name] downloads once
        train(resume_or_new(out, given, config_file), verbose, inception_weights)
    except (data.DataError, ConfigError, KaggleError, metrics.MetricsError) as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print(f"\nInterrupted: run the same command with --out {out} to resume after the last finished epoch.")
        return 130
    return 0


if __name__ == "__main__":
    sys.exit(main())

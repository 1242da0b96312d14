"""Train a GAN: `python -m anime_dcgan.fit --epochs 25 --out runs/faces` (run again to resume).

The command line is read before TensorFlow is imported, so --help and mistakes in it are answered at once.
"""

from __future__ import annotations

import argparse
import signal
import sys
import time
from collections.abc import Callable
from pathlib import Path

from anime_dcgan import config as checks
from anime_dcgan.cli import import_tensorflow, program_name
from anime_dcgan.config import (
    GENERATOR_ACTIVATIONS,
    IMAGE_SIZES,
    JIT_COMPILE,
    LOSS_DEFAULTS,
    NONFINITE_ACTIONS,
    OPTIMIZERS,
    POLICIES,
    PRECISIONS,
    PRESETS,
    STRATEGIES,
    UPSAMPLINGS,
    ConfigError,
    TrainConfig,
    parse_policy,
    resume_or_new,
)
from anime_dcgan.kaggle import KaggleError, resolve_data


def argument(parse: Callable[[str], object], check: Callable) -> Callable[[str], object]:
    """An argparse type: the text parsed, then checked by the same check as TrainConfig's (config.CHECKS)."""

    def convert(text: str):
        try:
            value = parse(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"must be a {'whole ' if parse is int else ''}number, not {text}") from None
        try:
            return check(value)
        except ValueError as error:
            raise argparse.ArgumentTypeError(str(error)) from None

    convert.__name__ = check.__name__  # what argparse names in its messages
    return convert


positive_int = argument(int, checks.positive_int)
non_negative_int = argument(int, checks.non_negative_int)
positive_float = argument(float, checks.positive_float)
non_negative_float = argument(float, checks.non_negative_float)
unit_interval = argument(float, checks.unit_interval)
real_target = argument(float, checks.real_target)
fraction = argument(float, checks.fraction)


def ema_decay(text: str) -> float | None:
    """A decay in (0, 1), or None for 0: no weight average."""
    return unit_interval(text) or None


def augment_policy(text: str) -> str:
    """A DiffAugment policy as config.json keeps it, "" for none: "cutout, color" -> "color,cutout"."""
    try:
        return ",".join(parse_policy("" if text.strip().lower() == "none" else text))
    except ValueError as error:
        raise argparse.ArgumentTypeError(str(error)) from None


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
                     "augmentation or weight average, batch 128 (default: this project's recipe, see README)")
    run.add_argument("--epochs", type=positive_int, help=f"train until this epoch (default: {d.epochs})")
    run.add_argument("--batch-size", type=positive_int, help=f"images per update (default: {d.batch_size})")
    run.add_argument("--seed", type=int, help=f"random seed of weights, noise and shuffling (default: {d.seed})")
    run.add_argument("--verbose", type=int, choices=(0, 1, 2),
                     help="0: quiet, 1: a progress bar per epoch, 2: one line per epoch, for logs (default: 1)")

    net = parser.add_argument_group("networks")
    net.add_argument("--image-size", type=int, choices=IMAGE_SIZES, help=f"image side in pixels (default: {d.image_size})")
    net.add_argument("--latent-dim", type=positive_int, help=f"length of the noise vector (default: {d.latent_dim})")
    net.add_argument("--width", type=positive_int,
                     help=f"channels of the highest-resolution layer; deeper layers have 2, 4, 8 times as many (default: {d.width})")
    net.add_argument("--g-activation", choices=GENERATOR_ACTIVATIONS, help=f"generator activation (default: {d.g_activation})")
    net.add_argument("--upsample", choices=UPSAMPLINGS,
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
    loss.add_argument("--on-nonfinite", choices=NONFINITE_ACTIONS,
                      help="an update with a NaN/Inf loss or gradient is always dropped; 'stop' ends the run there "
                      "(its last checkpoint stays good), 'skip' goes on and counts them in history.csv "
                      f"(default: {d.on_nonfinite})")
    loss.add_argument("--d-threshold", type=float, help="skip a discriminator update while its loss is below this (default: never)")
    loss.add_argument("--g-threshold", type=float, help="update the generator only while its loss is above this (default: always)")

    run.add_argument("--precision", choices=PRECISIONS,
                     help="dtype policy of both networks: 'auto' takes bfloat16 on TPUs, recent GPUs and CPUs with "
                     "AVX512_BF16/AMX, float16 with loss scaling on 7.x GPUs, float32 otherwise; outputs, losses and "
                     f"images stay float32 (default: {d.precision})")
    run.add_argument("--jit-compile", choices=JIT_COMPILE,
                     help="compile the training step with XLA; 'auto' is Keras's choice: on with a GPU, off on a CPU "
                     f"(default: {d.jit_compile})")
    run.add_argument("--strategy", choices=STRATEGIES,
                     help="the devices that train: 'auto' takes a TPU when one is attached, every GPU when there are "
                     "several ('mirrored'), else one device ('default'); 'multi-worker' trains on the machines listed "
                     f"in TF_CONFIG, with the batch split across all replicas (default: {d.strategy})")
    run.add_argument("--steps-per-execution", type=positive_int, metavar="N",
                     help=f"training steps per call into the compiled step; more hides per-step overhead on fast "
                     f"accelerators (default: {d.steps_per_execution})")
    run.add_argument("--checkpoint-every", type=non_negative_float, metavar="MINUTES",
                     help="also checkpoint within an epoch this often, so a preempted run loses at most that much; "
                     f"0: only at the end of each epoch (default: {d.checkpoint_every:g})")
    run.add_argument("--deterministic", action="store_true",
                     help="TensorFlow op determinism: the same --seed gives bit-identical weights on the same machine, "
                     "at some cost in speed (see README)")
    opt = parser.add_argument_group("optimizers")
    opt.add_argument("--optimizer", choices=OPTIMIZERS, help="optimizer of both networks (default: per loss)")
    opt.add_argument("--lr", type=positive_float, help="learning rate of both networks (default: per loss)")
    opt.add_argument("--d-lr", type=positive_float, help="discriminator learning rate, e.g. for TTUR (default: --lr)")
    opt.add_argument("--g-lr", type=positive_float, help="generator learning rate (default: --lr)")
    opt.add_argument("--lr-decay", type=fraction,
                     help="decay both learning rates linearly over this last fraction of the epochs, e.g. 0.5: full "
                     "rate until then, 1/N of it in the last epoch of N decaying; follows --epochs when a run is "
                     f"resumed (default: {d.lr_decay}, constant)")
    opt.add_argument("--beta1", type=unit_interval, help="Adam's beta_1 (default: per loss)")
    opt.add_argument("--beta2", type=unit_interval, help="Adam's beta_2 (default: per loss)")
    opt.add_argument("--momentum", type=unit_interval, help=f"RMSprop and SGD momentum (default: {d.momentum})")
    better = parser.add_argument_group("quality")
    better.add_argument("--ema", type=ema_decay, metavar="DECAY",
                        help="keep an exponential moving average of G's weights (e.g. 0.999) and sample, evaluate and "
                        f"export it; 0 turns it off (default: {d.ema or 'off'})")
    better.add_argument("--augment", type=augment_policy, metavar="POLICY",
                        help=f"DiffAugment every image D sees, e.g. {','.join(POLICIES)}; 'none' turns it off "
                        f"(default: {d.augment or 'none'})")
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
    evaluate.add_argument("--eval-every", type=non_negative_int, metavar="E",
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
    signal.signal(signal.SIGTERM, interrupt)  # a preemption notice or `kill` stops the run as Ctrl-C does
    try:
        return run(given, out, config_file, verbose, inception_weights)
    except KeyboardInterrupt as stop:  # training itself checkpoints first and says where (callbacks.Interrupted)
        where = str(stop) or "the last checkpoint"
        print(f"\nInterrupted: run the same command with --out {out} to resume from {where}.")
        return 130


def run(given: dict, out: Path, config_file: str | None, verbose, inception_weights: str | None) -> int:
    """Resolve the options and train; a mistake in them, the data or the FID weights is one line on stderr."""
    try:
        if "data" in given:
            given["data"] = resolve_data(given["data"])  # --data kaggle[:owner/name] downloads once
        config = resume_or_new(out, given, config_file)
    except (ConfigError, KaggleError) as error:
        return report(error)
    import_tensorflow()  # only once the command line is read
    from anime_dcgan import callbacks, data, lock, metrics, training

    try:
        training.train(config, verbose, inception_weights)
    except (
        ConfigError, data.DataError, metrics.MetricsError, callbacks.NonFiniteError, lock.RunLockedError,
        training.OutputError,
    ) as error:  # fmt: skip
        return report(error)
    return 0


def interrupt(signum, frame) -> None:
    raise KeyboardInterrupt


def report(error: Exception) -> int:
    print(f"error: {error}", file=sys.stderr)
    return 2


if __name__ == "__main__":
    sys.exit(main())

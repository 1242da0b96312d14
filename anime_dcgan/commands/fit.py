"""Train a GAN: `python -m anime_dcgan.fit --epochs 25 --out runs/faces` (run again to resume).

The command line is read before TensorFlow is imported, so --help and mistakes in it are answered at once.
"""

from __future__ import annotations

import argparse
import dataclasses
import os
import signal
import sys
import time
from collections.abc import Callable
from pathlib import Path

from anime_dcgan.commands import command, import_tensorflow, program_name
from anime_dcgan.config import PRESETS, TrainConfig, default_text, flag, policy, resume_or_new
from anime_dcgan.kaggle import resolve_data


def argument(parse: Callable[[str], object], check: Callable | None) -> Callable[[str], object]:
    """An argparse type: the text parsed, then checked by the option's own check (config.option)."""

    def convert(text: str):
        try:
            value = parse(text)
        except ValueError as error:
            if parse is policy:
                raise argparse.ArgumentTypeError(str(error)) from None
            raise argparse.ArgumentTypeError(f"must be a {'whole ' if parse is int else ''}number, not {text}") from None
        if check is not None and value is not None:
            try:
                check(value)
            except ValueError as error:
                raise argparse.ArgumentTypeError(str(error)) from None
        return value

    convert.__name__ = getattr(check, "__name__", parse.__name__)  # what argparse names in its messages
    return convert


def add_option(group: argparse._ArgumentGroup, field: dataclasses.Field) -> None:
    """The flag of one TrainConfig option, as its declaration says."""
    metadata = field.metadata
    help = f"{metadata['help']} (default: {default_text(field)})"
    if field.default is False:
        group.add_argument(flag(field.name), action="store_true", help=help)
        return
    choices = getattr(metadata["check"], "choices", None)
    if choices:
        group.add_argument(flag(field.name), type=type(choices[0]), choices=list(choices), help=help)
        return
    parse = metadata["parse"] or type(field.default)
    group.add_argument(flag(field.name), type=argument(parse, metadata["check"]), metavar=metadata["metavar"],
                       help=help)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog=program_name("anime_dcgan.fit"),
        description="Train a GAN on a folder of face images. Run the same command with a larger --epochs "
        "and the same --out to resume; options not given are then taken from the run's config.json. "
        "Every option is described in docs/options.md.",
        argument_default=argparse.SUPPRESS,  # only the flags given on the command line reach the options
    )
    groups = {}
    for field in dataclasses.fields(TrainConfig):
        name = field.metadata["group"]
        add_option(groups.get(name) or groups.setdefault(name, parser.add_argument_group(name)), field)
    run = groups["run"]
    run.add_argument("--config", help="start a new run from a saved config.json; flags given override it")
    run.add_argument("--preset", choices=list(PRESETS),
                     help="start from a named recipe; 'dcgan' is the paper's DCGAN: bce loss, BatchNorm in D, no "
                     "augmentation or weight average, batch 128 (default: this project's recipe, see README)")
    run.add_argument("--verbose", type=int, choices=(0, 1, 2),
                     help="0: quiet, 1: a progress bar per epoch, 2: one line per epoch, for logs (default: 1)")
    groups["measuring quality"].add_argument(
        "--inception-weights", metavar="FILE",
        help="the FID network's weights: inception-2015-12-05.tgz, its .pb, or an .npz "
        "(default: $ANIME_DCGAN_INCEPTION, else downloaded once)",
    )
    return parser  # fmt: skip


@command
def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    given = vars(parser.parse_args(argv))
    out = Path(given.pop("out", None) or Path("runs") / time.strftime("%Y%m%d-%H%M%S"))
    config_file = given.pop("config", None)
    verbose = given.pop("verbose", "auto")  # how to report, not part of the run
    inception_weights = given.pop("inception_weights", None)  # where this machine keeps them, not part of the run
    given = with_preset(given)
    signal.signal(signal.SIGTERM, interrupt)  # a preemption notice or `kill` stops the run as Ctrl-C does
    try:
        status = train(given, out, config_file, verbose, inception_weights)
    except KeyboardInterrupt as stop:  # training itself checkpoints first and says where (checkpoints.Interrupted)
        where = str(stop) or "the last checkpoint"
        print(f"\nInterrupted: run the same command with --out {out} to resume from {where}.", flush=True)
        status = 130
    if argv is None:  # the process is this command's: end it now, everything is on disk
        end_process(status)
    return status


def with_preset(given: dict) -> dict:
    """The options given on the command line over those of the `--preset` among them, if any."""
    return {**PRESETS.get(given.pop("preset", None), {}), **given}


def train(given: dict, out: Path, config_file: str | None, verbose, inception_weights: str | None) -> int:
    """Resolve the options and train the run in `out`."""
    if "data" in given:
        given["data"] = resolve_data(given["data"])  # --data kaggle[:owner/name] downloads once
    config = resume_or_new(out, given, config_file)
    import_tensorflow()  # only once the command line is read
    from anime_dcgan import training

    training.train(config, verbose, inception_weights)
    return 0


def interrupt(signum, frame) -> None:
    raise KeyboardInterrupt


def end_process(status: int) -> None:
    """Exit at once with `status`, without the interpreter's teardown, in which TensorFlow's thread pools and the
    input pipeline's prefetching can keep a core busy long after the run has stopped."""
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(status)

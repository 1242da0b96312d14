"""The command-line entry points (`python -m anime_dcgan.fit`, `anime-dcgan-fit`, ...) and what they share: the
name they were started by, a quiet TensorFlow start, and one way of ending on a user's mistake."""

from __future__ import annotations

import argparse
import functools
import os
import sys
from collections.abc import Callable
from pathlib import Path

from anime_dcgan.errors import UserError


class UsageError(UserError):
    """A command's arguments contradict each other or the files they name; the message says what to pass."""


def command(main: Callable[..., int]) -> Callable[..., int]:
    """A command's `main(argv)`: a UserError it raises becomes `error: <message>` on one line of stderr and exit
    status 2 (argparse's status for a bad command line); anything else is a bug and keeps its traceback."""

    @functools.wraps(main)
    def run(argv: list[str] | None = None) -> int:
        try:
            return main(argv)
        except UserError as error:
            print(f"error: {' '.join(str(error).split())}", file=sys.stderr)
            return 2

    return run


def at_least(minimum: int) -> Callable[[str], int]:
    """An argparse type: a whole number of at least `minimum`."""

    def count(text: str) -> int:
        try:
            value = int(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"must be a whole number, not {text}") from None
        if value < minimum:
            raise argparse.ArgumentTypeError(f"must be at least {minimum}, not {value}")
        return value

    return count


def program_name(module: str) -> str:
    """How the user started `module` (e.g. "anime_dcgan.fit"), for usage lines: its installed command
    (anime-dcgan-fit) when run as one, else `python -m module`."""
    command = "anime-dcgan-" + module.rsplit(".", 1)[-1]
    return command if Path(sys.argv[0]).name == command else f"python -m {module}"


def import_tensorflow() -> None:
    """Import TensorFlow, hiding the lines its native libraries print while they load.

    Those lines (oneDNN, CUDA probing) are written before TF_CPP_MIN_LOG_LEVEL takes effect, so the package's default
    of 3 alone does not stop them; a user who sets the variable lower sees them all.
    """
    quiet = "tensorflow" not in sys.modules and os.environ.get("TF_CPP_MIN_LOG_LEVEL") == "3"
    sys.stderr.flush()
    saved = os.dup(2)
    devnull = os.open(os.devnull, os.O_WRONLY)
    try:
        if quiet:
            os.dup2(devnull, 2)
        import tensorflow  # noqa: F401
    finally:
        os.dup2(saved, 2)
        os.close(devnull)
        os.close(saved)

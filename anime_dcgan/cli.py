"""What the command-line entry points share: the name they were started by, and a quiet TensorFlow start."""

from __future__ import annotations

import os
import sys
from pathlib import Path


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

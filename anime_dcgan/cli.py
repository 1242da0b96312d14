"""What the command-line entry points share: the name they were started by."""

from __future__ import annotations

import sys
from pathlib import Path


def program_name(module: str) -> str:
    """How the user started `module` (e.g. "anime_dcgan.fit"), for usage lines: its installed command
    (anime-dcgan-fit) when run as one, else `python -m module`."""
    command = "anime-dcgan-" + module.rsplit(".", 1)[-1]
    return command if Path(sys.argv[0]).name == command else f"python -m {module}"

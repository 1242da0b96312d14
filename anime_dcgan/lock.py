"""One writer per run folder: a lock file naming the process that trains it."""

from __future__ import annotations

import json
import os
import socket
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from anime_dcgan.errors import UserError

LOCK_FILE = "run.lock"


class RunLockedError(UserError, RuntimeError):
    """Another process is writing the run folder; the message names it and says what to do."""


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # someone else's process: it exists
        return True
    return True


@contextmanager
def run_lock(run_dir: str | Path) -> Iterator[Path]:
    """Hold `run_dir`/run.lock while the block runs; refuse if a live process holds it, take over a dead one's.

    A lock from another host cannot be checked, so it is refused with the way to clear it by hand.
    """
    path = Path(run_dir) / LOCK_FILE
    mine = {"pid": os.getpid(), "host": socket.gethostname()}
    while True:
        try:
            descriptor = os.open(path, os.O_CREAT | os.O_EXCL | os.O_WRONLY)
            break
        except FileExistsError:
            holder = _read(path)
            if holder is None:
                continue  # released between our two looks
            if holder.get("host") != mine["host"] or _alive(int(holder.get("pid", -1))):
                where = f"process {holder.get('pid')} on {holder.get('host')}"
                raise RunLockedError(
                    f"{run_dir} is being trained by {where}: wait for it to finish or stop it, or pass another --out "
                    f"(if no such process runs any more, delete {path})"
                ) from None
            print(f"Taking over {path} from process {holder.get('pid')}, which is no longer running")
            path.unlink(missing_ok=True)
    with os.fdopen(descriptor, "w") as f:
        json.dump(mine, f)
    try:
        yield path
    finally:
        if _read(path) == mine:
            path.unlink(missing_ok=True)


def _read(path: Path) -> dict | None:
    try:
        return json.loads(path.read_text() or "{}")
    except FileNotFoundError:
        return None
    except (OSError, ValueError):
        return {}

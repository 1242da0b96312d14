"""Download a face data set from Kaggle once: `python -m anime_dcgan.download [owner/name] [--dest DIR]`."""

from __future__ import annotations

import argparse
import shlex
from pathlib import Path

from anime_dcgan.commands import command, program_name
from anime_dcgan.kaggle import DEFAULT_DATASET, complete_count, dataset_name, default_dest, download


@command
def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog=program_name("anime_dcgan.download"), description=__doc__)
    parser.add_argument(
        "dataset", nargs="?", default=DEFAULT_DATASET, help=f"Kaggle dataset owner/name (default: {DEFAULT_DATASET})"
    )
    parser.add_argument("--dest", help="folder for the images (default: data/<name>)")
    args = parser.parse_args(argv)
    dest = Path(args.dest).expanduser() if args.dest else default_dest(args.dataset)
    reused = complete_count(dest) is not None
    folder = download(args.dataset, dest)
    state = "already downloaded" if reused else "downloaded"
    print(f"{complete_count(folder)} images of {dataset_name(args.dataset)} {state} in {folder}")
    print(f"Train on them: python -m anime_dcgan.fit --data {shlex.quote(str(folder))}")
    return 0


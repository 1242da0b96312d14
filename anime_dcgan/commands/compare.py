"""Compare trained runs side by side: one labelled row of faces per run, all from the same noise.

`python -m anime_dcgan.compare runs/bce runs/wgan-gp --out docs/variants.png`
"""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np
from PIL import Image, ImageDraw, ImageFont

from anime_dcgan.commands import command, import_tensorflow, program_name
from anime_dcgan.images import make_grid, save_png


def labelled_row(faces: np.ndarray, label: str, label_width: int, font: ImageFont.ImageFont) -> np.ndarray:
    """One row of faces with `label` written in a white margin on its left."""
    strip = make_grid(faces, columns=len(faces))
    row = Image.new("RGB", (label_width + strip.shape[1], strip.shape[0]), "white")
    row.paste(Image.fromarray(strip), (label_width, 0))
    ImageDraw.Draw(row).text((6, strip.shape[0] // 2), label, fill="black", font=font, anchor="lm")
    return np.asarray(row)


def compare(runs: list[str | Path], labels: list[str], faces: int = 8, seed: int = 0) -> np.ndarray:
    """A picture with one row per run: `faces` faces from the seed's noise, labelled, all at the largest run's size
    (smaller runs' faces are scaled up by whole pixels)."""
    from anime_dcgan.sampling import generate_faces, load_generator

    font = ImageFont.load_default(size=14)
    label_width = 12 + max(round(font.getlength(label)) for label in labels)
    drawn = [generate_faces(load_generator(run), faces, seed) for run in runs]
    size = max(batch.shape[1] for batch in drawn)
    rows = [
        labelled_row(scale_up(batch, size // batch.shape[1]), label, label_width, font)
        for batch, label in zip(drawn, labels)
    ]
    return np.concatenate(rows)


def scale_up(images: np.ndarray, factor: int) -> np.ndarray:
    """NHWC images `factor` times larger, each pixel a factor x factor block."""
    return images.repeat(factor, axis=1).repeat(factor, axis=2)


@command
def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog=program_name("anime_dcgan.compare"), description=__doc__)
    parser.add_argument("runs", nargs="*", default=["pretrained"],
                        help="run folders, .keras generator files or 'pretrained' (the package's own), one row each "
                        "(default: pretrained)")
    parser.add_argument("--labels", nargs="+", help="row labels (default: the run folders' names)")
    parser.add_argument("--faces", type=int, default=8, help="faces per row (default: 8)")
    parser.add_argument("--seed", type=int, default=0, help="noise seed shared by every row (default: 0)")
    parser.add_argument("--out", default="variants.png", help="PNG file to write (default: variants.png)")
    args = parser.parse_args(argv)
    labels = args.labels or [Path(run).stem for run in args.runs]
    if len(labels) != len(args.runs):
        parser.error(f"--labels gave {len(labels)} labels for {len(args.runs)} runs")
    import_tensorflow()  # only once the command line is read
    picture = compare(args.runs, labels, args.faces, args.seed)
    print(f"Wrote {save_png(picture, args.out)}")
    return 0


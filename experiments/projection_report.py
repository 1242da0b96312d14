"""How well projection reconstructs faces the generator never trained on: projects the first N faces of FACES (sorted by
name) with the pretrained generator, and matches each against the best of 100 random latents (the same 100 for every
face) by the same loss; prints mean PSNR and perceptual distance of both and the seconds per projection, and writes
a picture of the first faces: targets, projections, best random latents (one row each).

Usage: python experiments/projection_report.py FACES [--n 50] [--picture docs/projection.png] [--steps 200]
       [--starts 8] [--refine-steps 30]   (from the repository's root; set ANIME_DCGAN_INCEPTION for the
       perceptual distance, else it matches and reports pixels only)
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import numpy as np
from PIL import Image

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))  # the checkout's package

from anime_dcgan import projection, sampling  # noqa: E402
from anime_dcgan.data import find_image_files  # noqa: E402
from anime_dcgan.images import make_grid, save_png  # noqa: E402

RANDOM_LATENTS, RANDOM_SEED = 100, 1  # the baseline: seed 0 is the projection's own starts
PICTURED = 8  # faces in the picture


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("faces", type=Path, help="folder of held-out faces")
    parser.add_argument("--n", type=int, default=50, help="faces to project (default: 50)")
    parser.add_argument("--picture", type=Path, help="write targets, projections and best random latents here")
    parser.add_argument("--steps", type=int, default=200)
    parser.add_argument("--starts", type=int, default=8)
    parser.add_argument("--refine-steps", type=int, default=30)
    return parser.parse_args()


def summary(name: str, psnrs: list[float], perceptual: list[float | None], pixel: list[float]) -> str:
    distance = "-" if perceptual[0] is None else f"{np.mean(perceptual):.3f}"
    return f"| {name} | {np.mean(psnrs):.2f} | {distance} | {np.mean(pixel):.4f} |"


def main() -> None:
    args = parse_args()
    generator = sampling.load_generator()
    perceptual = projection.perceptual_features()
    size = generator.output_shape[1]
    files = find_image_files(args.faces)[: args.n]
    print(f"{len(files)} faces of {args.faces}; perceptual distance: "
          f"{'FID Inception pool_3' if perceptual else 'none (pixels only)'}; steps {args.steps}, starts "
          f"{args.starts}, refine steps {args.refine_steps if perceptual else 0}", flush=True)  # fmt: skip
    started = time.perf_counter()
    candidates = projection.random_candidates(generator, RANDOM_LATENTS, RANDOM_SEED, perceptual)
    print(f"{RANDOM_LATENTS} random latents and their features: {time.perf_counter() - started:.1f} s", flush=True)
    rows = {"projected": [], f"best of {RANDOM_LATENTS} random": []}
    targets, seconds = [], []
    for index, path in enumerate(files):
        target = projection.fit_image(np.asarray(Image.open(path).convert("RGB")), size)
        started = time.perf_counter()
        found = projection.project(generator, target, args.steps, args.starts, perceptual=perceptual,
                                   refine_steps=args.refine_steps, progress=False)  # fmt: skip
        seconds.append(time.perf_counter() - started)
        baseline = projection.best_candidate(candidates, target, perceptual)
        targets.append(target)
        for results, result in zip(rows.values(), (found, baseline)):
            results.append(result)
        print(f"{index + 1}/{len(files)} {path.name}: PSNR {projection.psnr(found.face, target):.2f} dB (random "
              f"{projection.psnr(baseline.face, target):.2f}), loss {found.loss:.4f} (random {baseline.loss:.4f}), "
              f"{seconds[-1]:.1f} s", flush=True)  # fmt: skip
    print("\n| latents | PSNR (dB) ↑ | perceptual distance ↓ | pixel distance ↓ |\n| --- | --- | --- | --- |")
    for name, results in rows.items():
        psnrs = [projection.psnr(result.face, target) for result, target in zip(results, targets)]
        print(summary(name, psnrs, [r.perceptual_distance for r in results], [r.pixel_distance for r in results]))
    print(f"\n{np.mean(seconds):.1f} s per projection (median {np.median(seconds):.1f} s), N = {len(files)}")
    if args.picture:
        shown = [targets[:PICTURED], *([r.face for r in results[:PICTURED]] for results in rows.values())]
        save_png(make_grid(np.stack([face for row in shown for face in row]), columns=len(shown[0])), args.picture)
        print(f"Wrote {args.picture}: targets, projections, best random latents (one row each)")


if __name__ == "__main__":
    main()

"""Find the noise whose face best matches an image: `python -m anime_dcgan.project FACE.png --out DIR` (the
generator that ships with the package, or `--model runs/faces`). Writes DIR/side_by_side.png (the face as the
generator sees it | its reconstruction), DIR/latent.npy (`generate --latent` draws it again) and a walk from the
reconstruction to a random face, DIR/walk.gif and DIR/walk.mp4. The match is by pixels plus, when the FID Inception
network's weights are at hand (--inception-weights or $ANIME_DCGAN_INCEPTION), the distance of its features."""

from __future__ import annotations

import argparse
from pathlib import Path

from anime_dcgan.commands import UsageError, at_least, command, import_tensorflow, program_name
from anime_dcgan.errors import UserError
from anime_dcgan.images import read_picture



def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog=program_name("anime_dcgan.project"), description=__doc__)
    parser.add_argument("face", metavar="FACE", help="an image of a face (PNG, JPEG, ...); centre-cropped to a square")
    parser.add_argument("--model", default="pretrained", help="run folder (uses its generator.keras), a .keras file, "
                        "or 'pretrained': the generator that ships with the package (default)")
    parser.add_argument("--out", default="projection", help="folder for what it writes (default: projection)")
    parser.add_argument("--steps", type=at_least(1), default=200, help="Adam steps on every start (default: 200)")
    parser.add_argument("--starts", type=at_least(1), default=8, help="random starts, the best kept (default: 8)")
    parser.add_argument("--refine-steps", type=at_least(0), default=30, help="steps on the best start by pixels and "
                        "perceptual distance, when the Inception weights are at hand (default: 30)")
    parser.add_argument("--seed", type=int, default=0, help="noise seed of the starts and of the walk's end")
    parser.add_argument("--frames", type=at_least(2), default=60, help="frames of the walk (default: 60)")
    parser.add_argument("--inception-weights", metavar="FILE", help="the FID Inception network's weights for the "
                        "perceptual distance (default: $ANIME_DCGAN_INCEPTION, else pixels only)")
    return parser  # fmt: skip


@command
def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    out = Path(args.out)
    if out.exists() and not out.is_dir():
        raise UsageError(f"--out {out} is a file: name a folder for the projection's files")
    face = read_picture(args.face)
    import_tensorflow()  # only once the command line and the image are read
    from anime_dcgan import projection, sampling

    generator = sampling.load_generator(args.model)
    perceptual = projection.perceptual_features(args.inception_weights)
    if perceptual is None:
        print("Matching by pixels only: pass --inception-weights or set ANIME_DCGAN_INCEPTION for perceptual features")
    else:
        print("Matching by pixels and the features of the FID Inception network (pool_3)")
    target = projection.fit_image(face, generator.output_shape[1])
    result = projection.project(generator, target, args.steps, args.starts, perceptual=perceptual,
                                refine_steps=args.refine_steps, seed=args.seed)  # fmt: skip
    perceptual_text = "" if result.perceptual_distance is None else f", perceptual {result.perceptual_distance:.4f}"
    print(f"PSNR {projection.psnr(result.face, target):.2f} dB; distances: pixel {result.pixel_distance:.4f}"
          f"{perceptual_text}")  # fmt: skip
    print(f"Wrote {', '.join(map(str, write_outputs(generator, target, result, out, args)))}")
    return 0


def write_outputs(generator, target, result, out: Path, args: argparse.Namespace) -> list[Path]:
    """The side-by-side picture, the latent and the walk from the reconstruction to the face of --seed."""
    import numpy as np

    from anime_dcgan import sampling
    from anime_dcgan.images import make_grid, save_png

    out.mkdir(parents=True, exist_ok=True)
    written = [save_png(make_grid(np.stack([target, result.face]), columns=2), out / "side_by_side.png")]
    np.save(out / "latent.npy", result.latent)
    written.append(out / "latent.npy")
    keys = np.stack([result.latent, sampling.seed_latents([args.seed], len(result.latent))[0]])
    frames = sampling.draw(generator, sampling.walk(keys, args.frames))
    written.append(sampling.write_animation(frames, out / "walk.gif"))
    try:
        written.append(sampling.write_animation(frames, out / "walk.mp4"))
    except UserError as missing:  # the GIF is written; say how to get the MP4 too
        print(f"Skipped {out / 'walk.mp4'}: {missing}")
    return written

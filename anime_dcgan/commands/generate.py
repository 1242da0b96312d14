"""Draw new faces: `python -m anime_dcgan.generate --out faces.png` (the generator that ships with the package), or
`--model runs/faces` for a run's. `--seeds 3,17,42` draws one face per seed, `--truncation 0.7` trades variety for
cleaner faces, `--interpolate 3,17,42 --frames 60` writes a walk through those seeds' faces as a GIF and an MP4, and
`--latent z.npy` draws from saved noise (such as `project`'s)."""

from __future__ import annotations

import argparse
from pathlib import Path

from anime_dcgan.commands import UsageError, at_least, command, import_tensorflow, program_name
from anime_dcgan.errors import UserError


def seed_list(text: str) -> list[int]:
    """An argparse type: comma-separated whole numbers, e.g. 3,17,42."""
    try:
        seeds = [int(part) for part in text.split(",") if part.strip()]
    except ValueError:
        raise argparse.ArgumentTypeError(f"must be whole numbers separated by commas, e.g. 3,17,42, not {text}") from None
    if not seeds or any(seed < 0 or seed >= 2**32 for seed in seeds):
        raise argparse.ArgumentTypeError(f"must be seeds from 0 to {2**32 - 1}, e.g. 3,17,42, not {text}")
    return seeds


def truncation(text: str) -> float:
    """An argparse type: psi in [0, 1]."""
    try:
        psi = float(text)
    except ValueError:
        psi = -1.0
    if not 0 <= psi <= 1:
        raise argparse.ArgumentTypeError(f"must be a number from 0 to 1 (1: no truncation), not {text}")
    return psi


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog=program_name("anime_dcgan.generate"), description=__doc__)
    parser.add_argument("--model", default="pretrained", help="run folder (uses its generator.keras), a .keras file, "
                        "or 'pretrained': the generator that ships with the package (default)")
    parser.add_argument("--n", type=at_least(1), default=64, help="number of faces (default: 64)")
    parser.add_argument("--seed", type=int, default=0, help="noise seed: the same seed draws the same faces")
    faces = parser.add_mutually_exclusive_group()
    faces.add_argument("--seeds", type=seed_list, metavar="S,S,...", help="one face per seed, in order (in place of "
                       "--n and --seed): seed s is the face --seed s --n 1 draws")
    faces.add_argument("--interpolate", type=seed_list, metavar="S,S,...", help="a walk through these seeds' faces "
                       "(spherical interpolation of their noise), written as OUT.gif and OUT.mp4")
    faces.add_argument("--latent", metavar="FILE.npy", help="draw from saved noise vectors: one of the generator's "
                       "latent length, or a row of them (project writes one)")
    parser.add_argument("--frames", type=at_least(2), default=60, help="--interpolate: frames of the walk (default: 60)")
    parser.add_argument("--loop", action="store_true", help="--interpolate: walk back to the first seed, to loop")
    parser.add_argument("--fps", type=at_least(1), default=24, help="--interpolate: frames a second (default: 24)")
    parser.add_argument("--truncation", type=truncation, default=1.0, metavar="PSI",
                        help="pull the noise towards its mean: 1 leaves it (default), 0.7 or 0.5 trade variety for "
                        "cleaner faces, 0 draws the mean face")  # fmt: skip
    parser.add_argument("--out", help="a .png file for a grid, or a folder for one PNG per face (default: faces.png); "
                        "with --interpolate, the animations' name (default: walk, for walk.gif and walk.mp4)")
    parser.add_argument("--columns", type=int, help="faces per row of the grid (default: about square)")
    return parser


@command
def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if args.interpolate:
        if len(args.interpolate) < 2:
            raise UsageError("--interpolate needs two seeds or more, e.g. --interpolate 3,17")
        out = Path(args.out or "walk")
        outputs = [out.with_suffix(".gif"), out.with_suffix(".mp4")]
    else:
        out = Path(args.out or "faces.png")
        if out.suffix and out.suffix.lower() != ".png" and not out.is_dir():
            raise UsageError(f"--out {out}: name a .png file for a grid, or a folder for one PNG per face")
    latent_file = Path(args.latent) if args.latent else None
    if latent_file and not latent_file.is_file():
        raise UsageError(f"--latent {latent_file} does not exist: pass a .npy file of noise, such as project writes")
    import_tensorflow()  # only once the command line is read
    from anime_dcgan import sampling

    generator = sampling.load_generator(args.model)
    latent_dim = generator.input_shape[-1]
    if args.interpolate:
        keys = sampling.truncate(sampling.seed_latents(args.interpolate, latent_dim), args.truncation)
        frames = sampling.draw(generator, sampling.walk(keys, args.frames, args.loop))
        written = [sampling.write_animation(frames, outputs[0], args.fps)]
        try:
            written.append(sampling.write_animation(frames, outputs[1], args.fps))
        except UserError as missing:  # the GIF is written; say how to get the MP4 too
            print(f"Skipped {outputs[1]}: {missing}")
        print(f"Wrote a walk of {args.frames} frames through seeds {','.join(map(str, args.interpolate))} to "
              f"{' and '.join(map(str, written))}")  # fmt: skip
        return 0
    if latent_file:
        latent = load_latent(latent_file, latent_dim)
    elif args.seeds:
        latent = sampling.seed_latents(args.seeds, latent_dim)
    else:
        latent = sampling.latent_noise(args.n, latent_dim, args.seed)
    replacing = out.is_file()
    faces = sampling.draw(generator, sampling.truncate(latent, args.truncation))
    written = sampling.write_faces(faces, out, args.columns)
    replaced = " (replacing the file that was there)" if replacing else ""
    print(f"Wrote {len(faces)} faces to {written[0] if len(written) == 1 else out}{replaced}")
    return 0


def load_latent(path: Path, latent_dim: int):
    """Noise vectors from a .npy file: one vector of `latent_dim` numbers, or rows of them."""
    import numpy as np

    try:
        latent = np.load(path, allow_pickle=False)
    except (OSError, ValueError) as error:
        raise UsageError(f"--latent {path} is not a .npy array ({error}): pass one that project wrote") from None
    latent = latent.reshape(1, -1) if latent.ndim == 1 else latent
    if latent.ndim != 2 or latent.shape[1] != latent_dim:
        raise UsageError(f"--latent {path} holds an array of shape {latent.shape}: this generator takes noise vectors "
                         f"of {latent_dim} numbers, one per row")  # fmt: skip
    return latent.astype("float32")

"""Draw new faces: `python -m anime_dcgan.generate --out faces.png` (the generator that ships with the package), or
`--model runs/faces` for a run's."""

from __future__ import annotations

import argparse
from pathlib import Path

from anime_dcgan.commands import UsageError, at_least, command, import_tensorflow, program_name


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog=program_name("anime_dcgan.generate"), description=__doc__)
    parser.add_argument("--model", default="pretrained", help="run folder (uses its generator.keras), a .keras file, "
                        "or 'pretrained': the generator that ships with the package (default)")
    parser.add_argument("--n", type=at_least(1), default=64, help="number of faces (default: 64)")
    parser.add_argument("--seed", type=int, default=0, help="noise seed: the same seed draws the same faces")
    parser.add_argument("--out", default="faces.png", help="a .png file for a grid, or a folder for one PNG per face")
    parser.add_argument("--columns", type=int, help="faces per row of the grid (default: about square)")
    return parser


@command
def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    out = Path(args.out)
    if out.suffix and out.suffix.lower() != ".png" and not out.is_dir():
        raise UsageError(f"--out {args.out}: name a .png file for a grid, or a folder for one PNG per face")
    replacing = out.is_file()
    import_tensorflow()  # only once the command line is read
    from anime_dcgan.sampling import generate_faces, load_generator, write_faces

    generator = load_generator(args.model)
    written = write_faces(generate_faces(generator, args.n, args.seed), out, args.columns)
    replaced = " (replacing the file that was there)" if replacing else ""
    print(f"Wrote {args.n} faces to {written[0] if len(written) == 1 else out}{replaced}")
    return 0

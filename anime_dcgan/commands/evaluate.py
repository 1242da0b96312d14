"""Measure FID and KID against real faces: `python -m anime_dcgan.evaluate --data faces --model runs/faces`.

Uses the standard FID network (TensorFlow's Inception graph of 2015-12-05). FID depends on the number of images
(it is biased upward below 2,048): compare only numbers measured at the same --n. Lower is better for both.
"""

from __future__ import annotations

import argparse
from pathlib import Path

from anime_dcgan.commands import at_least, command, import_tensorflow, program_name


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog=program_name("anime_dcgan.evaluate"), description=__doc__)
    parser.add_argument("--data", required=True, help="folder of real face images (searched recursively)")
    fake = parser.add_mutually_exclusive_group(required=True)
    fake.add_argument("--model", help="run folder (uses its generator.keras) or a .keras file: measure its faces")
    fake.add_argument("--images", help="folder of generated images to measure (searched recursively)")
    parser.add_argument(
        "--n", type=at_least(2), default=10_000, help="faces to draw with --model (default: 10000); FID depends on n"
    )
    parser.add_argument("--seed", type=int, default=0, help="noise seed of the faces drawn with --model")
    parser.add_argument(
        "--image-size",
        type=int,
        help="with --images: decode both folders at N x N pixels (default: the size of the first image in "
        "--images); --model always uses the generator's size",
    )
    parser.add_argument(
        "--inception-weights",
        metavar="FILE",
        help="inception-2015-12-05.tgz, its classify_image_graph_def.pb, or an .npz of its weights "
        "(default: $ANIME_DCGAN_INCEPTION, else downloaded once)",
    )
    parser.add_argument("--no-cache", action="store_true", help="do not read or write cached features of folders")
    return parser


def check_folder(path: str, flag: str) -> Path:
    """The folder `path`, or an error naming `flag` if it is not one."""
    from anime_dcgan.data import DataError

    folder = Path(path).expanduser()
    if not folder.is_dir():
        state = "is a file, not a folder" if folder.exists() else "does not exist"
        raise DataError(f"{flag} {folder} {state}: pass a folder of face images")
    return folder


def image_size_of(folder: Path) -> int:
    """The side of the (centre-cropped) first image in `folder`."""
    from PIL import Image, UnidentifiedImageError

    from anime_dcgan.data import DataError, find_image_files

    first = find_image_files(folder)[0]
    try:
        with Image.open(first) as image:
            return min(image.size)
    except (OSError, UnidentifiedImageError) as error:
        raise DataError(f"cannot read {first} ({type(error).__name__}): pass --image-size N") from None


def generator_size(generator) -> int:
    """The side of the square RGB faces that `generator` draws."""
    from anime_dcgan.sampling import ModelError

    shape = tuple(generator.output_shape)
    if len(shape) != 4 or shape[1] != shape[2] or shape[3] != 3:
        raise ModelError(f"the generator draws {shape[1:]} arrays, not square RGB images: pass a face generator")
    return shape[1]


def evaluate(args: argparse.Namespace) -> dict[str, float]:
    """FID and KID between the --data folder and the --model's faces or the --images folder."""
    from anime_dcgan import metrics
    from anime_dcgan.data import find_image_files
    from anime_dcgan.sampling import load_generator

    real = check_folder(args.data, "--data")
    find_image_files(real)  # fail early, before loading anything large
    if args.model:
        generator = load_generator(args.model)
        image_size = generator_size(generator)
    else:
        images = check_folder(args.images, "--images")
        find_image_files(images)
        image_size = args.image_size or image_size_of(images)
    inception = metrics.load_inception(args.inception_weights)
    print(f"Inception features of the real images in {real} at {image_size} px")
    real_features = metrics.folder_features(inception, real, image_size, cache=not args.no_cache, progress=True)
    if args.model:
        print(f"Inception features of {args.n} faces drawn by {args.model} (seed {args.seed})")
        fake_features = metrics.generator_features(inception, generator, args.n, args.seed, progress=True)
    else:
        print(f"Inception features of the images in {images} at {image_size} px")
        fake_features = metrics.folder_features(inception, images, image_size, cache=not args.no_cache, progress=True)
    return metrics.fid_kid(real_features, fake_features)


@command
def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if args.image_size is not None and (args.model or args.image_size < 1):
        parser.error("--image-size takes a positive size and goes with --images (--model uses its generator's)")

    import_tensorflow()  # only once the command line is read
    scores = evaluate(args)
    print(f"fid={scores['fid']:.4f}")
    print(f"kid={scores['kid']:.6f} ± {scores['kid_std']:.6f}")
    return 0


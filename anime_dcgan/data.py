"""The tf.data input pipeline: a folder of face images -> shuffled batches of float images in [-1, 1]."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import tensorflow as tf

from anime_dcgan.config import IMAGE_EXTENSIONS

SHUFFLE_BUFFER = 10_000
MIN_IMAGE_SIDE = 16  # smaller images are skipped, not blown up into training faces
HOLDOUT_SEED = 2015  # fixed, so every run on a folder holds out the same faces whatever its --seed


class DataError(ValueError):
    """The training data cannot be used; the message says what to do."""


@dataclass(frozen=True)
class ImageFolder:
    """What a scan of the data folder found."""

    root: Path
    images: int
    skipped: tuple[str, ...]

    def describe(self) -> str:
        text = f"{self.images} images in {self.root}"
        if self.skipped:
            examples = ", ".join(self.skipped[:3]) + (", ..." if len(self.skipped) > 3 else "")
            text += f"; skipped {len(self.skipped)} unreadable or tiny (under {MIN_IMAGE_SIDE} px) file(s): {examples}"
        return text


def find_image_files(root: str | Path) -> list[Path]:
    """Every image file below `root` (recursively), sorted; raises DataError if there is none."""
    root = Path(root).expanduser()
    if not root.exists():
        raise DataError(f"data folder {root} does not exist: pass --data with a folder of face images")
    if not root.is_dir():
        raise DataError(f"--data {root} is a file, not a folder: pass the folder that holds the images")
    files = sorted(p for p in root.rglob("*") if p.suffix.lower() in IMAGE_EXTENSIONS and p.is_file())
    if not files:
        raise DataError(
            f"no images in {root}: it needs {'/'.join(e[1:] for e in IMAGE_EXTENSIONS)} files (searched recursively)"
        )
    return files


def split_holdout(files: list[Path], holdout: float) -> tuple[list[Path], list[Path]]:
    """(training files, held-out files): `holdout` files (a count, or a fraction of them if below 1) drawn by a
    fixed seed, so the same folder always gives the same split."""
    count = round(holdout * len(files)) if holdout < 1 else int(holdout)
    if not 0 < count < len(files):
        raise DataError(
            f"--holdout {holdout:g} leaves {len(files) - count} of {len(files)} images for training: "
            "hold out fewer (a count, or a fraction below 1)"
        )
    held = set(np.random.default_rng(HOLDOUT_SEED).permutation(len(files))[:count].tolist())
    return [f for i, f in enumerate(files) if i not in held], [f for i, f in enumerate(files) if i in held]


def decode_image(path: tf.Tensor, image_size: int) -> tf.Tensor:
    """Read one file and return it as a centre-cropped, resized uint8 RGB image of image_size x image_size.

    An image whose shorter side is below MIN_IMAGE_SIDE fails like an unreadable one, so pipelines skip both.
    """
    data = tf.io.read_file(path)
    is_webp = tf.strings.regex_full_match(tf.strings.lower(path), r".*\.webp")
    image = tf.cond(
        is_webp,
        lambda: tf.io.decode_webp(data)[0, :, :, :3],
        lambda: tf.io.decode_image(data, channels=3, expand_animations=False),
    )
    image.set_shape([None, None, 3])
    height, width = tf.shape(image)[0], tf.shape(image)[1]
    side = tf.minimum(height, width)
    big_enough = tf.debugging.assert_greater_equal(side, MIN_IMAGE_SIDE, message="image too small to train on")
    with tf.control_dependencies([big_enough]):
        side = tf.identity(side)
    image = tf.image.crop_to_bounding_box(image, (height - side) // 2, (width - side) // 2, side, side)
    image = tf.image.resize(image, [image_size, image_size], method="area", antialias=True)
    return tf.cast(tf.clip_by_value(tf.round(image), 0, 255), tf.uint8)


def load_images(
    root: str | Path, image_size: int, files: list[Path] | None = None
) -> tuple[tf.data.Dataset, ImageFolder]:
    """Decode every readable image under `root` (or just `files`, if given) once into an in-memory cache.

    Unreadable and tiny files are dropped and listed in the returned ImageFolder; the dataset yields uint8 images.
    """
    files = find_image_files(root) if files is None else files
    paths = tf.data.Dataset.from_tensor_slices([str(p) for p in files])
    decoded = (
        paths.map(lambda p: (p, decode_image(p, image_size)), num_parallel_calls=tf.data.AUTOTUNE)
        .ignore_errors()
        .cache()
    )
    readable: set[str] = set()
    for batch_paths, _ in decoded.batch(1024):  # one full pass decodes everything and fills the cache
        readable.update(p.decode() for p in batch_paths.numpy())
    skipped = tuple(str(p.relative_to(root)) for p in files if str(p) not in readable)
    folder = ImageFolder(Path(root), len(readable), skipped)
    if not readable:
        raise DataError(f"none of the {len(files)} image files in {root} could be decoded: check the files")
    return decoded.map(lambda _, image: image), folder


def to_unit_range(images: tf.Tensor) -> tf.Tensor:
    """uint8 pixels -> float32 in [-1, 1], the range of the generator's tanh."""
    return tf.cast(images, tf.float32) / 127.5 - 1.0


def make_dataset(
    root: str | Path, image_size: int, batch_size: int, seed: int | None = None, files: list[Path] | None = None
) -> tuple[tf.data.Dataset, ImageFolder]:
    """Shuffled, batched (remainder dropped), prefetched images in [-1, 1] from the folder `root` (or `files`)."""
    images, folder = load_images(root, image_size, files)
    if folder.images < batch_size:
        raise DataError(
            f"{root} has {folder.images} readable images, fewer than the {batch_size} of one training step: "
            "add images or lower --batch-size (or --d-steps)"
        )
    dataset = (
        images.shuffle(min(folder.images, SHUFFLE_BUFFER), seed=seed, reshuffle_each_iteration=True)
        .batch(batch_size, drop_remainder=True)
        .apply(tf.data.experimental.assert_cardinality(folder.images // batch_size))  # for Keras's progress bar
        .map(to_unit_range, num_parallel_calls=tf.data.AUTOTUNE)
        .prefetch(tf.data.AUTOTUNE)
    )
    return dataset, folder

"""The tf.data input pipeline: a folder of face images -> shuffled batches of float images in [-1, 1]."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import tensorflow as tf

from anime_dcgan.config import IMAGE_EXTENSIONS

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


def load_images(root: str | Path, image_size: int, files: list[Path] | None = None) -> tuple[tf.Variable, ImageFolder]:
    """Decode every readable image under `root` (or just `files`, if given) once, in parallel, into one uint8 array
    in memory, shaped (images, image_size, image_size, 3): batches are gathered from it, so no epoch touches the disk.

    Unreadable and tiny files are dropped and listed in the returned ImageFolder.
    """
    files = find_image_files(root) if files is None else files
    paths = tf.data.Dataset.from_tensor_slices([str(p) for p in files])
    decoded = paths.map(lambda p: (p, decode_image(p, image_size)), num_parallel_calls=tf.data.AUTOTUNE).ignore_errors()
    readable: set[str] = set()
    arrays = []
    for batch_paths, batch_images in decoded.batch(1024):
        readable.update(p.decode() for p in batch_paths.numpy())
        arrays.append(batch_images.numpy())
    skipped = tuple(str(p.relative_to(root)) for p in files if str(p) not in readable)
    folder = ImageFolder(Path(root), len(readable), skipped)
    if not readable:
        raise DataError(f"none of the {len(files)} image files in {root} could be decoded: check the files")
    # A variable, not a constant: tf.data functions capture it by reference, so its size is not limited to 2 GB.
    return tf.Variable(np.concatenate(arrays), trainable=False, name="decoded_images"), folder


def to_unit_range(images: tf.Tensor) -> tf.Tensor:
    """uint8 pixels -> float32 in [-1, 1], the range of the generator's tanh."""
    return tf.cast(images, tf.float32) / 127.5 - 1.0


def gathered(images: tf.Variable, index_batches: tf.data.Dataset, scaled: bool = True) -> tf.data.Dataset:
    """Batches of `images` taken by batches of indices, prefetched: in [-1, 1], or as uint8 pixels if not `scaled`."""
    scale = to_unit_range if scaled else tf.identity
    return index_batches.map(lambda indices: scale(tf.gather(images, indices)), tf.data.AUTOTUNE).prefetch(tf.data.AUTOTUNE)


def shuffled_indices(count: int, batch_size: int, seed: int | None) -> tf.data.Dataset:
    """Batches (remainder dropped) of the indices 0..count-1, in a new order on every pass, fixed by `seed`."""
    indices = tf.data.Dataset.range(count).shuffle(count, seed=seed, reshuffle_each_iteration=True)
    return indices.batch(batch_size, drop_remainder=True)


def make_dataset(
    root: str | Path, image_size: int, batch_size: int, seed: int | None = None, files: list[Path] | None = None
) -> tuple[tf.data.Dataset, ImageFolder]:
    """Shuffled, batched (remainder dropped), prefetched images in [-1, 1] from the folder `root` (or `files`).

    Each pass over the dataset is one epoch, in a new order.
    """
    images, folder = load_images(root, image_size, files)
    check_enough(folder, batch_size)
    steps = folder.images // batch_size
    indices = shuffled_indices(folder.images, batch_size, seed)
    return gathered(images, indices.apply(tf.data.experimental.assert_cardinality(steps))), folder


def check_enough(folder: ImageFolder, batch_size: int) -> None:
    if folder.images < batch_size:
        raise DataError(
            f"{folder.root} has {folder.images} readable images, fewer than the {batch_size} of one training step: "
            "add images or lower --batch-size (or --d-steps)"
        )


def training_stream(
    images: tf.Variable, batch_size: int, seed: int, first_epoch: int = 0, first_step: int = 0, scaled: bool = False
) -> tf.data.Dataset:
    """Endless batches of `images`, epoch after epoch, starting at step `first_step` of `first_epoch`: as uint8
    pixels (the GAN scales them on its device: a quarter of the bytes of float32 to copy there), or in [-1, 1] if
    `scaled`.

    The order of every epoch follows from `seed` alone, and skipping ahead skips indices, not images, so a run
    resumed at any step (in a new process) sees the batches an uninterrupted run would have, at once.
    """
    count = int(images.shape[0])
    indices = shuffled_indices(count, batch_size, seed).repeat()
    stream = gathered(images, indices.skip(first_epoch * (count // batch_size) + first_step), scaled)
    options = tf.data.Options()  # several workers share out the batches (they come from memory, not files)
    options.experimental_distribute.auto_shard_policy = tf.data.experimental.AutoShardPolicy.DATA
    return stream.with_options(options)

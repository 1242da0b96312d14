"""The tf.data input pipeline: a folder of face images -> shuffled batches of float images in [-1, 1]."""

from __future__ import annotations

import hashlib
import json
import os
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import tensorflow as tf

from anime_dcgan.errors import UserError
from anime_dcgan.config import IMAGE_EXTENSIONS

MIN_IMAGE_SIDE = 16  # smaller images are skipped, not blown up into training faces
HOLDOUT_SEED = 2015  # fixed, so every run on a folder holds out the same faces whatever its --seed
# Decoded sets too big for memory go to a file here, made once and reused by every later run on the same files.
CACHE_DIR = Path(os.environ.get("ANIME_DCGAN_CACHE", "~/.cache/anime_dcgan")).expanduser() / "images"


class DataError(UserError, ValueError):
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


Images = tf.Variable | np.ndarray  # decoded faces, (images, side, side, 3) uint8: in memory, or a file's memory map


def load_images(root: str | Path, image_size: int, files: list[Path] | None = None) -> tuple[Images, ImageFolder]:
    """Decode every readable image under `root` (or just `files`, if given) once, in parallel, into one uint8 array
    shaped (images, image_size, image_size, 3), from which batches are gathered: in memory when it takes at most half
    of the memory available, else in a file under CACHE_DIR (see `cached_images`).

    Unreadable and tiny files are dropped and listed in the returned ImageFolder.
    """
    root = Path(root)
    files = find_image_files(root) if files is None else files
    if len(files) * image_size * image_size * 3 > available_memory() // 2:
        return cached_images(root, image_size, files)
    readable, arrays = [], []
    for paths, images in decoded_batches(files, image_size):
        readable += paths
        arrays.append(images)
    folder = found(root, files, readable)
    # A variable, not a constant: tf.data functions capture it by reference, so its size is not limited to 2 GB.
    return tf.Variable(np.concatenate(arrays), trainable=False, name="decoded_images"), folder


def decoded_batches(files: list[Path], image_size: int) -> Iterator[tuple[list[str], np.ndarray]]:
    """(paths, uint8 images) of the readable files, up to 1,024 at a time, decoded in parallel."""
    paths = tf.data.Dataset.from_tensor_slices([str(p) for p in files])
    decoded = paths.map(lambda p: (p, decode_image(p, image_size)), num_parallel_calls=tf.data.AUTOTUNE).ignore_errors()
    for batch_paths, batch_images in decoded.batch(1024):
        yield [p.decode() for p in batch_paths.numpy()], batch_images.numpy()


def found(root: Path, files: list[Path], readable: list[str]) -> ImageFolder:
    """What decoding `files` gave: the readable count and the skipped files; DataError if none was readable."""
    if not readable:
        raise DataError(f"none of the {len(files)} image files in {root} could be decoded: check the files")
    kept = set(readable)
    return ImageFolder(root, len(readable), tuple(str(p.relative_to(root)) for p in files if str(p) not in kept))


def available_memory() -> int:
    """Bytes of memory available for new data: MemAvailable on Linux, else all physical memory."""
    try:
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemAvailable:"):
                return int(line.split()[1]) * 1024
    except OSError:
        pass
    return os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")


def cached_images(root: Path, image_size: int, files: list[Path]) -> tuple[np.ndarray, ImageFolder]:
    """The decoded images as a read-only memory map of a file in CACHE_DIR, written on first use (decoding each
    image once, as in memory) and reused by every later run on the same files at the same size.

    The file is named by the files' paths, sizes and modification times: a changed folder gets a new one. It is
    complete only once its .json record is written, so a run cut short while writing it starts it again.
    """
    listing = "\n".join(f"{p}:{p.stat().st_size}:{p.stat().st_mtime_ns}" for p in files) + f"\n{image_size}"
    array_file = CACHE_DIR / f"{hashlib.sha256(listing.encode()).hexdigest()[:20]}-{image_size}px.npy"
    record_file = array_file.with_suffix(".json")
    if not record_file.exists():
        print(f"Decoding {len(files)} images at {image_size} px into {array_file} (once: too many to hold in memory)")
        CACHE_DIR.mkdir(parents=True, exist_ok=True)
        array = np.lib.format.open_memmap(array_file, "w+", np.uint8, (len(files), image_size, image_size, 3))
        readable: list[str] = []
        for paths, images in decoded_batches(files, image_size):
            array[len(readable) : len(readable) + len(paths)] = images
            readable += paths
        array.flush()
        del array
        found(root, files, readable)  # nothing readable: no record, DataError
        record_file.write_text(json.dumps({"readable": readable}))
    readable = json.loads(record_file.read_text())["readable"]
    return np.load(array_file, mmap_mode="r")[: len(readable)], found(root, files, readable)


def to_unit_range(images: tf.Tensor) -> tf.Tensor:
    """uint8 pixels -> float32 in [-1, 1], the range of the generator's tanh."""
    return tf.cast(images, tf.float32) / 127.5 - 1.0


def gathered(images: Images, index_batches: tf.data.Dataset, scaled: bool = True) -> tf.data.Dataset:
    """Batches of `images` taken by batches of indices, prefetched: in [-1, 1], or as uint8 pixels if not `scaled`."""
    scale = to_unit_range if scaled else tf.identity
    return index_batches.map(lambda indices: scale(take(images, indices)), tf.data.AUTOTUNE).prefetch(tf.data.AUTOTUNE)


def take(images: Images, indices: tf.Tensor) -> tf.Tensor:
    """The images at `indices`, from memory or, for a file's memory map, read from the file."""
    if isinstance(images, tf.Variable):
        return tf.gather(images, indices)
    batch = tf.numpy_function(lambda rows: images[rows], [indices], tf.uint8, stateful=False)
    batch.set_shape([None, *images.shape[1:]])
    return batch


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
    images: Images,
    batch_size: int,
    seed: int,
    first_epoch: int = 0,
    first_step: int = 0,
    scaled: bool = False,
    mirror: bool = False,
) -> tf.data.Dataset:
    """Endless batches of `images`, epoch after epoch, starting at step `first_step` of `first_epoch`: as uint8
    pixels (the GAN scales them on its device: a quarter of the bytes of float32 to copy there), or in [-1, 1] if
    `scaled`; with `mirror`, each image flipped left to right or not by a coin (see `mirrored`).

    The order of every epoch follows from `seed` alone, and skipping ahead skips indices, not images, so a run
    resumed at any step (in a new process) sees the batches an uninterrupted run would have, at once.
    """
    count = int(images.shape[0])
    indices = shuffled_indices(count, batch_size, seed).repeat()
    first = first_epoch * (count // batch_size) + first_step
    stream = gathered(images, indices.skip(first), scaled)
    if mirror:
        stream = mirrored(stream, seed, first)
    options = tf.data.Options()  # several workers share out the batches (they come from memory, not files)
    options.experimental_distribute.auto_shard_policy = tf.data.experimental.AutoShardPolicy.DATA
    return stream.with_options(options)


def mirrored(batches: tf.data.Dataset, seed: int, first_step: int = 0) -> tf.data.Dataset:
    """`batches` with each image flipped left to right with probability 1/2: a face drawn either way is still a face,
    so the training set is twice as large (x-flips). The coins of step s follow from (seed, s) alone, so a run
    resumed at step `first_step` flips as an uninterrupted one did."""

    def flip(step: tf.Tensor, images: tf.Tensor) -> tf.Tensor:
        count = tf.shape(images)[0]
        heads = tf.random.stateless_uniform([count], seed=tf.stack([tf.cast(seed, tf.int64), step])) < 0.5
        both_ways = tf.concat([images, tf.reverse(images, axis=[2])], axis=0)
        # Each face's way in one gather: quicker than a tf.where over every pixel.
        return tf.gather(both_ways, tf.range(count) + count * tf.cast(heads, tf.int32))

    return batches.enumerate(first_step).map(flip, tf.data.AUTOTUNE).prefetch(tf.data.AUTOTUNE)

"""Inception features of images: of a folder (decoded as training decodes it, cached per folder and network) or of a
generator's faces."""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Iterator
from pathlib import Path

import keras
import numpy as np

from anime_dcgan.data import decoded_batches, find_image_files
from anime_dcgan.files import replace_atomically
from anime_dcgan.metrics.errors import MetricsError
from anime_dcgan.metrics.inception import CACHE_ROOT, FEATURE_DIM
from anime_dcgan.progress import progress_bar
from anime_dcgan.sampling import generate_faces

FEATURE_CACHE = CACHE_ROOT / "fid"  # features of real-image folders
FEATURE_VERSION = "inception-2015-12-05|tf1-bilinear-299|(x-128)/128|pool_3|v1"  # part of every cache key
BATCH_SIZE = 25  # images per forward pass


def _batches(images: np.ndarray | Iterable[np.ndarray]) -> Iterator[np.ndarray]:
    """Chunks of at most BATCH_SIZE images from one NHWC array or an iterable of them."""
    for batch in [images] if isinstance(images, np.ndarray) else images:
        batch = np.asarray(batch)
        for start in range(0, len(batch), BATCH_SIZE):
            yield batch[start : start + BATCH_SIZE]


def _extract(model: keras.Model, images, total: int | None, progress: bool) -> np.ndarray:
    bar = progress_bar(total, "image") if progress else None
    features, seen = [], 0
    for batch in _batches(images):
        features.append(np.asarray(model.predict_on_batch(batch.astype(np.float32)), np.float32))
        seen += len(batch)
        if bar is not None:
            bar.update(seen)
    if bar is not None and seen != total:  # unknown total, or unreadable files left out: end the bar's line anyway
        bar.update(seen, finalize=True)
    return np.concatenate(features) if features else np.zeros((0, FEATURE_DIM), np.float32)


def compute_features(
    model: keras.Model, images: np.ndarray | Iterable[np.ndarray], progress: bool = False
) -> np.ndarray:
    """float32 (N, 2048) features of uint8 NHWC images: one array, or an iterable of batches."""
    total = len(images) if isinstance(images, np.ndarray) else None
    return _extract(model, images, total, progress)


def weights_fingerprint(model: keras.Model) -> str:
    """A short hash of all the model's weights: which network made some features."""
    digest = hashlib.sha1()
    for array in model.get_weights():
        digest.update(np.ascontiguousarray(array).tobytes())
    return digest.hexdigest()[:16]


def _cache_file(model: keras.Model, folder: Path, files: list[Path], image_size: int) -> Path:
    folder = folder.expanduser().resolve()
    newest = max(p.stat().st_mtime_ns for p in files)
    names = hashlib.sha1("\n".join(str(p) for p in files).encode()).hexdigest()
    identity = f"{folder}|{len(files)}|{names}|{newest}|{image_size}|{weights_fingerprint(model)}|{FEATURE_VERSION}"
    key = hashlib.sha1(identity.encode()).hexdigest()[:20]
    return Path(FEATURE_CACHE) / f"{folder.name or 'root'}-{image_size}px-{key}.npy"


def _read_cache(path: Path) -> np.ndarray | None:
    try:
        features = np.load(path)
    except (OSError, ValueError):  # missing or damaged: compute again
        return None
    return features if features.ndim == 2 else None


def _write_cache(path: Path, features: np.ndarray) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    replace_atomically(path, lambda temporary: np.save(temporary, features))


def folder_features(
    model: keras.Model,
    folder: str | Path,
    image_size: int,
    cache: bool = True,
    progress: bool = False,
    files: list[Path] | None = None,
) -> np.ndarray:
    """Features of every image under `folder` (recursively, sorted), or of just `files` in it, decoded at
    image_size as for training; cached in FEATURE_CACHE, keyed by the folder, its files and their newest mtime, the
    size and the weights."""
    folder = Path(folder)
    files = find_image_files(folder) if files is None else files
    path = _cache_file(model, folder, files, image_size) if cache else None
    if path is not None and (features := _read_cache(path)) is not None:
        return features
    decoded = (images for _, images in decoded_batches(files, image_size))
    features = _extract(model, decoded, len(files), progress)
    if len(features) == 0:
        raise MetricsError(f"none of the {len(files)} image files in {folder} could be decoded: check the files")
    if path is not None:
        _write_cache(path, features)
    return features


def generator_features(
    model: keras.Model, generator: keras.Model, n: int, seed: int = 0, progress: bool = False
) -> np.ndarray:
    """Features of `n` faces drawn by `generator` from the noise of `seed` (as `sampling.generate_faces` draws them)."""
    return compute_features(model, generate_faces(generator, n, seed), progress)

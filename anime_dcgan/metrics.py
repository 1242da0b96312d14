"""FID and KID with the standard FID network (TensorFlow's Inception graph of 2015-12-05) rebuilt in Keras.

The features are those of every published FID: float pixels in [0, 255], TF1 bilinear resize to 299 x 299,
(x - 128) / 128, the 2048-d `pool_3` average. FID is the Frechet distance of their float64 means and
covariances; KID the unbiased polynomial-kernel MMD^2 averaged over random subsets. FID depends on the number of
images (it is biased upward below 2,048): compare only numbers measured at the same count.
"""

from __future__ import annotations

import functools
import hashlib
import os
import tarfile
import zipfile
from collections.abc import Iterable, Iterator, Mapping
from pathlib import Path

import keras
import numpy as np
import tensorflow as tf

from anime_dcgan.data import decode_image, find_image_files
from anime_dcgan.generate import generate_faces

INCEPTION_URL = "http://download.tensorflow.org/models/image/imagenet/inception-2015-12-05.tgz"
INCEPTION_ENV = "ANIME_DCGAN_INCEPTION"
GRAPH_FILE = "classify_image_graph_def.pb"  # the graph inside the .tgz
CACHE_ROOT = Path("~/.cache/anime_dcgan").expanduser()  # the downloaded .tgz goes under CACHE_ROOT/inception
FEATURE_CACHE = CACHE_ROOT / "fid"  # features of real-image folders
FEATURE_VERSION = "inception-2015-12-05|tf1-bilinear-299|(x-128)/128|pool_3|v1"  # part of every cache key
INPUT_SIZE = 299
FEATURE_DIM = 2048
BATCH_SIZE = 25  # images per forward pass
KID_SUBSETS = 100
KID_SUBSET_SIZE = 1000
KID_PRECOMPUTE_LIMIT = 3 * 3000**2  # kernel entries (float64) worth computing once for all subsets
BATCHNORM_PARAMS = ("beta", "moving_mean", "moving_variance")  # no gamma: the graph does not scale
HOW_TO_GET_WEIGHTS = (
    f"pass --inception-weights FILE (inception-2015-12-05.tgz, its {GRAPH_FILE}, or an .npz of its weights) "
    f"or set {INCEPTION_ENV}"
)


class MetricsError(ValueError):
    """FID/KID cannot be measured; the message says what to do."""


# ----------------------------------------------------------------------------- the network


class Tf1Preprocess(keras.layers.Layer):
    """Float pixels in [0, 255] of any size -> the network's input: TF1 bilinear resize to 299 (align_corners and
    half_pixel_centers off, i.e. output pixel i samples input coordinate i * size_in / 299), then (x - 128) / 128."""

    def call(self, images):
        # the op behind tf.compat.v1.image.resize_bilinear, without its deprecation warning
        resized = tf.raw_ops.ResizeBilinear(
            images=images, size=[INPUT_SIZE, INPUT_SIZE], align_corners=False, half_pixel_centers=False
        )
        return (resized - 128.0) / 128.0

    def compute_output_shape(self, input_shape):
        return (input_shape[0], INPUT_SIZE, INPUT_SIZE, input_shape[-1])


class _Network:
    """Builds the graph's layers, naming each after its node ('mixed_9/tower/conv' -> layer 'mixed_9.tower.conv')
    and remembering the conv + batch norm pairs in forward order."""

    def __init__(self) -> None:
        self.units: list[tuple[str, keras.layers.Conv2D, keras.layers.BatchNormalization]] = []

    def conv(self, node: str, x, filters: int, kernel, strides: int = 1, padding: str = "same"):
        """The graph's conv unit: convolution without bias, batch norm without scale (epsilon 0.001), ReLU."""
        name = node.replace("/", ".")
        conv = keras.layers.Conv2D(filters, kernel, strides=strides, padding=padding, use_bias=False, name=name)
        norm = keras.layers.BatchNormalization(epsilon=0.001, scale=False, name=f"{name}.batchnorm")
        self.units.append((node, conv, norm))
        return keras.layers.ReLU(name=f"{name}.relu")(norm(conv(x)))

    def chain(self, prefix: str, x, *specs):
        """Convs one after another: specs are (node suffix, filters, kernel[, strides, padding])."""
        for suffix, *spec in specs:
            x = self.conv(f"{prefix}/{suffix}", x, *spec)
        return x

    @staticmethod
    def pool(kind: str, node: str, x, strides: int, padding: str):
        layer = keras.layers.MaxPooling2D if kind == "max" else keras.layers.AveragePooling2D
        return layer(3, strides=strides, padding=padding, name=node.replace("/", "."))(x)

    def block_a(self, name: str, x, pool_filters: int):
        """mixed, mixed_1, mixed_2 (35 x 35)."""
        return keras.layers.Concatenate(name=name)([
            self.conv(f"{name}/conv", x, 64, 1),
            self.chain(f"{name}/tower", x, ("conv", 48, 1), ("conv_1", 64, 5)),
            self.chain(f"{name}/tower_1", x, ("conv", 64, 1), ("conv_1", 96, 3), ("conv_2", 96, 3)),
            self.conv(f"{name}/tower_2/conv", self.pool("avg", f"{name}/tower_2/pool", x, 1, "same"), pool_filters, 1),
        ])

    def block_b(self, name: str, x):
        """mixed_3: 35 x 35 -> 17 x 17."""
        return keras.layers.Concatenate(name=name)([
            self.conv(f"{name}/conv", x, 384, 3, 2, "valid"),
            self.chain(f"{name}/tower", x, ("conv", 64, 1), ("conv_1", 96, 3), ("conv_2", 96, 3, 2, "valid")),
            self.pool("max", f"{name}/pool", x, 2, "valid"),
        ])

    def block_c(self, name: str, x, width: int):
        """mixed_4 ... mixed_7 (17 x 17), with factorised 7 x 7 convolutions."""
        return keras.layers.Concatenate(name=name)([
            self.conv(f"{name}/conv", x, 192, 1),
            self.chain(f"{name}/tower", x, ("conv", width, 1), ("conv_1", width, (1, 7)), ("conv_2", 192, (7, 1))),
            self.chain(
                f"{name}/tower_1",
                x,
                ("conv", width, 1),
                ("conv_1", width, (7, 1)),
                ("conv_2", width, (1, 7)),
                ("conv_3", width, (7, 1)),
                ("conv_4", 192, (1, 7)),
            ),
            self.conv(f"{name}/tower_2/conv", self.pool("avg", f"{name}/tower_2/pool", x, 1, "same"), 192, 1),
        ])

    def block_d(self, name: str, x):
        """mixed_8: 17 x 17 -> 8 x 8."""
        return keras.layers.Concatenate(name=name)([
            self.chain(f"{name}/tower", x, ("conv", 192, 1), ("conv_1", 320, 3, 2, "valid")),
            self.chain(
                f"{name}/tower_1",
                x,
                ("conv", 192, 1),
                ("conv_1", 192, (1, 7)),
                ("conv_2", 192, (7, 1)),
                ("conv_3", 192, 3, 2, "valid"),
            ),
            self.pool("max", f"{name}/pool", x, 2, "valid"),
        ])

    def block_e(self, name: str, x, pool: str):
        """mixed_9 and mixed_10 (8 x 8); the graph's mixed_10 pools its last branch with a max pool."""
        tower = self.conv(f"{name}/tower/conv", x, 384, 1)
        tower_1 = self.chain(f"{name}/tower_1", x, ("conv", 448, 1), ("conv_1", 384, 3))
        return keras.layers.Concatenate(name=name)([
            self.conv(f"{name}/conv", x, 320, 1),
            self.conv(f"{name}/tower/mixed/conv", tower, 384, (1, 3)),
            self.conv(f"{name}/tower/mixed/conv_1", tower, 384, (3, 1)),
            self.conv(f"{name}/tower_1/mixed/conv", tower_1, 384, (1, 3)),
            self.conv(f"{name}/tower_1/mixed/conv_1", tower_1, 384, (3, 1)),
            self.conv(f"{name}/tower_2/conv", self.pool(pool, f"{name}/tower_2/pool", x, 1, "same"), 192, 1),
        ])

    def build(self) -> keras.Model:
        images = keras.Input((None, None, 3), name="images")
        x = Tf1Preprocess(name="preprocess")(images)
        x = self.conv("conv", x, 32, 3, 2, "valid")
        x = self.conv("conv_1", x, 32, 3, 1, "valid")
        x = self.conv("conv_2", x, 64, 3)
        x = self.pool("max", "pool", x, 2, "valid")
        x = self.conv("conv_3", x, 80, 1, 1, "valid")
        x = self.conv("conv_4", x, 192, 3, 1, "valid")
        x = self.pool("max", "pool_1", x, 2, "valid")
        for name, pool_filters in (("mixed", 32), ("mixed_1", 64), ("mixed_2", 64)):
            x = self.block_a(name, x, pool_filters)
        x = self.block_b("mixed_3", x)
        for name, width in (("mixed_4", 128), ("mixed_5", 160), ("mixed_6", 160), ("mixed_7", 192)):
            x = self.block_c(name, x, width)
        x = self.block_d("mixed_8", x)
        x = self.block_e("mixed_9", x, "avg")
        x = self.block_e("mixed_10", x, "max")
        features = keras.layers.GlobalAveragePooling2D(name="pool_3")(x)  # the 8 x 8 average pool
        return keras.Model(images, features, name="inception_2015_12_05")


def _expected_shapes(units) -> dict[str, tuple[int, ...]]:
    """Every weight node of the graph and the shape its layer needs, in forward order."""
    shapes = {}
    for node, conv, _ in units:
        shapes[f"{node}/conv2d_params"] = tuple(conv.kernel.shape)
        for param in BATCHNORM_PARAMS:
            shapes[f"{node}/batchnorm/{param}"] = (conv.filters,)
    return shapes


@functools.cache
def expected_weight_shapes() -> dict[str, tuple[int, ...]]:
    """{graph node name: shape} of every weight the network reads, in forward order (kernels are HWIO)."""
    network = _Network()
    network.build()
    return _expected_shapes(network.units)


def build_inception(weights: Mapping[str, np.ndarray]) -> keras.Model:
    """The network with `weights` (keyed by graph node names); MetricsError names the first missing or misfit node."""
    network = _Network()
    model = network.build()
    for key, shape in _expected_shapes(network.units).items():
        if key not in weights:
            raise MetricsError(f"the Inception weights lack node {key}: {HOW_TO_GET_WEIGHTS}")
        if tuple(np.shape(weights[key])) != shape:
            raise MetricsError(
                f"Inception weight node {key} has shape {tuple(np.shape(weights[key]))}, its layer needs {shape}: "
                f"{HOW_TO_GET_WEIGHTS}"
            )
    for node, conv, norm in network.units:
        conv.set_weights([weights[f"{node}/conv2d_params"]])
        norm.set_weights([weights[f"{node}/batchnorm/{param}"] for param in BATCHNORM_PARAMS])
    return model


# ----------------------------------------------------------------------------- reading the weights


def _is_weight_node(name: str) -> bool:
    return name.endswith("/conv2d_params") or any(name.endswith(f"/batchnorm/{p}") for p in BATCHNORM_PARAMS)


def weights_from_graph(serialized: bytes) -> dict[str, np.ndarray]:
    """The weight Const nodes of a serialized GraphDef (classify_image_graph_def.pb), by node name."""
    graph = tf.compat.v1.GraphDef()
    graph.ParseFromString(serialized)
    return {
        node.name: tf.make_ndarray(node.attr["value"].tensor)
        for node in graph.node
        if node.op == "Const" and _is_weight_node(node.name)
    }


def _graph_in_archive(path: Path) -> bytes:
    with tarfile.open(path) as archive:
        member = next((m for m in archive.getmembers() if m.name.endswith(GRAPH_FILE)), None)
        if member is None:
            raise MetricsError(f"{path} holds no {GRAPH_FILE}: {HOW_TO_GET_WEIGHTS}")
        return archive.extractfile(member).read()


def read_inception_weights(path: str | os.PathLike) -> dict[str, np.ndarray]:
    """Weights by graph node name from the .tgz archive, its classify_image_graph_def.pb, or an .npz."""
    path = Path(path).expanduser()
    if not path.is_file():
        state = "is not a file" if path.exists() else "does not exist"
        raise MetricsError(f"Inception weights file {path} {state}: {HOW_TO_GET_WEIGHTS}")
    try:
        if zipfile.is_zipfile(path):
            with np.load(path) as archive:
                weights = {key: archive[key] for key in archive.files}
        elif tarfile.is_tarfile(path):
            weights = weights_from_graph(_graph_in_archive(path))
        else:
            weights = weights_from_graph(path.read_bytes())
    except MetricsError:
        raise
    except Exception as error:  # numpy, tarfile and protobuf raise many types for a foreign file
        reason = type(error).__name__
        raise MetricsError(f"{path} is not readable Inception weights ({reason}): {HOW_TO_GET_WEIGHTS}") from None
    if not weights:
        raise MetricsError(f"{path} holds none of the Inception's weights: {HOW_TO_GET_WEIGHTS}")
    return weights


def _download_weights() -> Path:
    """The .tgz, downloaded once into CACHE_ROOT/inception (no published checksum to verify it against)."""
    try:
        return Path(
            keras.utils.get_file(
                "inception-2015-12-05.tgz", INCEPTION_URL, cache_dir=str(CACHE_ROOT), cache_subdir="inception"
            )
        )
    except Exception as error:  # urllib, http and OS errors, re-raised by Keras as plain Exception
        reason = (str(error).strip().splitlines() or [type(error).__name__])[-1]
        raise MetricsError(f"could not download the Inception weights ({reason}): {HOW_TO_GET_WEIGHTS}") from None


def weights_file(weights: str | os.PathLike | None = None) -> Path:
    """`weights`, else $ANIME_DCGAN_INCEPTION, else the downloaded (and cached) .tgz."""
    if weights is not None:
        return Path(weights)
    if os.environ.get(INCEPTION_ENV):
        return Path(os.environ[INCEPTION_ENV])
    return _download_weights()


def load_inception(weights: str | os.PathLike | None = None) -> keras.Model:
    """The FID network: float images in [0, 255] (N, H, W, 3) of any fixed size -> (N, 2048) pool_3 features."""
    return build_inception(read_inception_weights(weights_file(weights)))


# ----------------------------------------------------------------------------- features


def _batches(images: np.ndarray | Iterable[np.ndarray]) -> Iterator[np.ndarray]:
    """Chunks of at most BATCH_SIZE images from one NHWC array or an iterable of them."""
    for batch in [images] if isinstance(images, np.ndarray) else images:
        batch = np.asarray(batch)
        for start in range(0, len(batch), BATCH_SIZE):
            yield batch[start : start + BATCH_SIZE]


def _extract(model: keras.Model, images, total: int | None, progress: bool) -> np.ndarray:
    bar = keras.utils.Progbar(total, unit_name="image") if progress else None
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


def _decoded(files: list[Path], image_size: int) -> Iterator[np.ndarray]:
    """uint8 batches of the readable files, cropped and resized as training sees them; unreadable ones dropped."""
    paths = tf.data.Dataset.from_tensor_slices([str(p) for p in files])
    images = paths.map(lambda p: decode_image(p, image_size), num_parallel_calls=tf.data.AUTOTUNE)
    for batch in images.ignore_errors().batch(BATCH_SIZE).prefetch(2):
        yield batch.numpy()


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
    """Write via a temporary file and a rename, so readers never see half a file."""
    path.parent.mkdir(parents=True, exist_ok=True)
    temporary = path.with_name(f"{path.name}.{os.getpid()}.tmp")
    with open(temporary, "wb") as file:
        np.save(file, features)
    os.replace(temporary, path)


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
    features = _extract(model, _decoded(files, image_size), len(files), progress)
    if len(features) == 0:
        raise MetricsError(f"none of the {len(files)} image files in {folder} could be decoded: check the files")
    if path is not None:
        _write_cache(path, features)
    return features


def generator_features(
    model: keras.Model, generator: keras.Model, n: int, seed: int = 0, progress: bool = False
) -> np.ndarray:
    """Features of `n` faces drawn by `generator` from the noise of `seed` (as anime_dcgan.generate draws them)."""
    return compute_features(model, generate_faces(generator, n, seed), progress)


# ----------------------------------------------------------------------------- distances


class FeatureStatistics:
    """Mean and covariance of features from float64 sums, so batch by batch equals all at once."""

    def __init__(self) -> None:
        self.count = 0
        self.sum: np.ndarray | None = None
        self.outer_sum: np.ndarray | None = None

    def update(self, features: np.ndarray) -> FeatureStatistics:
        features = np.asarray(features, np.float64)
        if self.sum is None:
            self.sum = np.zeros(features.shape[1])
            self.outer_sum = np.zeros((features.shape[1], features.shape[1]))
        self.count += len(features)
        self.sum += features.sum(axis=0)
        self.outer_sum += features.T @ features
        return self

    @property
    def mean(self) -> np.ndarray:
        return self.sum / self.count

    @property
    def covariance(self) -> np.ndarray:
        """The unbiased sample covariance (as np.cov)."""
        if self.count < 2:
            raise MetricsError(f"a covariance needs at least 2 images, not {self.count}")
        return (self.outer_sum - self.count * np.outer(self.mean, self.mean)) / (self.count - 1)


def _psd_sqrt(matrix: np.ndarray) -> np.ndarray:
    """The symmetric square root of a symmetric positive semi-definite matrix (negative round-off clipped)."""
    values, vectors = np.linalg.eigh(matrix)
    return (vectors * np.sqrt(np.clip(values, 0, None))) @ vectors.T


def frechet_distance(mu1: np.ndarray, sigma1: np.ndarray, mu2: np.ndarray, sigma2: np.ndarray) -> float:
    """|mu1 - mu2|^2 + tr(sigma1 + sigma2 - 2 sqrtm(sigma1 sigma2)), also for singular covariances.

    tr sqrtm(sigma1 sigma2) is the sum of the square roots of the eigenvalues of the symmetric PSD matrix
    sqrt(sigma1) sigma2 sqrt(sigma1), which has the same eigenvalues as sigma1 sigma2."""
    mu1, mu2, sigma1, sigma2 = (np.asarray(a, np.float64) for a in (mu1, mu2, sigma1, sigma2))
    root = _psd_sqrt(sigma1)
    product = root @ sigma2 @ root
    eigenvalues = np.linalg.eigvalsh((product + product.T) / 2)
    trace_covmean = np.sqrt(np.clip(eigenvalues, 0, None)).sum()
    diff = mu1 - mu2
    return float(diff @ diff + np.trace(sigma1) + np.trace(sigma2) - 2 * trace_covmean)


def features_frechet_distance(real_features: np.ndarray, fake_features: np.ndarray) -> float:
    """The Frechet distance of two feature sets' float64 statistics.

    With fewer images than dimensions the covariances are singular, and tr sqrtm(sigma1 sigma2) is cheaper as the
    sum of the singular values of A B^T / sqrt((n1 - 1)(n2 - 1)), A and B the centred features (n1 x n2)."""
    real, fake = np.asarray(real_features, np.float64), np.asarray(fake_features, np.float64)
    if min(len(real), len(fake)) >= real.shape[1]:
        a, b = FeatureStatistics().update(real), FeatureStatistics().update(fake)
        return frechet_distance(a.mean, a.covariance, b.mean, b.covariance)
    mu1, mu2 = real.mean(axis=0), fake.mean(axis=0)
    centred1, centred2 = real - mu1, fake - mu2
    scale1, scale2 = len(real) - 1, len(fake) - 1
    trace_covmean = np.linalg.svd(centred1 @ centred2.T, compute_uv=False).sum() / np.sqrt(scale1 * scale2)
    diff = mu1 - mu2
    traces = np.sum(centred1**2) / scale1 + np.sum(centred2**2) / scale2
    return float(diff @ diff + traces - 2 * trace_covmean)


def _polynomial_kernel(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    return (a @ b.T / a.shape[1] + 1) ** 3


def _unbiased_mmd2(k_xx: np.ndarray, k_yy: np.ndarray, k_xy: np.ndarray) -> float:
    m = len(k_xy)
    within = k_xx.sum() - np.trace(k_xx) + k_yy.sum() - np.trace(k_yy)
    return within / (m * (m - 1)) - 2 * k_xy.sum() / (m * m)


def kernel_inception_distance(
    real_features: np.ndarray,
    fake_features: np.ndarray,
    subsets: int = KID_SUBSETS,
    subset_size: int = KID_SUBSET_SIZE,
    seed: int = 0,
) -> tuple[float, float]:
    """(mean, std) over `subsets` random subsets of min(subset_size, n_real, n_fake) of the unbiased MMD^2 with
    k(x, y) = (x.y / d + 1)^3; each subset draws its fake rows, then its real rows, from RandomState(seed)."""
    fake = np.asarray(fake_features, np.float64)
    real = np.asarray(real_features, np.float64)
    m = min(subset_size, len(real), len(fake))
    if m < 2:
        raise MetricsError(f"KID needs at least 2 real and 2 generated images, not {len(real)} and {len(fake)}")
    precompute = len(fake) ** 2 + len(real) ** 2 + len(fake) * len(real) <= KID_PRECOMPUTE_LIMIT
    if precompute:
        k_ff, k_rr = _polynomial_kernel(fake, fake), _polynomial_kernel(real, real)
        k_fr = _polynomial_kernel(fake, real)
    rng = np.random.RandomState(seed)
    values = []
    for _ in range(subsets):
        f = rng.choice(len(fake), m, replace=False)
        r = rng.choice(len(real), m, replace=False)
        if precompute:
            kernels = k_ff[np.ix_(f, f)], k_rr[np.ix_(r, r)], k_fr[np.ix_(f, r)]
        else:
            x, y = fake[f], real[r]
            kernels = _polynomial_kernel(x, x), _polynomial_kernel(y, y), _polynomial_kernel(x, y)
        values.append(_unbiased_mmd2(*kernels))
    return float(np.mean(values)), float(np.std(values))


def fid_kid(real_features: np.ndarray, fake_features: np.ndarray) -> dict[str, float]:
    """{"fid", "kid", "kid_std"} between two sets of features (FID from float64 statistics)."""
    for name, features in (("real", real_features), ("generated", fake_features)):
        if np.ndim(features) != 2 or len(features) < 2:
            raise MetricsError(f"FID needs features of at least 2 {name} images, got shape {np.shape(features)}")
    if np.shape(real_features)[1] != np.shape(fake_features)[1]:
        raise MetricsError(f"feature sizes differ: {np.shape(real_features)[1]} and {np.shape(fake_features)[1]}")
    fid = features_frechet_distance(real_features, fake_features)
    kid, kid_std = kernel_inception_distance(real_features, fake_features)
    return {"fid": fid, "kid": kid, "kid_std": kid_std}

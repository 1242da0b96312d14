"""The standard FID network, TensorFlow's Inception graph of 2015-12-05, rebuilt in Keras: its layers, and its
weights read from the .tgz, the graph inside it, or an .npz (downloaded once when none is given)."""

from __future__ import annotations

import functools
import os
import tarfile
import zipfile
from collections.abc import Mapping
from pathlib import Path

import keras
import numpy as np
import tensorflow as tf

from anime_dcgan.metrics.errors import MetricsError

INCEPTION_URL = "http://download.tensorflow.org/models/image/imagenet/inception-2015-12-05.tgz"
INCEPTION_ENV = "ANIME_DCGAN_INCEPTION"
GRAPH_FILE = "classify_image_graph_def.pb"  # the graph inside the .tgz
CACHE_ROOT = Path("~/.cache/anime_dcgan").expanduser()  # the downloaded .tgz goes under CACHE_ROOT/inception
INPUT_SIZE = 299
FEATURE_DIM = 2048
BATCHNORM_PARAMS = ("beta", "moving_mean", "moving_variance")  # no gamma: the graph does not scale
HOW_TO_GET_WEIGHTS = (
    f"pass --inception-weights FILE (inception-2015-12-05.tgz, its {GRAPH_FILE}, or an .npz of its weights) "
    f"or set {INCEPTION_ENV}"
)


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

"""DCGAN generator and discriminator (Radford et al. 2015, arXiv:1511.06434)."""

from __future__ import annotations

import keras
from keras import layers, ops

from anime_dcgan import distribute
from anime_dcgan.cpu_layers import FusedBatchNormalization, SmallMapConv2D, SmallMapConv2DTranspose
from anime_dcgan.config import GENERATOR_ACTIVATIONS, IMAGE_SIZES, UPSAMPLINGS

CRITIC_NORMALIZATIONS = ("batch", "layer", "none")

# The paper initialises every weight from N(0, 0.02); BatchNorm scales from N(1, 0.02).
# One initializer per layer, made when the layer is: each takes its own seed from the global random state, so
# keras.utils.set_random_seed fixes every starting weight (one shared instance would give equal layers equal weights).


def weight_init() -> keras.initializers.Initializer:
    return keras.initializers.RandomNormal(mean=0.0, stddev=0.02)


def gamma_init() -> keras.initializers.Initializer:
    return keras.initializers.RandomNormal(mean=1.0, stddev=0.02)


def feature_channels(image_size: int, width: int) -> list[int]:
    """Channels of the feature maps at 4x4, 8x8, ... up to image_size / 2 (generator order).

    64 px with width 64 gives the paper's 512, 256, 128, 64; each size up adds one block of `width` channels.
    """
    if image_size not in IMAGE_SIZES:
        raise ValueError(f"image_size must be one of {IMAGE_SIZES}, not {image_size}")
    if width < 1:
        raise ValueError(f"width must be a positive number of channels, not {width}")
    blocks = image_size.bit_length() - 3  # 4x4 .. image_size/2: log2(image_size) - 2 resolutions
    return [max(width, 8 * width >> i) for i in range(blocks)]


@keras.saving.register_keras_serializable(package="anime_dcgan")
class ClipWeights(keras.constraints.Constraint):
    """Keeps every weight in [-limit, limit] after each optimizer update: WGAN's Lipschitz constraint."""

    def __init__(self, limit: float):
        self.limit = limit

    def __call__(self, weights):
        return keras.ops.clip(weights, -self.limit, self.limit)

    def get_config(self) -> dict:
        return {"limit": self.limit}


@keras.saving.register_keras_serializable(package="anime_dcgan")
class MinibatchStddev(layers.Layer):
    """Appends one channel to a feature map: the standard deviation of each feature over the batch, averaged over
    features and positions (Karras et al. 2018, arXiv:1710.10196). Computed in float32."""

    def call(self, inputs):
        features = ops.cast(inputs, "float32")
        spread = ops.mean(ops.sqrt(ops.var(features, axis=0) + 1e-8))
        channel = ops.cast(ops.ones_like(features[..., :1]) * spread, inputs.dtype)
        return ops.concatenate([inputs, channel], axis=-1)

    def compute_output_shape(self, input_shape):
        return (*input_shape[:-1], input_shape[-1] + 1)


def _batch_norm(constraint=None) -> layers.BatchNormalization:
    # momentum 0.9 matches the paper's code (Torch's 0.1), so the moving statistics used for sampling keep up.
    # Built under a strategy with several replicas, its batch statistics are those of the global batch.
    return FusedBatchNormalization(
        momentum=0.9,
        epsilon=1e-5,
        gamma_initializer=gamma_init(),
        gamma_constraint=constraint,
        beta_constraint=constraint,
        synchronized=distribute.replicas() > 1,
    )


def _activation(name: str) -> layers.Layer:
    if name == "relu":
        return layers.ReLU()
    if name == "leaky_relu":
        return layers.LeakyReLU(negative_slope=0.2)
    raise ValueError(f"generator activation must be one of {GENERATOR_ACTIVATIONS}, not {name!r}")


def _upsample(x, filters: int, upsample: str, use_bias: bool):
    """Double the feature map's height and width, with `filters` channels out."""
    if upsample == "transpose":  # the paper's fractionally-strided convolution
        transpose = SmallMapConv2DTranspose if x.shape[1] == 4 else layers.Conv2DTranspose
        return transpose(
            filters, 4, strides=2, padding="same", use_bias=use_bias, kernel_initializer=weight_init()
        )(x)
    if upsample == "resize":  # every output pixel sees the same number of inputs: no checkerboard (Odena et al. 2016)
        x = layers.UpSampling2D(2, interpolation="nearest")(x)
        return layers.Conv2D(filters, 3, padding="same", use_bias=use_bias, kernel_initializer=weight_init())(x)
    raise ValueError(f"upsample must be one of {UPSAMPLINGS}, not {upsample!r}")


def build_generator(
    latent_dim: int = 100, image_size: int = 64, width: int = 64, activation: str = "relu", upsample: str = "transpose"
) -> keras.Model:
    """Latent vector -> 4x4 feature map -> upsampling convolutions -> tanh image in [-1, 1].

    `activation` is the paper's "relu" or "leaky_relu" (slope 0.2) after each BatchNorm. `upsample` is the paper's
    "transpose" (4x4 transposed convolutions, stride 2) or "resize" (nearest-neighbour 2x, then a 3x3 convolution).
    """
    channels = feature_channels(image_size, width)
    z = keras.Input((latent_dim,), name="z")
    x = layers.Dense(4 * 4 * channels[0], use_bias=False, kernel_initializer=weight_init())(z)
    x = layers.Reshape((4, 4, channels[0]))(x)
    x = _activation(activation)(_batch_norm()(x))
    for filters in channels[1:]:
        x = _activation(activation)(_batch_norm()(_upsample(x, filters, upsample, use_bias=False)))
    x = _upsample(x, 3, upsample, use_bias=True)
    image = layers.Activation("tanh", dtype="float32", name="image")(x)
    return keras.Model(z, image, name="generator")


def _normalization(name: str, constraint=None) -> layers.Layer | None:
    if name == "batch":
        return _batch_norm(constraint)
    if name == "layer":  # over each sample's whole feature map, as WGAN-GP suggests in place of BatchNorm
        return layers.LayerNormalization(
            axis=[1, 2, 3], epsilon=1e-5, gamma_constraint=constraint, beta_constraint=constraint
        )
    if name == "none":
        return None
    raise ValueError(f"normalization must be one of {CRITIC_NORMALIZATIONS}, not {name!r}")


def spectrally_normalized(layer: layers.Layer) -> layers.Layer:
    """`layer` with its kernel divided by its largest singular value; the wrapper computes in the layer's own dtype
    (so the logit stays float32)."""
    return layers.SpectralNormalization(layer, dtype=layer.dtype_policy)


def logit_layer(constraint=None) -> layers.Dense:
    """A discriminator's last layer: one float32 real/fake logit."""
    return layers.Dense(1, kernel_initializer=weight_init(), kernel_constraint=constraint, bias_constraint=constraint,
                        dtype="float32", name="logit")  # fmt: skip


def build_discriminator(
    image_size: int = 64,
    width: int = 64,
    normalization: str = "batch",
    dropout: float = 0.0,
    clip: float | None = None,
    spectral_norm: bool = False,
    minibatch_std: bool = False,
) -> keras.Model:
    """Image -> strided convolutions with LeakyReLU(0.2), normalised after the first -> one real/fake logit.

    `normalization` is "batch" (the paper), "layer" (for WGAN-GP, whose penalty BatchNorm would break) or "none";
    `dropout` > 0 adds Dropout after every activation; `clip` keeps every weight within +-clip (WGAN);
    `spectral_norm` divides every convolution's and the logit's kernel by its largest singular value, estimated by
    one power iteration per training call (Miyato et al. 2018); `minibatch_std` appends `MinibatchStddev`'s channel
    to the last feature map.
    """

    wrap = spectrally_normalized if spectral_norm else (lambda layer: layer)
    channels = feature_channels(image_size, width)[::-1]
    constraint = ClipWeights(clip) if clip else None
    image = keras.Input((image_size, image_size, 3), name="image")
    x = image
    for i, filters in enumerate(channels):
        norm = None if i == 0 else _normalization(normalization, constraint)
        convolution = SmallMapConv2D if x.shape[1] == 8 else layers.Conv2D
        x = wrap(convolution(
            filters, 4, strides=2, padding="same", use_bias=norm is None, kernel_initializer=weight_init(),
            kernel_constraint=constraint, bias_constraint=constraint,
        ))(x)  # fmt: skip
        if norm is not None:
            x = norm(x)
        x = layers.LeakyReLU(negative_slope=0.2)(x)
        if dropout:
            x = layers.Dropout(dropout)(x)
    if minibatch_std:
        x = MinibatchStddev()(x)
    x = layers.Flatten()(x)
    return keras.Model(image, wrap(logit_layer(constraint))(x), name="discriminator")

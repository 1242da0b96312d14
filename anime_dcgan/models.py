"""DCGAN generator and discriminator (Radford et al. 2015, arXiv:1511.06434)."""

from __future__ import annotations

import keras
from keras import layers

IMAGE_SIZES = (32, 64, 128)

# The paper initialises every weight from N(0, 0.02); BatchNorm scales from N(1, 0.02).
WEIGHT_INIT = keras.initializers.RandomNormal(mean=0.0, stddev=0.02)
GAMMA_INIT = keras.initializers.RandomNormal(mean=1.0, stddev=0.02)


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


def _batch_norm() -> layers.BatchNormalization:
    # momentum 0.9 matches the paper's code (Torch's 0.1), so the moving statistics used for sampling keep up.
    return layers.BatchNormalization(momentum=0.9, epsilon=1e-5, gamma_initializer=GAMMA_INIT)


def build_generator(latent_dim: int = 100, image_size: int = 64, width: int = 64) -> keras.Model:
    """Latent vector -> 4x4 feature map -> strided transposed convolutions -> tanh image in [-1, 1]."""
    channels = feature_channels(image_size, width)
    z = keras.Input((latent_dim,), name="z")
    x = layers.Dense(4 * 4 * channels[0], use_bias=False, kernel_initializer=WEIGHT_INIT)(z)
    x = layers.Reshape((4, 4, channels[0]))(x)
    x = layers.ReLU()(_batch_norm()(x))
    for filters in channels[1:]:
        x = layers.Conv2DTranspose(
            filters, 4, strides=2, padding="same", use_bias=False, kernel_initializer=WEIGHT_INIT
        )(x)
        x = layers.ReLU()(_batch_norm()(x))
    x = layers.Conv2DTranspose(3, 4, strides=2, padding="same", kernel_initializer=WEIGHT_INIT)(x)
    image = layers.Activation("tanh", dtype="float32", name="image")(x)
    return keras.Model(z, image, name="generator")


def build_discriminator(image_size: int = 64, width: int = 64) -> keras.Model:
    """Image -> strided convolutions with LeakyReLU(0.2), BatchNorm after the first -> one real/fake logit."""
    channels = feature_channels(image_size, width)[::-1]
    image = keras.Input((image_size, image_size, 3), name="image")
    x = image
    for i, filters in enumerate(channels):
        first = i == 0
        x = layers.Conv2D(
            filters, 4, strides=2, padding="same", use_bias=first, kernel_initializer=WEIGHT_INIT
        )(x)
        if not first:
            x = _batch_norm()(x)
        x = layers.LeakyReLU(negative_slope=0.2)(x)
    x = layers.Flatten()(x)
    logit = layers.Dense(1, kernel_initializer=WEIGHT_INIT, dtype="float32", name="logit")(x)
    return keras.Model(image, logit, name="discriminator")

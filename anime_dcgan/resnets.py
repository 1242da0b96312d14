"""Residual generator and discriminator (SNGAN/BigGAN style: Miyato et al. 2018, Brock et al. 2019), at the DCGAN
builders' resolutions and widths, so that `--architecture resnet` swaps them in with every other option unchanged.

A generator block: BatchNorm, ReLU, 2x nearest-neighbour upsampling, 3x3 convolution, BatchNorm, ReLU, 3x3
convolution, plus a shortcut that upsamples and projects with a 1x1 convolution. A discriminator block: LeakyReLU,
3x3 convolution, LeakyReLU, 3x3 convolution, 2x2 average pooling, plus a pooled 1x1 projection; the first block
starts from the image itself.
"""

from __future__ import annotations

import keras
from keras import layers

from anime_dcgan.models import (ClipWeights, MinibatchStddev, _batch_norm, _normalization, feature_channels,
                                logit_layer, spectrally_normalized, weight_init)


def conv(filters: int, size: int, **options) -> layers.Conv2D:
    return layers.Conv2D(filters, size, padding="same", kernel_initializer=weight_init(), **options)


def up_block(x, filters: int):
    shortcut = conv(filters, 1)(layers.UpSampling2D(2)(x))
    x = layers.UpSampling2D(2)(layers.ReLU()(_batch_norm()(x)))
    x = conv(filters, 3, use_bias=False)(x)
    x = conv(filters, 3)(layers.ReLU()(_batch_norm()(x)))
    return layers.Add()([x, shortcut])


def build_generator(latent_dim: int = 100, image_size: int = 64, width: int = 64) -> keras.Model:
    """Latent vector -> 4x4 map -> a residual upsampling block per resolution up to image_size / 2 -> a last
    upsampling 3x3 convolution to the tanh image, with DCGAN's channels at each resolution (8, 4, 2, 1 x width)."""
    channels = feature_channels(image_size, width)
    z = keras.Input((latent_dim,), name="z")
    x = layers.Dense(4 * 4 * channels[0], kernel_initializer=weight_init())(z)
    x = layers.Reshape((4, 4, channels[0]))(x)
    for filters in channels[1:]:
        x = up_block(x, filters)
    x = layers.UpSampling2D(2)(layers.ReLU()(_batch_norm()(x)))
    image = layers.Activation("tanh", dtype="float32", name="image")(conv(3, 3)(x))
    return keras.Model(z, image, name="generator")


def build_discriminator(
    image_size: int = 64,
    width: int = 64,
    normalization: str = "none",
    dropout: float = 0.0,
    clip: float | None = None,
    spectral_norm: bool = False,
    minibatch_std: bool = False,
) -> keras.Model:
    """Image -> a residual downsampling block per resolution, to DCGAN's channels at each (1, 2, 4, 8 x width) ->
    LeakyReLU, the mean over the 4x4 map -> one logit. The options are `models.build_discriminator`'s;
    `normalization` follows each block's second convolution."""
    constraint = ClipWeights(clip) if clip else None

    wrap = spectrally_normalized if spectral_norm else (lambda layer: layer)

    def convolution(filters: int, size: int) -> layers.Layer:
        return wrap(conv(filters, size, kernel_constraint=constraint, bias_constraint=constraint))

    image = keras.Input((image_size, image_size, 3), name="image")
    x = image
    for i, filters in enumerate(feature_channels(image_size, width)[::-1]):
        shortcut = convolution(filters, 1)(layers.AveragePooling2D(2)(x))
        h = x if i == 0 else layers.LeakyReLU(negative_slope=0.2)(x)
        h = layers.LeakyReLU(negative_slope=0.2)(convolution(filters, 3)(h))
        h = convolution(filters, 3)(h)
        norm = _normalization(normalization, constraint)
        if norm is not None:
            h = norm(h)
        h = layers.AveragePooling2D(2)(h)
        x = layers.Add()([h, shortcut])
        if dropout:
            x = layers.Dropout(dropout)(x)
    if minibatch_std:
        x = MinibatchStddev()(x)
    x = layers.GlobalAveragePooling2D()(layers.LeakyReLU(negative_slope=0.2)(x))
    return keras.Model(image, wrap(logit_layer(constraint))(x), name="discriminator")

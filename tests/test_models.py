import numpy as np
import pytest
from keras import layers

from anime_dcgan import models


@pytest.mark.parametrize("size", models.IMAGE_SIZES)
def test_generator_makes_images_of_the_requested_size_in_tanh_range(size):
    generator = models.build_generator(latent_dim=8, image_size=size, width=4)
    last = generator.layers[-2]  # the transposed convolution to 3 channels, before tanh
    last.kernel.assign(last.kernel * 1000.0)  # pre-activations far outside [-1, 1], where the range must bind
    # In training mode BatchNorm scales the features to unit variance, so the last layer sees inputs of size ~1.
    images = generator(np.random.default_rng(0).standard_normal((3, 8)).astype("float32"), training=True)
    assert images.shape == (3, size, size, 3)
    assert float(np.min(images)) >= -1.0 and float(np.max(images)) <= 1.0
    assert float(np.min(images)) < -0.99 and float(np.max(images)) > 0.99  # saturated, not merely small


@pytest.mark.parametrize("size", models.IMAGE_SIZES)
def test_discriminator_gives_one_finite_logit_per_image(size):
    discriminator = models.build_discriminator(image_size=size, width=4)
    images = np.random.default_rng(0).uniform(-1, 1, (3, size, size, 3)).astype("float32")
    logits = discriminator(images, training=False)
    assert logits.shape == (3, 1)
    assert np.all(np.isfinite(logits))


def test_64px_channels_follow_the_paper_and_each_size_up_adds_a_block():
    assert models.feature_channels(64, 64) == [512, 256, 128, 64]
    assert models.feature_channels(32, 64) == [512, 256, 128]
    assert models.feature_channels(128, 64) == [512, 256, 128, 64, 64]


def test_unsupported_image_size_is_refused():
    with pytest.raises(ValueError, match="image_size must be one of"):
        models.build_generator(image_size=48)


def test_weights_start_from_normal_0_002():
    generator = models.build_generator()
    kernels = [layer.kernel.numpy() for layer in generator.layers if isinstance(layer, layers.Conv2DTranspose)]
    weights = np.concatenate([k.ravel() for k in kernels])
    assert abs(weights.mean()) < 1e-3
    assert weights.std() == pytest.approx(0.02, rel=0.05)
    gammas = np.concatenate(
        [l.gamma.numpy() for l in generator.layers if isinstance(l, layers.BatchNormalization)]
    )
    assert gammas.mean() == pytest.approx(1.0, abs=0.01) and gammas.std() == pytest.approx(0.02, rel=0.2)


def test_discriminator_has_no_batch_norm_on_its_first_layer():
    discriminator = models.build_discriminator(image_size=64, width=4)
    kinds = [type(layer) for layer in discriminator.layers[1:]]
    assert kinds[:2] == [layers.Conv2D, layers.LeakyReLU]
    assert kinds.count(layers.BatchNormalization) == kinds.count(layers.Conv2D) - 1

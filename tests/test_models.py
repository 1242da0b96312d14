import numpy as np
import pytest
from keras import layers

from anime_dcgan import models


@pytest.mark.parametrize("upsample", models.UPSAMPLINGS)
@pytest.mark.parametrize("size", models.IMAGE_SIZES)
def test_generator_makes_images_of_the_requested_size_in_tanh_range(size, upsample):
    generator = models.build_generator(latent_dim=8, image_size=size, width=4, upsample=upsample)
    last = generator.layers[-2]  # the convolution to 3 channels, before tanh
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


def checkerboard_share(images: np.ndarray) -> float:
    """The share of the images' (mean-removed) power at period-2 frequencies, where a checkerboard lives."""
    centred = images - images.mean(axis=(1, 2), keepdims=True)
    power = np.abs(np.fft.fft2(centred, axes=(1, 2))) ** 2
    half = images.shape[1] // 2
    period_two = power[:, half].sum() + power[:, :, half].sum() - power[:, half, half].sum()
    return float(period_two / power.sum())


def test_resize_upsampling_draws_no_checkerboard_where_transposed_convolutions_do():
    # White noise would put 2/32 of its power there; the paper's 4x4 stride-2 transposed convolutions, fresh from
    # initialisation, put over a quarter, and nearest-neighbour resizing followed by a 3x3 convolution almost none.
    latent = np.random.default_rng(0).standard_normal((16, 8)).astype("float32")
    share = {
        upsample: checkerboard_share(np.asarray(models.build_generator(8, 32, 8, upsample=upsample)(latent, training=True)))
        for upsample in models.UPSAMPLINGS
    }
    assert share["transpose"] > 0.1
    assert share["resize"] < 0.02


def test_resize_generator_is_nearest_upsampling_then_3x3_convolution():
    generator = models.build_generator(latent_dim=8, image_size=32, width=4, upsample="resize")
    ups = [layer for layer in generator.layers if isinstance(layer, layers.UpSampling2D)]
    convs = [layer for layer in generator.layers if isinstance(layer, layers.Conv2D)]
    assert len(ups) == len(convs) == 3  # 4 -> 8 -> 16 -> 32
    assert all(layer.interpolation == "nearest" for layer in ups)
    assert all(layer.kernel_size == (3, 3) for layer in convs)
    assert not any(isinstance(layer, layers.Conv2DTranspose) for layer in generator.layers)


def test_unknown_upsampling_is_refused():
    with pytest.raises(ValueError, match="upsample must be one of"):
        models.build_generator(image_size=32, width=4, upsample="bicubic")


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
    assert sum(issubclass(kind, layers.BatchNormalization) for kind in kinds) == kinds.count(layers.Conv2D) - 1


@pytest.mark.parametrize("dtype", ["float32", "bfloat16"])
def test_fused_batch_norm_trains_like_keras_batch_norm(dtype):
    import tensorflow as tf

    inputs = tf.random.normal((8, 5, 5, 3), seed=1) * 3.0 + 1.0
    policy = None if dtype == "float32" else f"mixed_{dtype}"
    keras_norm = layers.BatchNormalization(momentum=0.9, epsilon=1e-5, dtype=policy)
    fused_norm = models.FusedBatchNormalization(momentum=0.9, epsilon=1e-5, dtype=keras_norm.dtype_policy)
    weights = [np.array([0.5, 1.0, 2.0], "float32"), np.array([0.1, -0.2, 0.3], "float32")]
    results = []
    for norm in (keras_norm, fused_norm):
        norm.build(inputs.shape)
        norm.gamma.assign(weights[0])
        norm.beta.assign(weights[1])
        with tf.GradientTape() as tape:
            tape.watch(inputs)
            outputs = norm(inputs, training=True)
            loss = tf.reduce_sum(tf.cast(outputs, "float32") * tf.range(3, dtype="float32"))
        gradients = tape.gradient(loss, [inputs, norm.gamma, norm.beta])
        results.append([outputs, norm.moving_mean, norm.moving_variance, *gradients, norm(inputs, training=False)])
    tolerance = 1e-4 if dtype == "float32" else 5e-2
    assert results[1][0].dtype == dtype  # computes in the policy's dtype
    assert float(np.abs(results[0][2] - 0.9).max()) > 0.1  # the moving variance moved
    for keras_value, fused_value in zip(*results):
        np.testing.assert_allclose(np.float32(fused_value), np.float32(keras_value), rtol=tolerance, atol=tolerance)


def test_an_exported_generator_has_only_keras_layers_and_the_same_outputs():
    generator = models.build_generator(latent_dim=8, image_size=32, width=4)
    exported = models.portable(generator)
    assert not any(isinstance(layer, models.FusedBatchNormalization) for layer in exported.layers)
    assert sum(isinstance(layer, layers.BatchNormalization) for layer in exported.layers) == 3
    latent = np.random.default_rng(0).normal(size=(4, 8)).astype("float32")
    np.testing.assert_allclose(exported(latent), generator(latent), atol=1e-6)


def test_the_global_seed_fixes_every_starting_weight():
    import keras

    def weights(seed):
        keras.utils.set_random_seed(seed)
        return models.build_generator(8, 32, 4).get_weights() + models.build_discriminator(32, 4).get_weights()

    first, again, other = weights(3), weights(3), weights(4)
    assert all(np.array_equal(a, b) for a, b in zip(first, again))
    assert not all(np.array_equal(a, b) for a, b in zip(first, other) if a.std() > 0)

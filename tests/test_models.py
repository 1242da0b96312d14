import numpy as np
import pytest
from keras import layers

from anime_dcgan import cpu_layers, models, resnets


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
    convolutions = sum(issubclass(kind, layers.Conv2D) for kind in kinds)
    assert sum(issubclass(kind, layers.BatchNormalization) for kind in kinds) == convolutions - 1


@pytest.mark.parametrize("dtype", ["float32", "bfloat16"])
def test_fused_batch_norm_trains_like_keras_batch_norm(dtype):
    import tensorflow as tf

    inputs = tf.random.normal((8, 5, 5, 3), seed=1) * 3.0 + 1.0
    policy = None if dtype == "float32" else f"mixed_{dtype}"
    keras_norm = layers.BatchNormalization(momentum=0.9, epsilon=1e-5, dtype=policy)
    fused_norm = cpu_layers.FusedBatchNormalization(momentum=0.9, epsilon=1e-5, dtype=keras_norm.dtype_policy)
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


@pytest.mark.parametrize("size, stride", [(8, 2), (7, 2), (6, 1)])
def test_kernel_gradient_by_matmul_equals_the_backward_filter_convolution(size, stride):
    import tensorflow as tf

    inputs = tf.random.normal((3, size, size, 5), seed=1)
    output_size = -(-size // stride)
    output_gradients = tf.random.normal((3, output_size, output_size, 7), seed=2)
    expected = tf.raw_ops.Conv2DBackpropFilter(
        input=inputs, filter_sizes=[4, 4, 5, 7], out_backprop=output_gradients, strides=[1, stride, stride, 1],
        padding="SAME",
    )
    np.testing.assert_allclose(cpu_layers.kernel_gradient(inputs, output_gradients, 4, stride), expected, atol=1e-5)


SMALL_MAP_LAYERS = [(cpu_layers.SmallMapConv2D, layers.Conv2D, 8), (cpu_layers.SmallMapConv2DTranspose, layers.Conv2DTranspose, 4)]


@pytest.mark.parametrize("small_map_class, keras_class, size", SMALL_MAP_LAYERS)
def test_small_map_convolutions_train_like_keras_ones_through_their_own_kernel_gradient(
    small_map_class, keras_class, size, monkeypatch
):
    """Outputs, first gradients and the second gradients an R1 or gradient penalty takes are Keras's."""
    import tensorflow as tf

    calls = []
    matmul_gradient = cpu_layers.kernel_gradient
    monkeypatch.setattr(cpu_layers, "kernel_gradient", lambda *args: calls.append(1) or matmul_gradient(*args))
    inputs = tf.random.normal((4, size, size, 6), seed=3)
    weights = None
    results = []
    for layer_class in (keras_class, small_map_class):
        layer = layer_class(5, 4, strides=2, padding="same", bias_initializer="random_normal")
        layer.build(inputs.shape)
        weights = weights or layer.get_weights()
        layer.set_weights(weights)
        with tf.GradientTape() as outer:
            outer.watch(inputs)
            with tf.GradientTape() as inner:
                inner.watch(inputs)
                outputs = layer(inputs)
                loss = tf.reduce_sum(outputs**2)
            input_gradients = inner.gradient(loss, inputs)
            penalty = tf.reduce_sum(input_gradients**2)  # what R1 differentiates
        second = outer.gradient(penalty, layer.trainable_weights)
        with tf.GradientTape() as tape:
            loss = tf.reduce_sum(layer(inputs) ** 2)
        results.append([outputs, input_gradients, *tape.gradient(loss, layer.trainable_weights), *second])
    assert calls, "the small-map layer did not use its matmul kernel gradient"
    for keras_value, small_map_value in zip(*results):
        np.testing.assert_allclose(small_map_value, keras_value, rtol=1e-4, atol=1e-4)


def test_the_networks_use_small_map_convolutions_between_8x8_and_4x4_only():
    generator = models.build_generator(latent_dim=8, image_size=64, width=4)
    discriminator = models.build_discriminator(image_size=64, width=4)
    small = [layer for model in (generator, discriminator) for layer in model.layers
             if isinstance(layer, (cpu_layers.SmallMapConv2D, cpu_layers.SmallMapConv2DTranspose))]  # fmt: skip
    assert [(layer.input.shape[1], layer.output.shape[1]) for layer in small] == [(4, 8), (8, 4)]


def test_an_exported_generator_has_only_keras_layers_and_the_same_outputs():
    generator = models.build_generator(latent_dim=8, image_size=32, width=4)
    exported = cpu_layers.portable(generator)
    assert {type(layer).__module__.split(".")[0] for layer in exported.layers} == {"keras"}
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


def test_minibatch_stddev_appends_the_batch_spread_of_each_feature_averaged():
    features = (np.random.default_rng(0).normal(size=(5, 4, 4, 3)) * [1.0, 2.0, 3.0]).astype("float32")
    out = np.asarray(models.MinibatchStddev()(features))
    np.testing.assert_array_equal(out[..., :3], features)
    expected = np.sqrt(features.var(axis=0) + 1e-8).mean()
    np.testing.assert_allclose(out[..., 3], np.full((5, 4, 4), expected), rtol=1e-5)


@pytest.mark.parametrize("build", [models.build_discriminator, resnets.build_discriminator])
def test_with_minibatch_std_the_discriminator_scores_an_image_by_its_batch_too(build):
    images = np.random.default_rng(0).uniform(-1, 1, (4, 32, 32, 3)).astype("float32")
    other = images.copy()
    other[1:] = other[:1]  # the same first image among copies of itself: no spread across the batch
    for minibatch_std, changes in ((False, False), (True, True)):
        discriminator = build(image_size=32, width=4, normalization="none", minibatch_std=minibatch_std)
        first, among_copies = float(discriminator(images)[0, 0]), float(discriminator(other)[0, 0])
        assert (not np.isclose(first, among_copies, rtol=1e-4, atol=0)) == changes

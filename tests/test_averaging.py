"""The weight average: its closed form past the warm-up, and standing statistics over several batches."""

import keras
import numpy as np
import pytest

from anime_dcgan.averaging import WeightAverage


def tiny_generator() -> keras.Model:
    keras.utils.set_random_seed(0)
    return keras.Sequential([keras.Input((4,)), keras.layers.Dense(3), keras.layers.BatchNormalization(momentum=0.7)])


def test_the_average_follows_the_closed_form_through_and_past_its_warm_up():
    generator = tiny_generator()
    average = WeightAverage(generator, decay=0.5)  # (1 + t) / (10 + t) reaches 0.5 at t = 8
    expected = [w.numpy().copy() for w in generator.trainable_weights]
    rng = np.random.default_rng(0)
    for step in range(1, 15):
        for weight in generator.trainable_weights:
            weight.assign(rng.normal(size=weight.shape).astype("float32"))
        average.update(generator, step)
        decay = min(0.5, (1 + step) / (10 + step))
        expected = [decay * a + (1 - decay) * w.numpy() for a, w in zip(expected, generator.trainable_weights)]
        for want, got in zip(expected, average.model.trainable_weights):
            np.testing.assert_allclose(got.numpy(), want, rtol=1e-5, atol=1e-6)


def test_standing_statistics_are_the_mean_of_every_batchs_statistics():
    generator = tiny_generator()
    average = WeightAverage(generator)
    rng = np.random.default_rng(1)
    batches = [rng.normal(i, 1.0 + i, (16, 4)).astype("float32") for i in range(3)]
    dense = average.model.layers[0]
    outputs = [dense(batch).numpy() for batch in batches]
    draws = iter(batches)
    average.update_standing_statistics(lambda size: next(draws), batches=3, batch_size=16)
    norm = average.model.layers[1]
    np.testing.assert_allclose(norm.moving_mean.numpy(), np.mean([o.mean(0) for o in outputs], 0), rtol=1e-5)
    np.testing.assert_allclose(norm.moving_variance.numpy(), np.mean([o.var(0) for o in outputs], 0), rtol=1e-4)
    assert norm.momentum == pytest.approx(0.7)  # the layer's own momentum is back

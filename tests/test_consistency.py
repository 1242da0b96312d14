"""Balanced consistency regularisation: its penalty against a direct computation, its place in D's loss, the option."""

import keras
import numpy as np
import pytest
from keras import ops

from anime_dcgan import losses
from anime_dcgan.augment import DiffAugment
from anime_dcgan.config import TrainConfig
from anime_dcgan.consistency import ConsistencyPenalty
from conftest import first_batch, tiny_gan


def critic() -> keras.Model:
    keras.utils.set_random_seed(2)
    return keras.Sequential([keras.Input((8, 8, 3)), keras.layers.Conv2D(4, 3, activation="tanh"),
                             keras.layers.Flatten(), keras.layers.Dense(1)])  # fmt: skip


def test_penalty_is_the_mean_squared_change_of_d_under_a_transform_on_real_and_fake():
    d = critic()
    rng = np.random.default_rng(0)
    real, fake = (ops.convert_to_tensor(rng.uniform(-1, 1, (6, 8, 8, 3)).astype("float32")) for _ in range(2))
    critique = losses.Critique(d, real, fake, d(real), d(fake), step=None, seed=keras.random.SeedGenerator(5))
    penalty = ConsistencyPenalty(2.0, policy="translation")
    value = float(penalty(critique))
    # The same draws again: the transform takes the real batch's draws first, then the fake batch's.
    shift, seed = DiffAugment("translation"), keras.random.SeedGenerator(5)
    expected = sum(np.mean((np.asarray(d(shift(images, seed))) - np.asarray(d(images))) ** 2) for images in (real, fake))
    assert value == pytest.approx(2.0 * expected, rel=1e-5)
    assert float(penalty.tracker.result()) == pytest.approx(expected, rel=1e-5)
    assert expected > 0  # the translation changed D's outputs, so the test can tell a missing term


def test_bcr_adds_its_weighted_penalty_to_d_loss_and_is_tracked():
    batch = first_batch(16)
    plain = tiny_gan().train_step(batch)
    logs = tiny_gan(penalties=[ConsistencyPenalty(10.0)]).train_step(batch)
    assert float(logs["bcr"]) > 0
    assert float(logs["d_loss"]) == pytest.approx(float(plain["d_loss"]) + 10.0 * float(logs["bcr"]), rel=1e-4)


def test_the_option_turns_it_on():
    def kinds(config):
        return [type(p) for p in losses.build(config.resolved()).penalties]

    assert ConsistencyPenalty in kinds(TrainConfig(bcr=10.0))
    assert ConsistencyPenalty not in kinds(TrainConfig())

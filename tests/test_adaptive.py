"""Adaptive augmentation (ADA): how often each transform applies, p following D's sign on real faces under a D that
always wins or always loses, and a run that checkpoints p and resumes with it."""

import keras
import numpy as np
import pytest

from anime_dcgan import augment, training
from anime_dcgan.checkpoints import TrainingCheckpoint
from anime_dcgan.commands import fit
from anime_dcgan.config import ConfigError, TrainConfig
from conftest import TINY_FLAGS, first_batch


def adapted(outputs: float, updates: int, start: float = 0.0, **options) -> augment.AdaptiveAugment:
    """An AdaptiveAugment after `updates` D updates of 16 real faces on which D output `outputs` each time."""
    ada = augment.AdaptiveAugment("cutout", **options)
    ada.probability.assign(start)
    for _ in range(updates):
        ada.observe(np.full((16, 1), outputs, np.float32))
    return ada


def test_p_rises_under_a_d_that_always_wins_and_falls_under_one_that_always_loses():
    # Every 4 updates of 16 images, p moves by 4 x 16 / speed: 0.0064 for a speed of 10,000 images.
    winning = adapted(3.0, updates=40, target=0.6, speed=10_000)
    assert float(winning.probability) == pytest.approx(10 * 0.0064, rel=1e-5)
    assert float(adapted(3.0, updates=7, target=0.6, speed=10_000).probability) == pytest.approx(0.0064, rel=1e-5)
    losing = adapted(-3.0, updates=40, start=0.5, target=0.6, speed=10_000)
    assert float(losing.probability) == pytest.approx(0.5 - 10 * 0.0064, rel=1e-5)
    # Sure of only half the real faces (r = 0 < 0.6): p falls, and never below 0 or above 1.
    assert float(adapted(0.0, updates=40, start=0.01, target=0.6, speed=10_000).probability) == 0.0
    assert float(adapted(3.0, updates=400, start=0.99, target=0.6, speed=10_000).probability) == 1.0


def test_p_follows_the_mean_sign_over_the_interval_not_the_last_batch():
    ada = augment.AdaptiveAugment("cutout", target=0.6, speed=6_400)
    for value in (-1.0, -1.0, -1.0, 1.0):  # r = -0.5 over the four updates (the last alone: 1): p stays at 0
        ada.observe(np.full((16, 1), value, np.float32))
    assert float(ada.probability) == 0.0
    for value in (1.0, 1.0, 1.0, -1.0):  # r = 0.69 (the last alone: -0.25): p rises
        ada.observe(np.array([[value]] * 10 + [[1.0]] * 6, np.float32))
    assert float(ada.probability) == pytest.approx(0.01)
    assert float(ada.tracker.result()) == pytest.approx(0.01 / 8)  # p logged at each update, averaged


def test_each_transform_applies_with_probability_p():
    images = keras.ops.convert_to_tensor(np.random.default_rng(0).uniform(0.1, 1, (400, 8, 8, 3)).astype(np.float32))
    ada = augment.AdaptiveAugment("cutout")
    seed = keras.random.SeedGenerator(1)
    np.testing.assert_array_equal(ada(images, seed), images)  # p = 0: untouched
    ada.probability.assign(1.0)
    assert np.all(np.any(np.asarray(ada(images, seed)) == 0, axis=(1, 2, 3)))  # p = 1: every face cut
    ada.probability.assign(0.3)
    cut = np.mean(np.any(np.asarray(ada(images, seed)) == 0, axis=(1, 2, 3)))
    assert cut == pytest.approx(0.3, abs=0.07)


def test_the_option_builds_it_and_needs_transforms_to_adapt():
    assert type(augment.from_options(TrainConfig().resolved())) is augment.DiffAugment
    ada = augment.from_options(TrainConfig(ada_target=0.6, ada_speed=5_000).resolved())
    assert isinstance(ada, augment.AdaptiveAugment) and (ada.target, ada.speed) == (0.6, 5_000)
    assert ada.policy == ("translation", "cutout")
    with pytest.raises(ConfigError, match="--ada-target adapts how often the --augment transforms apply"):
        TrainConfig(ada_target=0.6, augment="").resolved()


def test_a_run_logs_p_checkpoints_it_and_resumes_with_it(faces, tmp_path):
    run = tmp_path / "run"
    flags = ["--data", str(faces), "--out", str(run), *TINY_FLAGS, "--ada-target", "0.01", "--ada-speed", "100",
             "--verbose", "0"]  # fmt: skip
    assert fit.main([*flags, "--epochs", "1"]) == 0

    def restored_state():
        gan = training.build_gan(TrainConfig.load(run / "config.json").resolved())
        checkpoint = TrainingCheckpoint(run / "checkpoints", gan, keras.Variable(np.zeros((64, 8), "float32")),
                                        tmp_path / "g.keras")  # fmt: skip
        checkpoint.restore()
        return [float(variable) for variable in gan.augment.variables]

    p, sign_sum, updates = restored_state()
    assert (p, updates) == (0.0, 3) and sign_sum != 0.0  # three D updates of 16 faces: p moves every fourth
    assert fit.main([*flags, "--epochs", "2"]) == 0  # the fourth update moves p by 4 x 16 / 100 either way
    p, _, updates = restored_state()
    assert updates == 6 and p in (0.0, pytest.approx(0.64))
    header = (run / "history.csv").read_text().splitlines()[0]
    assert "augment_p" in header.split(",")


def test_gan_shows_d_its_real_outputs_each_update():
    seen = []

    class Recorder(augment.DiffAugment):
        def observe(self, real_outputs):
            seen.append(real_outputs.shape)

    from conftest import tiny_gan

    gan = tiny_gan(d_steps=3)
    gan.augment = Recorder()
    gan.train_step(first_batch(48))
    assert seen == [(16, 1)] * 3


def test_autograph_converts_the_step_with_either_augmentation(caplog):
    import tensorflow as tf

    from conftest import tiny_gan

    for augmentation in (augment.DiffAugment("cutout"), augment.AdaptiveAugment("cutout")):
        gan = tiny_gan()
        gan.augment = augmentation
        with caplog.at_level("WARNING", logger="tensorflow"):
            tf.function(gan.train_step).get_concrete_function(first_batch(16))
    assert not [r.getMessage() for r in caplog.records if "AutoGraph could not transform" in r.getMessage()]

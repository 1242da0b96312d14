"""The training variants: WGAN clipping, update thresholds, critic steps, network options, and every loss end to end."""

import json

import keras
import numpy as np
import pytest
from keras import layers

from anime_dcgan import models, training
from anime_dcgan.commands import fit
from anime_dcgan.outputs import read_history
from anime_dcgan.config import LOSS_DEFAULTS, LOSS_SPECS, TrainConfig
from conftest import TINY_FLAGS, copy_faces, first_batch, resumed_as_trained, tiny_gan


@pytest.fixture(scope="module")
def real_batch():
    return first_batch(48)


def weights(network: keras.Model) -> list[np.ndarray]:
    return [w.numpy().copy() for w in network.trainable_weights]


def changed(before: list[np.ndarray], network: keras.Model) -> bool:
    return any(not np.array_equal(b, w.numpy()) for b, w in zip(before, network.trainable_weights))


def test_wgan_critic_weights_stay_within_the_clip_after_a_step(real_batch):
    gan = tiny_gan("wgan", keras.optimizers.RMSprop, lr=0.05, discriminator_options={"clip": 0.01})  # a rate that would leave the box at once
    gan.train_step(real_batch)
    values = np.concatenate([w.ravel() for w in weights(gan.discriminator)])
    assert np.abs(values).max() <= 0.01 + 1e-7
    assert np.isclose(np.abs(values).max(), 0.01)  # the clip was needed, not idle


@pytest.mark.parametrize("network", ["d", "g"])
def test_threshold_above_the_loss_skips_that_update_and_counts_it(real_batch, network):
    gan = tiny_gan(**{f"{network}_threshold": 1e9})
    skipped, other = (gan.discriminator, gan.generator) if network == "d" else (gan.generator, gan.discriminator)
    skipped_before, other_before = weights(skipped), weights(other)
    logs = gan.train_step(real_batch)
    assert not changed(skipped_before, skipped)
    assert changed(other_before, other)
    assert float(logs[f"{network}_skipped"]) == 1.0


def test_threshold_below_the_loss_skips_nothing(real_batch):
    gan = tiny_gan(d_threshold=-1e9, g_threshold=-1e9)
    d_before, g_before = weights(gan.discriminator), weights(gan.generator)
    logs = gan.train_step(real_batch)
    assert changed(d_before, gan.discriminator) and changed(g_before, gan.generator)
    assert float(logs["d_skipped"]) == float(logs["g_skipped"]) == 0.0


def test_d_steps_updates_the_critic_once_per_real_batch(real_batch):
    gan = tiny_gan(d_steps=3)  # the 48 images arrive as three batches of 16
    gan.train_step(real_batch)
    assert int(gan.d_optimizer.iterations) == 3 and int(gan.g_optimizer.iterations) == 1


def test_wgan_gp_adds_its_reported_penalty_to_the_critic_loss(real_batch):
    plain = tiny_gan("wgan").train_step(real_batch)  # the same objective without the penalty
    logs = tiny_gan("wgan-gp").train_step(real_batch)
    assert float(logs["gp"]) > 0
    assert float(logs["d_loss"]) == pytest.approx(float(plain["d_loss"]) + 10.0 * float(logs["gp"]), rel=1e-4)


def test_network_options_shape_the_models():
    def kinds(model):
        return {type(layer) for layer in model.layers}

    assert layers.LeakyReLU in kinds(models.build_generator(8, 32, 4, activation="leaky_relu"))
    assert layers.ReLU not in kinds(models.build_generator(8, 32, 4, activation="leaky_relu"))
    assert layers.Dropout in kinds(models.build_discriminator(32, 4, dropout=0.3))
    critic = models.build_discriminator(32, 4, normalization="layer")
    assert not any(issubclass(kind, layers.BatchNormalization) for kind in kinds(critic))
    assert layers.LayerNormalization in kinds(critic)


def test_build_gan_follows_the_options():
    config = TrainConfig(
        loss="wgan-gp", width=4, image_size=32, latent_dim=8, d_lr=4e-4, g_lr=1e-4, g_activation="leaky_relu"
    ).resolved()
    gan = training.build_gan(config)
    assert isinstance(gan.d_optimizer, keras.optimizers.Adam)
    assert float(gan.d_optimizer.learning_rate) == pytest.approx(4e-4)
    assert float(gan.g_optimizer.learning_rate) == pytest.approx(1e-4)
    assert float(gan.g_optimizer.beta_2) == 0.9 and gan.d_steps == 5
    assert [(p.name, p.weight) for p in gan.gan_loss.penalties] == [("gp", 10.0)]
    assert not any(isinstance(layer, layers.BatchNormalization) for layer in gan.discriminator.layers)
    smooth = training.build_gan(
        TrainConfig(width=4, image_size=32, latent_dim=8, loss="bce", label_smoothing=0.9).resolved()
    )
    assert smooth.gan_loss.real_target == 0.9
    spread = training.build_gan(TrainConfig(width=4, image_size=32, latent_dim=8, minibatch_std=True).resolved())
    assert any(isinstance(layer, models.MinibatchStddev) for layer in spread.discriminator.layers)


@pytest.fixture(scope="module")
def variant_faces(tmp_path_factory):
    return copy_faces(tmp_path_factory.mktemp("variants") / "faces", 96)  # three steps of 2 critic batches of 16


@pytest.mark.parametrize("loss", list(LOSS_SPECS))
def test_every_loss_trains_and_resumes_with_its_options(loss, variant_faces, tmp_path, built, request):
    run = tmp_path / loss
    flags = ["--data", str(variant_faces), "--out", str(run), *TINY_FLAGS]
    # Two critic updates a step stand in for the WGANs' five (their default, checked in test_config): the mechanism
    # is the same, and each further update is traced again.
    d_steps = ["--d-steps", "2"] if LOSS_DEFAULTS[loss]["d_steps"] > 2 else []
    assert fit.main([*flags, "--epochs", "1", "--loss", loss, *d_steps]) == 0
    saved = json.loads((run / "config.json").read_text())
    assert saved["loss"] == loss and saved["optimizer"] == LOSS_DEFAULTS[loss]["optimizer"]
    assert saved["lr"] == LOSS_DEFAULTS[loss]["lr"] and saved["d_steps"] == min(LOSS_DEFAULTS[loss]["d_steps"], 2)
    rows = read_history(run / "history.csv")
    assert [row["epoch"] for row in rows] == ["1"]
    assert all(np.isfinite(float(value)) for key, value in rows[0].items() if key != "epoch")
    # The resume, up to its first step (what follows is the same step as above): no --loss, it comes from config.json.
    resumed = resumed_as_trained(request, ["--out", str(run), "--epochs", "2"], built[-1])
    assert resumed.epoch == 1 and type(resumed.gan.gan_loss) is type(built[0].gan_loss)
    assert resumed.gan.d_steps == saved["d_steps"]
    assert json.loads((run / "config.json").read_text()) == saved | {"epochs": 2}


@pytest.mark.parametrize("size", [64, 128])
def test_larger_images_train(size, variant_faces, tmp_path):
    run = tmp_path / "run"
    flags = ["--width", "4", "--latent-dim", "8", "--batch-size", "16", "--image-size", str(size)]
    assert fit.main(["--data", str(variant_faces), "--out", str(run), "--epochs", "1", *flags]) == 0
    assert training.build_gan(TrainConfig.load(run / "config.json")).generator.output_shape == (None, size, size, 3)

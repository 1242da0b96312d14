import keras
import numpy as np
import pytest

from anime_dcgan.gan import GAN
from conftest import first_batch, tiny_gan


@pytest.fixture(scope="module")
def real_batch():
    return first_batch(32)


def test_one_train_step_updates_both_networks_and_reports_finite_metrics(real_batch):
    gan = tiny_gan()
    g_before = [w.numpy().copy() for w in gan.generator.trainable_weights]
    d_before = [w.numpy().copy() for w in gan.discriminator.trainable_weights]
    # What D makes of the real batch before the update: d_real must report its mean probability.
    real_probability = float(np.mean(keras.ops.sigmoid(gan.discriminator(real_batch, training=True))))
    logs = gan.train_step(real_batch)
    assert set(logs) == {"d_loss", "g_loss", "d_real", "d_fake", "nonfinite"}
    assert all(np.isfinite(float(v)) for v in logs.values()) and float(logs["nonfinite"]) == 0
    assert float(logs["d_real"]) == pytest.approx(real_probability, rel=1e-5)
    for before, network in [(g_before, gan.generator), (d_before, gan.discriminator)]:
        after = [w.numpy() for w in network.trainable_weights]
        assert all(not np.array_equal(b, a) for b, a in zip(before, after)), network.name
    assert int(gan.d_optimizer.iterations) == int(gan.g_optimizer.iterations) == 1


def one_step_losses(gan: GAN, batch, steps: int) -> list[float]:
    """d_loss of each of `steps` train steps on `batch` (the trackers are reset, so no running means)."""
    losses_per_step = []
    for _ in range(steps):
        gan.reset_metrics()
        losses_per_step.append(float(gan.train_step(batch)["d_loss"]))
    return losses_per_step


def test_discriminator_learns_to_tell_real_from_fake(real_batch):
    d_losses = one_step_losses(tiny_gan(), real_batch, 15)
    assert d_losses[0] == pytest.approx(2 * np.log(2), abs=0.5)  # an untrained D is near chance
    assert np.mean(d_losses[-3:]) < np.mean(d_losses[:3]) - 0.2


def trainable(model) -> list[np.ndarray]:
    return [w.numpy().copy() for w in model.trainable_weights]


def sgd_expected(weights: list[np.ndarray], loss_fn, variables, lr: float) -> list[np.ndarray]:
    """Weights after one plain SGD step on `loss_fn()` w.r.t. `variables` (which hold `weights`)."""
    import tensorflow as tf

    with tf.GradientTape() as tape:
        loss = loss_fn()
    return [w - lr * g.numpy() for w, g in zip(weights, tape.gradient(loss, variables))]


def copy_of(model):
    clone = keras.models.clone_model(model)
    clone.set_weights(model.get_weights())
    return clone


def stepped(gan: GAN, real_batch):
    """Run one train step of `gan`; returns G and D as they were before it and the noise it drew."""
    state = gan.seed_generator.state.numpy()
    generator_before, discriminator_before = copy_of(gan.generator), copy_of(gan.discriminator)
    gan.train_step(real_batch)
    gan.seed_generator.state.assign(state)
    return generator_before, discriminator_before, gan.sample_latent(real_batch.shape[0])


def assert_weights(network, expected):
    for want, actual in zip(expected, trainable(network)):
        np.testing.assert_allclose(actual, want, rtol=1e-4, atol=1e-6)


def test_step_updates_d_on_the_fakes_then_g_through_the_updated_d(real_batch):
    """The step is the alternating GAN update: D on real and G(z), then G on D_new(G(z)) for the same z."""
    lr = 0.05
    gan = tiny_gan(optimizer=keras.optimizers.SGD, lr=lr)
    generator_before, discriminator_before, latent = stepped(gan, real_batch)

    fakes = generator_before(latent, training=True)
    assert_weights(gan.discriminator, sgd_expected(
        trainable(discriminator_before),
        lambda: gan.gan_loss.discriminator(discriminator_before(real_batch, training=True),
                                           discriminator_before(fakes, training=True)),  # fmt: skip
        discriminator_before.trainable_weights, lr,
    ))
    # G's loss goes through the discriminator as it is after its update (gan.discriminator now).
    assert_weights(gan.generator, sgd_expected(
        trainable(generator_before),
        lambda: gan.gan_loss.generator(gan.discriminator(generator_before(latent, training=True), training=True)),
        generator_before.trainable_weights, lr,
    ))


@pytest.mark.parametrize("loss", ["bce", "relativistic"])
def test_simultaneous_updates_move_g_through_d_as_it_judged_the_batch(real_batch, loss):
    """Simultaneous updates: D's update as in the alternating step, G's from the same outputs of D before it moved
    (for the relativistic loss, D's outputs on the real batch too)."""
    lr = 0.05
    alternating = tiny_gan(loss, optimizer=keras.optimizers.SGD, lr=lr)
    stepped(alternating, real_batch)
    gan = tiny_gan(loss, optimizer=keras.optimizers.SGD, lr=lr, updates="simultaneous")
    generator_before, discriminator_before, latent = stepped(gan, real_batch)

    assert_weights(gan.discriminator, trainable(alternating.discriminator))
    assert_weights(gan.generator, sgd_expected(
        trainable(generator_before),
        lambda: gan.gan_loss.generator(discriminator_before(generator_before(latent, training=True), training=True),
                                       discriminator_before(real_batch, training=True)),  # fmt: skip
        generator_before.trainable_weights, lr,
    ))
    assert not np.allclose(trainable(gan.generator)[0], trainable(alternating.generator)[0], rtol=1e-4, atol=1e-6)


def test_unknown_updates_are_refused():
    with pytest.raises(ValueError, match="unknown updates 'both': choose one of alternating, simultaneous"):
        tiny_gan(updates="both")


class Spy:
    """A penalty that adds nothing and keeps the critiques it was given."""

    name = "spy"

    def __init__(self):
        self.tracker = keras.metrics.Mean(name=self.name)
        self.variables = []
        self.critiques, self.steps = [], []

    def __call__(self, critique):  # called eagerly here, so the step can be read as it is now
        self.critiques.append(critique)
        self.steps.append(int(critique.step))
        return 0.0


def test_penalties_see_the_augmented_images_d_judged_with_its_update_count(real_batch):
    spy = Spy()
    gan = tiny_gan(augment="cutout", penalties=[spy], d_steps=2)
    gan.train_step(real_batch)
    assert spy.steps == [0, 1]  # one critique per D update, before it
    for critique in spy.critiques:
        for images in (critique.real_images.numpy(), critique.fake_images.numpy()):
            assert images.shape == (16, 32, 32, 3)
            # Cutout's 16 x 16 squares are exactly 0 (clipped at the borders), which no real pixel can be.
            assert all((image == 0).all(axis=-1).sum() >= 8 * 8 for image in images)
        assert tuple(critique.real_outputs.shape) == tuple(critique.fake_outputs.shape) == (16, 1)
    assert not (np.asarray(real_batch) == 0).all(axis=-1).any()  # the raw batch has no such pixel

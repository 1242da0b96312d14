"""Each loss against a NumPy transcription of its paper's formula."""

import keras
import numpy as np
import pytest

from anime_dcgan import losses
from anime_dcgan.config import LOSS_SPECS, ConfigError, TrainConfig

REAL = np.array([[2.0], [-1.0], [0.5], [0.0]], np.float32)
FAKE = np.array([[-3.0], [0.2], [1.5], [-0.4]], np.float32)


def sigmoid(x):
    return 1.0 / (1.0 + np.exp(-x.astype(np.float64)))


def log_d(x):
    return np.log(sigmoid(x))


def log_one_minus_d(x):
    return np.log(1.0 - sigmoid(x))


def log_sigmoid(x):
    return np.log(sigmoid(x))


# loss name -> (D loss, G loss) from the papers, on discriminator outputs r = D(x), f = D(G(z)).
REFERENCES = {
    "bce": (lambda r, f: -log_d(r).mean() - log_one_minus_d(f).mean(), lambda r, f: -log_d(f).mean()),
    "minimax": (lambda r, f: -log_d(r).mean() - log_one_minus_d(f).mean(), lambda r, f: log_one_minus_d(f).mean()),
    "lsgan": (lambda r, f: 0.5 * ((r - 1) ** 2).mean() + 0.5 * (f**2).mean(), lambda r, f: 0.5 * ((f - 1) ** 2).mean()),
    "wgan": (lambda r, f: f.mean() - r.mean(), lambda r, f: -f.mean()),
    "wgan-gp": (lambda r, f: f.mean() - r.mean(), lambda r, f: -f.mean()),  # plus the penalty, tested below
    "hinge": (lambda r, f: np.maximum(0, 1 - r).mean() + np.maximum(0, 1 + f).mean(), lambda r, f: -f.mean()),
    # Relativistic pairing: -log sigmoid of each pair's difference, real over fake for D, fake over real for G.
    "relativistic": (lambda r, f: -log_sigmoid(r - f).mean(), lambda r, f: -log_sigmoid(f - r).mean()),
}


def as_outputs(images, training=False):
    """A stand-in discriminator whose outputs are its inputs: a loss's generator_loss on given outputs."""
    return keras.ops.convert_to_tensor(images)


@pytest.mark.parametrize("name", list(LOSS_SPECS))
def test_loss_matches_its_paper(name):
    d_reference, g_reference = REFERENCES[name]
    loss = losses.get(name)
    assert float(loss.discriminator(REAL, FAKE)) == pytest.approx(d_reference(REAL, FAKE), rel=1e-5)
    assert float(loss.generator_loss(as_outputs, FAKE, REAL)) == pytest.approx(g_reference(REAL, FAKE), rel=1e-5)
    assert float(loss.generator(FAKE, REAL)) == pytest.approx(g_reference(REAL, FAKE), rel=1e-5)  # on D's outputs


def test_unknown_loss_is_refused():
    with pytest.raises(ValueError, match="unknown GAN loss 'nope'"):
        losses.get("nope")


@pytest.mark.parametrize("name", losses.smoothable())
def test_label_smoothing_changes_only_the_real_targets(name):
    plain, smooth = losses.get(name), losses.get(name, label_smoothing=0.9)
    other_fake = FAKE * 2 - 1
    # The difference the smoothing makes depends on the real outputs alone, and G's loss is untouched.
    gap = float(smooth.discriminator(REAL, FAKE)) - float(plain.discriminator(REAL, FAKE))
    assert gap != pytest.approx(0.0)
    assert float(smooth.discriminator(REAL, other_fake)) - float(plain.discriminator(REAL, other_fake)) == pytest.approx(gap, abs=1e-6)
    assert float(smooth.generator_loss(as_outputs, FAKE, REAL)) == float(plain.generator_loss(as_outputs, FAKE, REAL))


def test_smoothed_bce_matches_cross_entropy_with_a_0_9_target():
    expected = -(0.9 * log_d(REAL) + 0.1 * log_one_minus_d(REAL)).mean() - log_one_minus_d(FAKE).mean()
    assert float(losses.get("bce", label_smoothing=0.9).discriminator(REAL, FAKE)) == pytest.approx(expected, rel=1e-5)


def test_the_losses_with_a_real_target_take_label_smoothing():
    assert losses.smoothable() == ["bce", "minimax", "lsgan"]


@pytest.mark.parametrize("name", ["wgan", "wgan-gp", "hinge", "relativistic"])
def test_label_smoothing_is_refused_for_losses_without_targets(name):
    with pytest.raises(ConfigError, match="--label-smoothing needs a loss with a real-image target"):
        losses.build(TrainConfig(loss=name, label_smoothing=0.9).resolved())


def tiny_critic() -> keras.Model:
    keras.utils.set_random_seed(1)
    return keras.Sequential(
        [
            keras.Input((4, 4, 3)),
            keras.layers.Conv2D(5, 3, padding="same", activation="tanh"),
            keras.layers.Flatten(),
            keras.layers.Dense(1, kernel_initializer=keras.initializers.RandomNormal(stddev=0.5)),
        ]
    )


def test_gradient_penalty_equals_a_finite_difference_estimate():
    critic = tiny_critic()
    images = np.random.default_rng(0).uniform(-1, 1, (3, 4, 4, 3))
    step = 1e-4
    norms = []
    for image in images:  # central differences of the critic's score, one pixel at a time
        grad = np.zeros(image.size)
        for i in range(image.size):
            bump = np.zeros(image.size)
            bump[i] = step
            up, down = (image.ravel() + s * bump for s in (1, -1))
            score = lambda x: float(critic(x.reshape(1, 4, 4, 3).astype(np.float32))[0, 0])  # noqa: E731
            grad[i] = (score(up) - score(down)) / (2 * step)
        norms.append(np.linalg.norm(grad))
    expected = np.mean((np.array(norms) - 1.0) ** 2)
    penalty = float(losses.gradient_penalty(critic, keras.ops.convert_to_tensor(images.astype(np.float32))))
    assert penalty == pytest.approx(expected, rel=0.02)
    assert penalty > 0.01  # the tiny critic's gradient norm is not 1, so the test can tell


def test_interpolates_lie_between_their_real_and_generated_pair():
    rng = np.random.default_rng(0)
    real, fake = rng.uniform(-1, 1, (2, 6, 4, 4, 3)).astype(np.float32)
    mixed = np.asarray(losses.random_interpolates(real, fake, keras.random.SeedGenerator(0)))
    for x, r, f in zip(mixed, real, fake):
        t = np.sum((x - f) * (r - f)) / np.sum((r - f) ** 2)
        assert 0 <= t <= 1
        np.testing.assert_allclose(x, t * r + (1 - t) * f, atol=1e-5)


def test_relativistic_loss_adds_r1_on_real_and_r2_on_generated_faces_at_half_gamma():
    critic = tiny_critic()
    rng = np.random.default_rng(0)
    real, fake = (keras.ops.convert_to_tensor(rng.uniform(-1, 1, (3, 4, 4, 3)).astype(np.float32)) for _ in range(2))
    real_outputs, fake_outputs = critic(real), critic(fake)
    critique = losses.Critique(critic, real, fake, real_outputs, fake_outputs, step=keras.Variable(0))
    loss = losses.get("relativistic", gamma=3.0)
    r1, r2 = (float(losses.squared_gradient_norm(critic, images)) for images in (real, fake))
    assert r1 > 0 and r2 > 0 and r1 != pytest.approx(r2)  # the test can tell which images each penalty takes
    expected = float(loss.discriminator(real_outputs, fake_outputs)) + 1.5 * (r1 + r2)
    assert float(loss.discriminator_loss(critique)) == pytest.approx(expected, rel=1e-5)
    assert float(loss.trackers["r1"].result()) == pytest.approx(r1, rel=1e-5)
    assert float(loss.trackers["r2"].result()) == pytest.approx(r2, rel=1e-5)
    assert losses.build(TrainConfig(loss="relativistic", gamma=0.5).resolved()).penalties[1].gamma == 0.5


def test_relativistic_loss_with_r1_every_k_applies_both_penalties_every_kth_d_update_scaled_by_k():
    critic = tiny_critic()
    rng = np.random.default_rng(1)
    real, fake = (keras.ops.convert_to_tensor(rng.uniform(-1, 1, (3, 4, 4, 3)).astype(np.float32)) for _ in range(2))
    real_outputs, fake_outputs = critic(real), critic(fake)
    loss = losses.build(TrainConfig(loss="relativistic", gamma=3.0, r1_every=2).resolved())
    objective = float(loss.discriminator(real_outputs, fake_outputs))
    r1, r2 = (float(losses.squared_gradient_norm(critic, images)) for images in (real, fake))
    for step, expected in [(0, objective + 2 * 1.5 * (r1 + r2)), (1, objective), (4, objective + 3.0 * (r1 + r2))]:
        critique = losses.Critique(critic, real, fake, real_outputs, fake_outputs, step=keras.Variable(step))
        assert float(loss.discriminator_loss(critique)) == pytest.approx(expected, rel=1e-5)
    assert float(loss.trackers["r2"].result()) == pytest.approx(r2, rel=1e-5)  # the due steps' mean

"""GAN objectives, each written on the discriminator's raw outputs (logits or critic scores).

Every loss has `discriminator(real, fake)` and `generator(fake)`, and `score(outputs)`: how its discriminator's
outputs are reported as the `d_real` / `d_fake` metrics.
"""

from __future__ import annotations

import keras
import tensorflow as tf
from keras import ops

from anime_dcgan import distribute
from anime_dcgan.config import SMOOTHABLE


class NonSaturatingLoss:
    """Binary cross-entropy with the non-saturating generator loss -log D(G(z)) (Goodfellow et al. 2014).

    With D = sigmoid(l): -log D = softplus(-l) and -log(1 - D) = softplus(l). `real_target` below 1 is one-sided
    label smoothing (Salimans et al. 2016): only the real images' target moves, the fake target stays 0.
    """

    def __init__(self, real_target: float = 1.0):
        self.real_target = real_target

    def discriminator(self, real, fake):
        t = self.real_target
        real_loss = t * ops.softplus(-real) + (1.0 - t) * ops.softplus(real)
        return ops.mean(real_loss) + ops.mean(ops.softplus(fake))

    def generator(self, fake):
        return ops.mean(ops.softplus(-fake))

    def score(self, outputs):
        return ops.sigmoid(outputs)


class MinimaxLoss(NonSaturatingLoss):
    """The original minimax game (Goodfellow et al. 2014): G minimises log(1 - D(G(z))) = -softplus(l)."""

    def generator(self, fake):
        return -ops.mean(ops.softplus(fake))


class LeastSquaresLoss:
    """Least-squares GAN (Mao et al. 2017), 0-1-1 coding: D pulls real outputs to 1 and fake to 0, G pulls fake to 1."""

    def __init__(self, real_target: float = 1.0):
        self.real_target = real_target

    def discriminator(self, real, fake):
        return 0.5 * ops.mean(ops.square(real - self.real_target)) + 0.5 * ops.mean(ops.square(fake))

    def generator(self, fake):
        return 0.5 * ops.mean(ops.square(fake - 1.0))

    def score(self, outputs):
        return outputs


class WassersteinLoss:
    """Wasserstein GAN (Arjovsky et al. 2017): the critic maximises E[D(x)] - E[D(G(z))], G maximises E[D(G(z))]."""

    def discriminator(self, real, fake):
        return ops.mean(fake) - ops.mean(real)

    def generator(self, fake):
        return -ops.mean(fake)

    def score(self, outputs):
        return outputs


class HingeLoss(WassersteinLoss):
    """Hinge loss (Lim & Ye 2017; Miyato et al. 2018): D minimises E[relu(1 - D(x))] + E[relu(1 + D(G(z)))]."""

    def discriminator(self, real, fake):
        return ops.mean(ops.relu(1.0 - real)) + ops.mean(ops.relu(1.0 + fake))


LOSSES = {
    "bce": NonSaturatingLoss,
    "minimax": MinimaxLoss,
    "lsgan": LeastSquaresLoss,
    "wgan": WassersteinLoss,
    "wgan-gp": WassersteinLoss,
    "hinge": HingeLoss,
}


def get(name: str, real_target: float = 1.0):
    """The loss registered under `name`; `real_target` < 1 applies one-sided label smoothing."""
    if name not in LOSSES:
        raise ValueError(f"unknown GAN loss {name!r}: choose one of {', '.join(LOSSES)}")
    if name in SMOOTHABLE:
        return LOSSES[name](real_target)
    if real_target != 1.0:
        raise ValueError(f"label smoothing needs a loss with a real target ({', '.join(SMOOTHABLE)}), not {name}")
    return LOSSES[name]()


def random_interpolates(real, fake, seed_generator=None):
    """Points on the straight lines between paired real and generated images, one uniform mix per pair."""

    def draw(rows):
        return keras.random.uniform((rows, 1, 1, 1), seed=seed_generator)

    mix = distribute.local_rows(draw, ops.shape(real)[0])
    return mix * real + (1.0 - mix) * fake


def input_gradients(critic, images):
    """The gradient of the sum of the critic's outputs with respect to `images`: each output's own input gradient."""
    with tf.GradientTape() as tape:
        tape.watch(images)
        scores = critic(images, training=True)
    return tape.gradient(scores, images)


def gradient_penalty(critic, images):
    """WGAN-GP's penalty (Gulrajani et al. 2017): the mean of (||grad_x D(x)||_2 - 1)^2 over `images`."""
    gradients = input_gradients(critic, images)
    norms = ops.sqrt(ops.sum(ops.square(gradients), axis=[1, 2, 3]) + 1e-12)
    return ops.mean(ops.square(norms - 1.0))


def r1_penalty(critic, real_images):
    """R1 (Mescheder et al. 2018): the mean of ||grad_x D(x)||_2^2 over real images; the loss adds gamma/2 of it."""
    gradients = input_gradients(critic, real_images)
    return ops.mean(ops.sum(ops.square(gradients), axis=[1, 2, 3]))

"""GAN losses as objects the GAN is compiled with: an objective on the discriminator's raw outputs (logits or critic
scores), the penalties added to the discriminator's loss, and what the loss asks of the critic (its normalisation,
weight clipping).

Adding a loss is a subclass here and one `LossSpec` in `config.LOSS_SPECS`; a penalty is a `Penalty` subclass.
"""

from __future__ import annotations

import importlib
import inspect
from collections.abc import Sequence
from dataclasses import dataclass
from fractions import Fraction

import keras
import tensorflow as tf
from keras import ops

from anime_dcgan import distribute
from anime_dcgan.config import LOSS_SPECS, PARTS, ConfigError


@dataclass
class Critique:
    """What the discriminator made of one real and one generated batch (both as it saw them, augmented), for a
    loss's penalties: the images, D's outputs on them, D itself, D's update count and the GAN's random stream."""

    discriminator: keras.Model
    real_images: tf.Tensor
    fake_images: tf.Tensor
    real_outputs: tf.Tensor
    fake_outputs: tf.Tensor
    step: tf.Variable  # D's optimizer iterations: the updates made before this one
    seed: keras.random.SeedGenerator | None = None


class Penalty:
    """A term added to D's loss, tracked as the metric `name` (its unweighted value, averaged over the epoch).

    Subclasses set `name` and implement `__call__(critique)`, returning the weighted term; state they keep across
    steps goes in keras Variables listed in `variables`, which the run checkpoints. A penalty that an option turns
    on is named by that option's declaration (`config.option(part=...)`) and built by `from_options(config)`.
    """

    name = ""
    # The share of D's updates on which the penalty differentiates D's input gradients: each time, one more D forward
    # pass, its input gradients and their gradients (the work `bench` counts among a step's convolutions).
    input_gradient_share: Fraction = Fraction(0)

    def __init__(self):
        self.tracker = keras.metrics.Mean(name=self.name)

    @property
    def variables(self) -> list:
        return []

    def __call__(self, critique: Critique):
        raise NotImplementedError


class GradientPenalty(Penalty):
    """WGAN-GP's penalty (Gulrajani et al. 2017): `weight` x the mean of (||grad D(x̂)||_2 - 1)^2 over random points
    x̂ between paired real and generated images."""

    name = "gp"

    input_gradient_share = Fraction(1)

    def __init__(self, weight: float = 10.0):
        super().__init__()
        self.weight = weight

    def __call__(self, critique: Critique):
        interpolates = random_interpolates(critique.real_images, critique.fake_images, critique.seed)
        penalty = gradient_penalty(critique.discriminator, interpolates)
        self.tracker.update_state(penalty)
        return self.weight * penalty


class R1Penalty(Penalty):
    """R1 (Mescheder et al. 2018): gamma/2 x the mean of ||grad D(x)||^2 over real images; lazily (Karras et al.
    2020) every `every`-th D update, scaled by `every`, and nothing on the others."""

    name = "r1"

    def __init__(self, gamma: float, every: int = 1):
        super().__init__()
        self.gamma = gamma
        self.every = every
        self.input_gradient_share = Fraction(1, every)

    @classmethod
    def from_options(cls, options) -> R1Penalty | None:
        return cls(options.r1, options.r1_every) if options.r1 else None

    def __call__(self, critique: Critique):
        return 0.5 * self.gamma * self.every * self.lazy_penalty(critique)

    def images(self, critique: Critique):
        """The images whose gradient norm is penalised: the real ones."""
        return critique.real_images

    def lazy_penalty(self, critique: Critique):
        if self.every == 1:
            penalty = squared_gradient_norm(critique.discriminator, self.images(critique))
            self.tracker.update_state(penalty)
            return penalty
        due = ops.equal(critique.step % self.every, 0)
        penalty = ops.cond(
            due,
            lambda: squared_gradient_norm(critique.discriminator, self.images(critique)),
            lambda: ops.convert_to_tensor(0.0),
        )
        self.tracker.update_state(penalty, sample_weight=ops.cast(due, "float32"))
        return penalty


class R2Penalty(R1Penalty):
    """R2 (Mescheder et al. 2018; R3GAN, Huang et al. 2024): R1's penalty on the generated images D saw,
    gamma/2 x the mean of ||grad D(G(z))||^2."""

    name = "r2"

    def images(self, critique: Critique):
        return critique.fake_images


class GANLoss:
    """A GAN objective and its discriminator's penalties. Subclasses write `discriminator(real, fake)` and
    `generator(fake, real)` on D's raw outputs, and `score(outputs)`: how D's outputs are reported as `d_real`/`d_fake`.

    Class attributes say what the loss asks of the critic: `critic_normalization` ("batch", or "layer" under a
    per-sample penalty) and `clip` (keep D's weights within +-clip, or None); and `generator_sees_real`, whether G's
    loss compares D's outputs on generated faces with those on real ones. A loss with a real-image target that
    one-sided label smoothing can lower takes `label_smoothing` in its constructor.
    """

    critic_normalization = "batch"
    clip: float | None = None
    generator_sees_real = False

    def __init__(self, penalties: Sequence[Penalty] = ()):
        self.penalties = list(penalties)

    def discriminator(self, real, fake):
        raise NotImplementedError

    def generator(self, fake, real=None):
        """G's loss on D's outputs on a generated batch; `real`, D's outputs on a real batch, is used by a loss that
        compares the two (`generator_sees_real`)."""
        raise NotImplementedError

    def score(self, outputs):
        return outputs

    def generator_loss(self, discriminator: keras.Model, fake_images, real_images):
        """G's loss on a generated batch as D sees it; `real_images`, the real batch of D's last update (as D saw
        it), for a loss that compares the two."""
        real = discriminator(real_images, training=True) if self.generator_sees_real else None
        return self.generator(discriminator(fake_images, training=True), real)

    def discriminator_loss(self, critique: Critique):
        """The objective plus every penalty, in the order they were given."""
        loss = self.discriminator(critique.real_outputs, critique.fake_outputs)
        for penalty in self.penalties:
            loss += penalty(critique)
        return loss

    @property
    def trackers(self) -> dict[str, keras.metrics.Metric]:
        return {penalty.name: penalty.tracker for penalty in self.penalties}

    @property
    def variables(self) -> list:
        """The penalties' state across steps, for the checkpoint."""
        return [variable for penalty in self.penalties for variable in penalty.variables]


class NonSaturatingLoss(GANLoss):
    """Binary cross-entropy with the non-saturating generator loss -log D(G(z)) (Goodfellow et al. 2014).

    With D = sigmoid(l): -log D = softplus(-l) and -log(1 - D) = softplus(l). `label_smoothing` below 1, the real images'
    target, is one-sided label smoothing (Salimans et al. 2016): only the real images' target moves, the fake target stays 0.
    """

    def __init__(self, label_smoothing: float = 1.0, penalties: Sequence[Penalty] = ()):
        super().__init__(penalties)
        self.real_target = label_smoothing

    def discriminator(self, real, fake):
        t = self.real_target
        real_loss = t * ops.softplus(-real) + (1.0 - t) * ops.softplus(real)
        return ops.mean(real_loss) + ops.mean(ops.softplus(fake))

    def generator(self, fake, real=None):
        return ops.mean(ops.softplus(-fake))

    def score(self, outputs):
        return ops.sigmoid(outputs)


class MinimaxLoss(NonSaturatingLoss):
    """The original minimax game (Goodfellow et al. 2014): G minimises log(1 - D(G(z))) = -softplus(l)."""

    def generator(self, fake, real=None):
        return -ops.mean(ops.softplus(fake))


class LeastSquaresLoss(GANLoss):
    """Least-squares GAN (Mao et al. 2017), 0-1-1 coding: D pulls real outputs to 1 and fake to 0, G pulls fake to 1."""

    def __init__(self, label_smoothing: float = 1.0, penalties: Sequence[Penalty] = ()):
        super().__init__(penalties)
        self.real_target = label_smoothing

    def discriminator(self, real, fake):
        return 0.5 * ops.mean(ops.square(real - self.real_target)) + 0.5 * ops.mean(ops.square(fake))

    def generator(self, fake, real=None):
        return 0.5 * ops.mean(ops.square(fake - 1.0))


class WassersteinLoss(GANLoss):
    """Wasserstein GAN (Arjovsky et al. 2017): the critic maximises E[D(x)] - E[D(G(z))], G maximises E[D(G(z))];
    the critic's weights are clipped to +-`clip` after every update."""

    def __init__(self, clip: float = 0.01, penalties: Sequence[Penalty] = ()):
        super().__init__(penalties)
        self.clip = clip

    def discriminator(self, real, fake):
        return ops.mean(fake) - ops.mean(real)

    def generator(self, fake, real=None):
        return -ops.mean(fake)


class WassersteinGPLoss(WassersteinLoss):
    """WGAN-GP (Gulrajani et al. 2017): the Wasserstein objective with `gp_weight` x the gradient penalty in place of
    clipping, and LayerNorm in the critic, since BatchNorm would break the per-sample penalty."""

    critic_normalization = "layer"

    def __init__(self, gp_weight: float = 10.0, penalties: Sequence[Penalty] = ()):
        super().__init__(clip=None, penalties=[GradientPenalty(gp_weight), *penalties])


class HingeLoss(GANLoss):
    """Hinge loss (Lim & Ye 2017; Miyato et al. 2018): D minimises E[relu(1 - D(x))] + E[relu(1 + D(G(z)))], G
    maximises E[D(G(z))]."""

    def discriminator(self, real, fake):
        return ops.mean(ops.relu(1.0 - real)) + ops.mean(ops.relu(1.0 + fake))

    def generator(self, fake, real=None):
        return -ops.mean(fake)


class RelativisticLoss(GANLoss):
    """The relativistic pairing loss with R1 and R2 (R3GAN, Huang et al. 2024; Jolicoeur-Martineau 2019): D minimises
    E[softplus(D(G(z)) - D(x))] over paired real and generated images, G minimises E[softplus(D(x) - D(G(z)))], and
    gamma/2 E||grad D||^2 on both real (R1) and generated (R2) images keeps D smooth where either lies. The critic
    has no normalisation: BatchNorm would tie the per-sample penalties together. With `r1_every` K > 1 both
    penalties are lazy, applied (scaled by K) every K-th D update, which takes most of their cost off the step."""

    critic_normalization = "none"
    generator_sees_real = True

    def __init__(self, gamma: float = 1.0, r1_every: int = 1, penalties: Sequence[Penalty] = ()):
        super().__init__([R1Penalty(gamma, r1_every), R2Penalty(gamma, r1_every), *penalties])

    def discriminator(self, real, fake):
        return ops.mean(ops.softplus(fake - real))

    def generator(self, fake, real=None):
        return ops.mean(ops.softplus(real - fake))


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


def squared_gradient_norm(critic, images):
    """R1's and R2's penalty (Mescheder et al. 2018): the mean of ||grad_x D(x)||_2^2 over `images`; the loss adds
    gamma/2 of it."""
    gradients = input_gradients(critic, images)
    return ops.mean(ops.sum(ops.square(gradients), axis=[1, 2, 3]))


def get(name: str, **arguments) -> GANLoss:
    """The loss `--loss name` trains with, built with `arguments` (e.g. label_smoothing=0.9, penalties=[...])."""
    if name not in LOSS_SPECS:
        raise ValueError(f"unknown GAN loss {name!r}: choose one of {', '.join(LOSS_SPECS)}")
    return loss_class(name)(**arguments)


def smoothable() -> list[str]:
    """The losses with a real-image target that label smoothing can lower (their constructors take it)."""
    return [name for name in LOSS_SPECS if "label_smoothing" in parameters(loss_class(name))]


def build(options) -> GANLoss:
    """The loss a run's options (a `config.TrainConfig`) name, with the penalties its options turn on.

    The loss class takes the options named by its constructor's parameters (`label_smoothing`, `clip`,
    `gp_weight`); each option declared with a `part` adds that penalty when its `from_options` returns one.
    """
    cls = loss_class(options.loss)
    accepted = parameters(cls) - {"penalties"}
    if options.label_smoothing != 1.0 and "label_smoothing" not in accepted:
        raise ConfigError(
            f"--label-smoothing needs a loss with a real-image target ({', '.join(smoothable())}), "
            f"not --loss {options.loss}: drop --label-smoothing"
        )
    penalties = [part_class(path).from_options(options) for path in PARTS.values()]
    return cls(**{name: getattr(options, name) for name in accepted}, penalties=[p for p in penalties if p])


def loss_class(name: str) -> type[GANLoss]:
    """The class `config.LOSS_SPECS` registers under `name`."""
    return part_class(LOSS_SPECS[name].loss)


def parameters(cls) -> set[str]:
    return set(inspect.signature(cls).parameters)


def part_class(path: str) -> type:
    """The class named by "module:Class"."""
    module, name = path.split(":")
    return getattr(importlib.import_module(module), name)

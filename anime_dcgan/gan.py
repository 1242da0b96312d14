"""The GAN as one keras.Model: a generator, a discriminator and a train_step that updates both."""

from __future__ import annotations

import keras
import tensorflow as tf
from keras import ops

from anime_dcgan import losses


class GAN(keras.Model):
    """Trains `generator` against `discriminator`: `d_steps` discriminator updates, then one generator update.

    Each batch the model receives holds `d_steps` real batches stacked along the first axis, one per D update.
    """

    def __init__(self, generator: keras.Model, discriminator: keras.Model, seed: int | None = None, **kwargs):
        super().__init__(**kwargs)
        self.generator = generator
        self.discriminator = discriminator
        self.latent_dim = generator.input_shape[-1]
        self.seed_generator = keras.random.SeedGenerator(seed)

    def compile(
        self,
        d_optimizer: keras.optimizers.Optimizer,
        g_optimizer: keras.optimizers.Optimizer,
        gan_loss=None,
        d_steps: int = 1,
        gp_weight: float = 0.0,
        d_threshold: float | None = None,
        g_threshold: float | None = None,
        **kwargs,
    ) -> None:
        """Set the optimizers (built now, so a checkpoint can restore them), the loss and the update schedule.

        gan_loss: an object from `losses` (default: non-saturating BCE). gp_weight > 0 adds WGAN-GP's gradient
        penalty to D's loss. D is not updated while its loss is below `d_threshold`, G not while its loss is at or
        below `g_threshold`; the skipped updates are counted as `d_skipped` / `g_skipped`.
        """
        super().compile(**kwargs)
        self.d_optimizer = d_optimizer
        self.g_optimizer = g_optimizer
        self.gan_loss = gan_loss or losses.NonSaturatingLoss()
        self.d_steps = d_steps
        self.gp_weight = gp_weight
        self.d_threshold = d_threshold
        self.g_threshold = g_threshold
        d_optimizer.build(self.discriminator.trainable_variables)
        g_optimizer.build(self.generator.trainable_variables)
        self.trackers = {name: keras.metrics.Mean(name=name) for name in ("d_loss", "g_loss", "d_real", "d_fake")}
        if gp_weight:
            self.trackers["gp"] = keras.metrics.Mean(name="gp")
        if d_threshold is not None:
            self.trackers["d_skipped"] = keras.metrics.Sum(name="d_skipped")
        if g_threshold is not None:
            self.trackers["g_skipped"] = keras.metrics.Sum(name="g_skipped")

    @property
    def metrics(self) -> list[keras.metrics.Metric]:
        # Listed here so Keras resets them at the start of every epoch.
        return list(getattr(self, "trackers", {}).values())

    def sample_latent(self, batch_size) -> tf.Tensor:
        return keras.random.normal((batch_size, self.latent_dim), seed=self.seed_generator)

    def call(self, latent, training: bool = False):
        return self.generator(latent, training=training)

    def train_step(self, real_images):
        for real in ops.split(real_images, self.d_steps):
            self.discriminator_step(real)
        self.generator_step(ops.shape(real_images)[0] // self.d_steps)
        return {name: tracker.result() for name, tracker in self.trackers.items()}

    def discriminator_step(self, real_images) -> None:
        """One update of D on a real batch and a generated batch of the same size."""
        fake_images = self.generator(self.sample_latent(ops.shape(real_images)[0]), training=True)
        with tf.GradientTape() as tape:
            real_outputs = self.discriminator(real_images, training=True)
            fake_outputs = self.discriminator(fake_images, training=True)
            d_loss = self.gan_loss.discriminator(real_outputs, fake_outputs)
            if self.gp_weight:
                interpolates = losses.random_interpolates(real_images, fake_images, self.seed_generator)
                penalty = losses.gradient_penalty(self.discriminator, interpolates)
                self.trackers["gp"].update_state(penalty)
                d_loss += self.gp_weight * penalty
        skip = None if self.d_threshold is None else d_loss < self.d_threshold
        self._update(self.d_optimizer, tape.gradient(d_loss, self.discriminator.trainable_weights),
                     self.discriminator.trainable_weights, skip, "d_skipped")  # fmt: skip
        self.trackers["d_loss"].update_state(d_loss)
        self.trackers["d_real"].update_state(ops.mean(self.gan_loss.score(real_outputs)))
        self.trackers["d_fake"].update_state(ops.mean(self.gan_loss.score(fake_outputs)))

    def generator_step(self, batch_size) -> None:
        """One update of G through D's judgement of a fresh generated batch."""
        with tf.GradientTape() as tape:
            fake_outputs = self.discriminator(self.generator(self.sample_latent(batch_size), training=True), training=True)
            g_loss = self.gan_loss.generator(fake_outputs)
        skip = None if self.g_threshold is None else g_loss <= self.g_threshold
        self._update(self.g_optimizer, tape.gradient(g_loss, self.generator.trainable_weights),
                     self.generator.trainable_weights, skip, "g_skipped")  # fmt: skip
        self.trackers["g_loss"].update_state(g_loss)

    def _update(self, optimizer, gradients, weights, skip, skip_counter: str) -> None:
        """Apply the gradients, unless `skip` (a boolean tensor, or None for never) is true; count the skips."""
        if skip is None:
            optimizer.apply_gradients(zip(gradients, weights))
            return

        def apply():
            optimizer.apply_gradients(zip(gradients, weights))
            return ops.convert_to_tensor(0.0)

        skipped = ops.cond(skip, lambda: ops.convert_to_tensor(1.0), apply)
        self.trackers[skip_counter].update_state(skipped)

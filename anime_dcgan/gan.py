"""The GAN as one keras.Model: a generator, a discriminator and a train_step that updates both."""

from __future__ import annotations

import keras
import tensorflow as tf
from keras import ops

from anime_dcgan import losses


class GAN(keras.Model):
    """Trains `generator` against `discriminator`: one discriminator update, then one generator update, per batch."""

    def __init__(self, generator: keras.Model, discriminator: keras.Model, seed: int | None = None, **kwargs):
        super().__init__(**kwargs)
        self.generator = generator
        self.discriminator = discriminator
        self.latent_dim = generator.input_shape[-1]
        self.seed_generator = keras.random.SeedGenerator(seed)
        self.d_loss_tracker = keras.metrics.Mean(name="d_loss")
        self.g_loss_tracker = keras.metrics.Mean(name="g_loss")
        self.d_real_tracker = keras.metrics.Mean(name="d_real")
        self.d_fake_tracker = keras.metrics.Mean(name="d_fake")

    def compile(
        self,
        d_optimizer: keras.optimizers.Optimizer,
        g_optimizer: keras.optimizers.Optimizer,
        gan_loss: str = "bce",
        **kwargs,
    ) -> None:
        """Set both optimizers (built now, so a checkpoint can restore their state) and the GAN loss by name."""
        super().compile(**kwargs)
        self.d_optimizer = d_optimizer
        self.g_optimizer = g_optimizer
        self.gan_loss = losses.get(gan_loss)
        d_optimizer.build(self.discriminator.trainable_variables)
        g_optimizer.build(self.generator.trainable_variables)

    @property
    def metrics(self) -> list[keras.metrics.Metric]:
        # Listed here so Keras resets them at the start of every epoch.
        return [self.d_loss_tracker, self.g_loss_tracker, self.d_real_tracker, self.d_fake_tracker]

    def sample_latent(self, batch_size) -> tf.Tensor:
        return keras.random.normal((batch_size, self.latent_dim), seed=self.seed_generator)

    def call(self, latent, training: bool = False):
        return self.generator(latent, training=training)

    def train_step(self, real_images):
        batch_size = ops.shape(real_images)[0]

        # Discriminator: tell real faces from the generator's.
        fake_images = self.generator(self.sample_latent(batch_size), training=True)
        with tf.GradientTape() as tape:
            real_logits = self.discriminator(real_images, training=True)
            fake_logits = self.discriminator(fake_images, training=True)
            d_loss = self.gan_loss.discriminator(real_logits, fake_logits)
        d_weights = self.discriminator.trainable_weights
        self.d_optimizer.apply_gradients(zip(tape.gradient(d_loss, d_weights), d_weights))

        # Generator: make the discriminator call its faces real.
        with tf.GradientTape() as tape:
            fake_logits_for_g = self.discriminator(
                self.generator(self.sample_latent(batch_size), training=True), training=True
            )
            g_loss = self.gan_loss.generator(fake_logits_for_g)
        g_weights = self.generator.trainable_weights
        self.g_optimizer.apply_gradients(zip(tape.gradient(g_loss, g_weights), g_weights))

        self.d_loss_tracker.update_state(d_loss)
        self.g_loss_tracker.update_state(g_loss)
        self.d_real_tracker.update_state(ops.mean(ops.sigmoid(real_logits)))
        self.d_fake_tracker.update_state(ops.mean(ops.sigmoid(fake_logits)))
        return {metric.name: metric.result() for metric in self.metrics}

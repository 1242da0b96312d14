"""The GAN as one keras.Model: a generator, a discriminator and a train_step that updates both."""

from __future__ import annotations

import keras
import tensorflow as tf
from keras import ops

from anime_dcgan import distribute, losses
from anime_dcgan.augment import DiffAugment
from anime_dcgan.averaging import WeightAverage
from anime_dcgan.config import UPDATES
from anime_dcgan.data import to_unit_range


class GAN(keras.Model):
    """Trains `generator` against `discriminator`: `d_steps` discriminator updates, then one generator update.

    Its parts: `augment`, what D is shown of every image, real or generated (a `DiffAugment`; none by default), and
    `ema`, a `WeightAverage` of G's weights that samples in G's place (none by default); `compile` takes the
    optimizers and the loss, which owns D's penalties.

    Each batch the model receives (images in [-1, 1], or uint8 pixels, scaled on the device) holds `d_steps` real
    batches interleaved along the first axis (rows i, i + d_steps, i + 2 d_steps, ... are the i-th D update's), so
    that any contiguous split of it across replicas gives each replica its share of every update's batch.
    Built and compiled under a tf.distribute strategy's scope, it trains on all of its replicas (see `distribute`).
    """

    def __init__(
        self,
        generator: keras.Model,
        discriminator: keras.Model,
        augment: DiffAugment | None = None,
        ema: WeightAverage | None = None,
        seed: int | None = None,
        **kwargs,
    ):
        super().__init__(**kwargs)
        self.generator = generator
        self.discriminator = discriminator
        self.augment = augment or DiffAugment()
        self.ema = ema
        self.latent_dim = generator.input_shape[-1]
        self.seed_generator = keras.random.SeedGenerator(seed)  # noise, augmentation and penalties draw from it
        self.built = True  # both networks are; Keras must not build the GAN by calling it on a batch of images

    def compile(
        self,
        d_optimizer: keras.optimizers.Optimizer,
        g_optimizer: keras.optimizers.Optimizer,
        loss: losses.GANLoss | None = None,
        d_steps: int = 1,
        d_threshold: float | None = None,
        g_threshold: float | None = None,
        updates: str = "alternating",
        **kwargs,
    ) -> None:
        """Set the optimizers (built now, so a checkpoint can restore them), the loss and the update schedule.

        loss: a `losses.GANLoss` with its penalties (default: non-saturating BCE). D is not updated while its loss is
        below `d_threshold`, G not while its loss is at or below `g_threshold`; the skipped updates are counted as
        `d_skipped` / `g_skipped`. updates: "alternating" or "simultaneous" (see `train_step`).
        """
        super().compile(**kwargs)
        self.d_optimizer = d_optimizer
        self.g_optimizer = g_optimizer
        self.gan_loss = loss or losses.NonSaturatingLoss()
        self.d_steps = d_steps
        self.d_threshold = d_threshold
        self.g_threshold = g_threshold
        if updates not in UPDATES:
            raise ValueError(f"unknown updates {updates!r}: choose one of {', '.join(UPDATES)}")
        self.updates = updates
        d_optimizer.build(self.discriminator.trainable_variables)
        g_optimizer.build(self.generator.trainable_variables)
        self.trackers = {name: keras.metrics.Mean(name=name) for name in ("d_loss", "g_loss", "d_real", "d_fake")}
        self.trackers["nonfinite"] = keras.metrics.Sum(name="nonfinite")  # updates dropped for a NaN/Inf
        self.trackers.update(self.gan_loss.trackers)
        self.trackers.update(self.augment.trackers)
        if d_threshold is not None:
            self.trackers["d_skipped"] = keras.metrics.Sum(name="d_skipped")
        if g_threshold is not None:
            self.trackers["g_skipped"] = keras.metrics.Sum(name="g_skipped")

    @property
    def metrics(self) -> list[keras.metrics.Metric]:
        # Listed here so Keras resets them at the start of every epoch.
        return list(getattr(self, "trackers", {}).values())

    @property
    def sampler(self) -> keras.Model:
        """The generator that draws samples, is evaluated and exported: the weight average if there is one."""
        return self.ema.model if self.ema else self.generator

    def sample_latent(self, batch_size) -> tf.Tensor:
        return distribute.local_rows(
            lambda rows: keras.random.normal((rows, self.latent_dim), seed=self.seed_generator), batch_size
        )

    def call(self, latent, training: bool = False):
        return self.generator(latent, training=training)

    def train_step(self, real_images):
        """`d_steps` updates of D, then one of G: through D as its last update left it ("alternating" updates), or
        from the outputs D's last update learned from ("simultaneous", as in TensorFlow's DCGAN tutorial: D's forward
        passes serve both updates, and both networks move after).

        G draws each batch of fakes once: the last D update and G's update share one forward pass of G (and its
        augmentation).
        """
        if real_images.dtype == "uint8":
            real_images = to_unit_range(real_images)
        real_batches = [real_images[i :: self.d_steps] for i in range(self.d_steps)]
        batch_size = ops.shape(real_batches[0])[0]
        for real in real_batches[:-1]:
            self.discriminator_step(real, self.generate(batch_size))
        with tf.GradientTape() as tape:
            fake_images = self.generate(batch_size)
            if self.updates == "simultaneous":
                critique, d_loss, d_gradients = self.discriminator_gradients(real_batches[-1], fake_images)
                g_loss = self.gan_loss.generator(critique.fake_outputs, critique.real_outputs)
            else:
                with tape.stop_recording():
                    critique = self.discriminator_step(real_batches[-1], fake_images)
                g_loss = self.gan_loss.generator_loss(self.discriminator, fake_images, critique.real_images)
            scaled_loss = self.loss_for_gradients(self.g_optimizer, g_loss)
        g_gradients = tape.gradient(scaled_loss, self.generator.trainable_weights)
        if self.updates == "simultaneous":
            self.discriminator_update(critique, d_loss, d_gradients)
        self.generator_update(g_loss, g_gradients)
        return distribute.step_results({name: tracker.result() for name, tracker in self.trackers.items()})

    def generate(self, batch_size):
        """A batch of G's images from fresh noise, as D sees them (augmented), in training mode."""
        return self.augment(self.generator(self.sample_latent(batch_size), training=True), self.seed_generator)

    def discriminator_step(self, real_images, fake_images) -> losses.Critique:
        """One update of D on a real batch and a generated batch (already augmented) of the same size; returns what
        D made of them."""
        critique, d_loss, gradients = self.discriminator_gradients(real_images, fake_images)
        self.discriminator_update(critique, d_loss, gradients)
        return critique

    def discriminator_gradients(self, real_images, fake_images) -> tuple[losses.Critique, tf.Tensor, list]:
        """What D makes of a real batch and a generated batch (already augmented) of the same size, its loss and the
        loss's gradients with respect to D's weights."""
        real_images = self.augment(real_images, self.seed_generator)
        with tf.GradientTape() as tape:
            real_outputs = self.discriminator(real_images, training=True)
            fake_outputs = self.discriminator(fake_images, training=True)
            self.augment.observe(real_outputs)
            critique = losses.Critique(self.discriminator, real_images, fake_images, real_outputs, fake_outputs,
                                       self.d_optimizer.iterations, self.seed_generator)  # fmt: skip
            d_loss = self.gan_loss.discriminator_loss(critique)
            scaled_loss = self.loss_for_gradients(self.d_optimizer, d_loss)
        return critique, d_loss, tape.gradient(scaled_loss, self.discriminator.trainable_weights)

    def discriminator_update(self, critique: losses.Critique, d_loss, gradients) -> None:
        """Apply D's gradients (unless skipped) and count its loss and scores."""
        skip = None if self.d_threshold is None else distribute.global_mean(d_loss) < self.d_threshold
        self._update(self.d_optimizer, d_loss, gradients,
                     self.discriminator.trainable_weights, skip, "d_skipped")  # fmt: skip
        self.trackers["d_loss"].update_state(d_loss)
        self.trackers["d_real"].update_state(ops.mean(self.gan_loss.score(critique.real_outputs)))
        self.trackers["d_fake"].update_state(ops.mean(self.gan_loss.score(critique.fake_outputs)))

    def generator_update(self, g_loss, gradients) -> None:
        """Apply G's gradients (unless skipped), count the loss and move the weight average."""
        skip = None if self.g_threshold is None else distribute.global_mean(g_loss) <= self.g_threshold
        self._update(self.g_optimizer, g_loss, gradients,
                     self.generator.trainable_weights, skip, "g_skipped")  # fmt: skip
        self.trackers["g_loss"].update_state(g_loss)
        if self.ema:
            self.ema.update(self.generator, self.g_optimizer.iterations)

    def update_standing_statistics(self, batches: int, batch_size: int) -> None:
        """Give the weight average BatchNorm statistics of its own, from `batches` batches of fresh noise."""
        self.ema.update_standing_statistics(self.sample_latent, batches, batch_size)

    @staticmethod
    def loss_for_gradients(optimizer, loss):
        """What a replica differentiates: its batch's mean loss over the replica count, since the optimizer sums the
        replicas' gradients, and times the loss scale under float16's loss scaling (else unchanged)."""
        return optimizer.scale_loss(loss) / distribute.replicas()

    def _update(self, optimizer, loss, gradients, weights, skip, skip_counter: str) -> None:
        """Apply the gradients, unless a loss or a gradient is NaN/Inf on any replica (counted as `nonfinite`: the
        weights stay as they were) or `skip` (a boolean tensor the same on every replica, or None for never) is true
        (counted as `skip_counter`).

        Under a loss-scale optimizer (float16), gradients that overflow are its business: it skips that step and
        lowers the scale; only a non-finite loss counts here.
        """
        checked = [loss] if isinstance(optimizer, keras.optimizers.LossScaleOptimizer) else [loss, *gradients]
        locally_finite = ops.all(ops.stack([ops.all(ops.isfinite(tensor)) for tensor in checked]))
        finite = ops.equal(distribute.global_mean(1.0 - ops.cast(locally_finite, "float32")), 0.0)
        share = 1.0 / distribute.replicas()  # each replica counts its share of a dropped or skipped update
        self.trackers["nonfinite"].update_state(share * (1.0 - ops.cast(finite, "float32")))
        skipped = ops.convert_to_tensor(False) if skip is None else skip

        def apply(gradients):
            optimizer.apply_gradients(zip(gradients, weights))

        distribute.apply_if(ops.logical_and(finite, ops.logical_not(skipped)), apply, gradients)
        if skip is not None:
            self.trackers[skip_counter].update_state(share * ops.cast(ops.logical_and(finite, skipped), "float32"))

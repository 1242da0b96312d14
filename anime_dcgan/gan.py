"""The GAN as one keras.Model: a generator, a discriminator and a train_step that updates both."""

from __future__ import annotations

import keras
import tensorflow as tf
from keras import ops

from anime_dcgan import distribute, losses
from anime_dcgan.augment import diff_augment
from anime_dcgan.data import to_unit_range


class GAN(keras.Model):
    """Trains `generator` against `discriminator`: `d_steps` discriminator updates, then one generator update.

    Each batch the model receives (images in [-1, 1], or uint8 pixels, scaled on the device) holds `d_steps` real
    batches interleaved along the first axis (rows i, i + d_steps, i + 2 d_steps, ... are the i-th D update's), so
    that any contiguous split of it across replicas gives each replica its share of every update's batch.
    Built and compiled under a tf.distribute strategy's scope, it trains on all of its replicas (see `distribute`).
    """

    def __init__(self, generator: keras.Model, discriminator: keras.Model, seed: int | None = None, **kwargs):
        super().__init__(**kwargs)
        self.generator = generator
        self.discriminator = discriminator
        self.latent_dim = generator.input_shape[-1]
        self.seed_generator = keras.random.SeedGenerator(seed)
        self.built = True  # both networks are; Keras must not build the GAN by calling it on a batch of images

    def compile(
        self,
        d_optimizer: keras.optimizers.Optimizer,
        g_optimizer: keras.optimizers.Optimizer,
        gan_loss=None,
        d_steps: int = 1,
        gp_weight: float = 0.0,
        d_threshold: float | None = None,
        g_threshold: float | None = None,
        r1_gamma: float = 0.0,
        r1_every: int = 1,
        augment: tuple[str, ...] = (),
        ema_decay: float | None = None,
        **kwargs,
    ) -> None:
        """Set the optimizers (built now, so a checkpoint can restore them), the loss and the update schedule.

        gan_loss: an object from `losses` (default: non-saturating BCE). gp_weight > 0 adds WGAN-GP's gradient
        penalty to D's loss; r1_gamma > 0 adds the R1 penalty, gamma/2 E||grad D(x)||^2 on real images, computed
        every `r1_every` D steps and scaled by that (lazy regularisation). D is not updated while its loss is below
        `d_threshold`, G not while its loss is at or below `g_threshold`; the skipped updates are counted as
        `d_skipped` / `g_skipped`. `augment` is a DiffAugment policy applied to every image D sees, real or
        generated, in both updates. `ema_decay` keeps `ema_generator`, an exponential moving average of G's weights.
        """
        super().compile(**kwargs)
        self.d_optimizer = d_optimizer
        self.g_optimizer = g_optimizer
        self.gan_loss = gan_loss or losses.NonSaturatingLoss()
        self.d_steps = d_steps
        self.gp_weight = gp_weight
        self.d_threshold = d_threshold
        self.g_threshold = g_threshold
        self.r1_gamma = r1_gamma
        self.r1_every = r1_every
        self.augment = tuple(augment)
        self.ema_decay = ema_decay
        self.ema_generator = None
        if ema_decay is not None:
            self.ema_generator = keras.models.clone_model(self.generator)
            self.ema_generator.set_weights(self.generator.get_weights())
        d_optimizer.build(self.discriminator.trainable_variables)
        g_optimizer.build(self.generator.trainable_variables)
        self.trackers = {name: keras.metrics.Mean(name=name) for name in ("d_loss", "g_loss", "d_real", "d_fake")}
        self.trackers["nonfinite"] = keras.metrics.Sum(name="nonfinite")  # updates dropped for a NaN/Inf
        if gp_weight:
            self.trackers["gp"] = keras.metrics.Mean(name="gp")
        if r1_gamma:
            self.trackers["r1"] = keras.metrics.Mean(name="r1")
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
        return self.ema_generator or self.generator

    def sample_latent(self, batch_size) -> tf.Tensor:
        return distribute.local_rows(
            lambda rows: keras.random.normal((rows, self.latent_dim), seed=self.seed_generator), batch_size
        )

    def call(self, latent, training: bool = False):
        return self.generator(latent, training=training)

    def train_step(self, real_images):
        """`d_steps` updates of D, then one of G through the updated D.

        G draws each batch of fakes once: the last D update and G's update share one forward pass of G (and its
        augmentation), with G's tape paused while D learns from those fakes.
        """
        if real_images.dtype == "uint8":
            real_images = to_unit_range(real_images)
        real_batches = [real_images[i :: self.d_steps] for i in range(self.d_steps)]
        batch_size = ops.shape(real_batches[0])[0]
        for real in real_batches[:-1]:
            self.discriminator_step(real, self.generate(batch_size))
        with tf.GradientTape() as tape:
            fake_images = self.generate(batch_size)
            with tape.stop_recording():
                self.discriminator_step(real_batches[-1], fake_images)
            g_loss = self.gan_loss.generator(self.discriminator(fake_images, training=True))
            scaled_loss = self.loss_for_gradients(self.g_optimizer, g_loss)
        self.generator_update(g_loss, tape.gradient(scaled_loss, self.generator.trainable_weights))
        return distribute.step_results({name: tracker.result() for name, tracker in self.trackers.items()})

    def augmented(self, images):
        """What D is shown of `images`: the DiffAugment policy applied, if there is one."""
        return diff_augment(images, self.augment, self.seed_generator) if self.augment else images

    def generate(self, batch_size):
        """A batch of G's images from fresh noise, as D sees them (augmented), in training mode."""
        return self.augmented(self.generator(self.sample_latent(batch_size), training=True))

    def discriminator_step(self, real_images, fake_images) -> None:
        """One update of D on a real batch and a generated batch (already augmented) of the same size."""
        real_images = self.augmented(real_images)
        with tf.GradientTape() as tape:
            real_outputs = self.discriminator(real_images, training=True)
            fake_outputs = self.discriminator(fake_images, training=True)
            d_loss = self.gan_loss.discriminator(real_outputs, fake_outputs)
            if self.gp_weight:
                interpolates = losses.random_interpolates(real_images, fake_images, self.seed_generator)
                penalty = losses.gradient_penalty(self.discriminator, interpolates)
                self.trackers["gp"].update_state(penalty)
                d_loss += self.gp_weight * penalty
            if self.r1_gamma:
                d_loss += 0.5 * self.r1_gamma * self.r1_every * self.lazy_r1_penalty(real_images)
            scaled_loss = self.loss_for_gradients(self.d_optimizer, d_loss)
        skip = None if self.d_threshold is None else distribute.global_mean(d_loss) < self.d_threshold
        gradients = tape.gradient(scaled_loss, self.discriminator.trainable_weights)
        self._update(self.d_optimizer, d_loss, gradients,
                     self.discriminator.trainable_weights, skip, "d_skipped")  # fmt: skip
        self.trackers["d_loss"].update_state(d_loss)
        self.trackers["d_real"].update_state(ops.mean(self.gan_loss.score(real_outputs)))
        self.trackers["d_fake"].update_state(ops.mean(self.gan_loss.score(fake_outputs)))

    def generator_update(self, g_loss, gradients) -> None:
        """Apply G's gradients (unless skipped), count the loss and move the weight average."""
        skip = None if self.g_threshold is None else distribute.global_mean(g_loss) <= self.g_threshold
        self._update(self.g_optimizer, g_loss, gradients,
                     self.generator.trainable_weights, skip, "g_skipped")  # fmt: skip
        self.trackers["g_loss"].update_state(g_loss)
        if self.ema_generator is not None:
            self.update_ema()

    def lazy_r1_penalty(self, real_images):
        """The R1 penalty on every `r1_every`-th D step (counted by D's optimizer), zero on the others."""
        if self.r1_every == 1:
            penalty = losses.r1_penalty(self.discriminator, real_images)
            self.trackers["r1"].update_state(penalty)
            return penalty
        due = ops.equal(self.d_optimizer.iterations % self.r1_every, 0)
        penalty = ops.cond(
            due, lambda: losses.r1_penalty(self.discriminator, real_images), lambda: ops.convert_to_tensor(0.0)
        )
        self.trackers["r1"].update_state(penalty, sample_weight=ops.cast(due, "float32"))
        return penalty

    def update_ema(self) -> None:
        """Move the average towards G's trainable weights; the decay ramps up as (1 + t) / (10 + t) over G's steps."""
        steps = ops.cast(self.g_optimizer.iterations, "float32")
        decay = ops.minimum(self.ema_decay, (1.0 + steps) / (10.0 + steps))
        for average, weight in zip(self.ema_generator.trainable_weights, self.generator.trainable_weights):
            average.assign(decay * average + (1.0 - decay) * ops.cast(weight, average.dtype))

    def update_standing_statistics(self, batches: int, batch_size: int) -> None:
        """Give the averaged generator BatchNorm statistics of its own: the mean of its batch statistics over
        `batches` batches of fresh noise (BigGAN's "standing statistics"), in place of G's moving averages."""
        norms = [layer for layer in self.ema_generator.layers if isinstance(layer, keras.layers.BatchNormalization)]
        momenta = [layer.momentum for layer in norms]
        for i in range(batches):
            for layer in norms:
                layer.momentum = i / (i + 1)  # a running mean: batch i gets weight 1 / (i + 1)
            self.ema_generator(self.sample_latent(batch_size), training=True)
        for layer, momentum in zip(norms, momenta):
            layer.momentum = momentum

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

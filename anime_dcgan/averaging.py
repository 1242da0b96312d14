"""The generator's weight average: an exponential moving average of its weights with BatchNorm statistics of its
own, the generator that samples, is evaluated and is exported when a run keeps one."""

from __future__ import annotations

from collections.abc import Callable

import keras
from keras import ops


class WeightAverage:
    """An exponential moving average of `generator`'s trainable weights, in `model` (a copy of the generator).

    `update(generator, step)` moves it after G's `step`-th update, with the decay ramped up as
    min(decay, (1 + t) / (10 + t)) so that early steps are not averaged with the random initial weights;
    `update_standing_statistics` gives its BatchNorm layers statistics of its own weights.
    """

    def __init__(self, generator: keras.Model, decay: float = 0.999):
        self.decay = decay
        self.model = keras.models.clone_model(generator)
        self.model.set_weights(generator.get_weights())

    def update(self, generator: keras.Model, step) -> None:
        """Move the average towards `generator`'s trainable weights after its `step`-th update."""
        steps = ops.cast(step, "float32")
        decay = ops.minimum(self.decay, (1.0 + steps) / (10.0 + steps))
        for average, weight in zip(self.model.trainable_weights, generator.trainable_weights):
            average.assign(decay * average + (1.0 - decay) * ops.cast(weight, average.dtype))

    def update_standing_statistics(self, draw_latent: Callable[[int], object], batches: int, batch_size: int) -> None:
        """BatchNorm statistics of the average's own: the mean of its batch statistics over `batches` batches of
        `draw_latent(batch_size)` noise (BigGAN's "standing statistics"), in place of G's moving averages."""
        norms = [layer for layer in self.model.layers if isinstance(layer, keras.layers.BatchNormalization)]
        momenta = [layer.momentum for layer in norms]
        for i in range(batches):
            for layer in norms:
                layer.momentum = i / (i + 1)  # a running mean: batch i gets weight 1 / (i + 1)
            self.model(draw_latent(batch_size), training=True)
        for layer, momentum in zip(norms, momenta):
            layer.momentum = momentum

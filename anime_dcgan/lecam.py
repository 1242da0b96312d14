"""LeCam regularisation (Tseng et al. 2021), a penalty for GANs trained on limited data."""

from __future__ import annotations

import keras
from keras import ops

from anime_dcgan import distribute
from anime_dcgan.losses import Critique, Penalty


class LeCamPenalty(Penalty):
    """`weight` x (E[relu(D(x) - a_fake)^2] + E[relu(a_real - D(G(z)))^2]), where a_real and a_fake are moving
    averages (decay `decay`) of D's mean output on real and on generated images.

    It keeps D's outputs on real and fake images from drifting apart beyond where they have recently been, which
    bounds how far D can overfit a small training set. The one-sided (relu) form is the one the authors' code
    trains with; the anchors start at the first batch's means and are updated before each penalty.
    """

    name = "lecam"

    def __init__(self, weight: float, decay: float = 0.99):
        super().__init__()
        self.weight = weight
        self.decay = decay
        # The same on every replica: each assigns the mean over all replicas' batches.
        self.anchors = [
            keras.Variable(0.0, trainable=False, name=name, aggregation="only_first_replica")
            for name in ("lecam_real_anchor", "lecam_fake_anchor")
        ]
        self.updates = keras.Variable(0, trainable=False, dtype="int64", name="lecam_updates",
                                      aggregation="only_first_replica")  # fmt: skip

    @classmethod
    def from_options(cls, options) -> LeCamPenalty | None:
        return cls(options.lecam) if options.lecam else None

    @property
    def variables(self) -> list:
        return [*self.anchors, self.updates]

    def __call__(self, critique: Critique):
        real_outputs = ops.cast(critique.real_outputs, "float32")
        fake_outputs = ops.cast(critique.fake_outputs, "float32")
        real_anchor, fake_anchor = self.update_anchors(real_outputs, fake_outputs)
        penalty = ops.mean(ops.square(ops.relu(real_outputs - fake_anchor))) + ops.mean(
            ops.square(ops.relu(real_anchor - fake_outputs))
        )
        self.tracker.update_state(penalty)
        return self.weight * penalty

    def update_anchors(self, real_outputs, fake_outputs):
        """Move both anchors towards this step's mean outputs over all replicas; the first step sets them."""
        means = [ops.stop_gradient(distribute.global_mean(ops.mean(outputs))) for outputs in (real_outputs, fake_outputs)]
        decay = ops.where(ops.equal(self.updates, 0), 0.0, self.decay)
        for anchor, mean in zip(self.anchors, means):
            anchor.assign(decay * anchor + (1.0 - decay) * mean)
        self.updates.assign_add(1)
        return [ops.convert_to_tensor(anchor) for anchor in self.anchors]

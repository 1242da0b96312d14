"""Balanced consistency regularisation (bCR, Zhao et al. 2021), a penalty for GANs trained on limited data."""

from __future__ import annotations

from keras import ops

from anime_dcgan.augment import DiffAugment
from anime_dcgan.losses import Critique, Penalty


class ConsistencyPenalty(Penalty):
    """`weight` x (E[(D(T(x)) - D(x))^2] + E[(D(T(G(z))) - D(G(z)))^2]): D should score an image and a lightly
    transformed copy of it (T, a fresh DiffAugment draw of `policy`) alike, on real and generated images both.

    It teaches D that such transforms do not change what a face is, without showing G transformed faces to copy.
    Costs two more D passes a step, on the transformed batches.
    """

    name = "bcr"

    def __init__(self, weight: float, policy: str = "translation"):
        super().__init__()
        self.weight = weight
        self.transform = DiffAugment(policy)

    @classmethod
    def from_options(cls, options) -> ConsistencyPenalty | None:
        return cls(options.bcr) if options.bcr else None

    def __call__(self, critique: Critique):
        penalty = 0.0
        for images, outputs in ((critique.real_images, critique.real_outputs),
                                (critique.fake_images, critique.fake_outputs)):  # fmt: skip
            transformed = critique.discriminator(self.transform(images, critique.seed), training=True)
            penalty += ops.mean(ops.square(ops.cast(transformed, "float32") - ops.cast(outputs, "float32")))
        self.tracker.update_state(penalty)
        return self.weight * penalty

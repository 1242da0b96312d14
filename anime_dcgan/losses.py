"""GAN objectives, written on logits so they stay numerically stable."""

from __future__ import annotations

from keras import ops


class NonSaturatingLoss:
    """Binary cross-entropy GAN loss with the non-saturating generator objective (Goodfellow et al. 2014).

    D minimises -log D(x) - log(1 - D(G(z))); G minimises -log D(G(z)). With D = sigmoid(logit),
    -log sigmoid(l) = softplus(-l) and -log(1 - sigmoid(l)) = softplus(l).
    """

    def discriminator(self, real_logits, fake_logits):
        return ops.mean(ops.softplus(-real_logits)) + ops.mean(ops.softplus(fake_logits))

    def generator(self, fake_logits):
        return ops.mean(ops.softplus(-fake_logits))


LOSSES = {"bce": NonSaturatingLoss}


def get(name: str):
    """The loss object registered under `name` (see LOSSES)."""
    try:
        return LOSSES[name]()
    except KeyError:
        raise ValueError(f"unknown GAN loss {name!r}: choose one of {', '.join(LOSSES)}") from None

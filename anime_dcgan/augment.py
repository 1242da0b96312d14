"""DiffAugment (Zhao et al. 2020): random augmentations, differentiable in the pixels, for every image D sees.

Augmenting real and generated images alike, with gradients flowing back through the augmentation to G, keeps D from
memorising a small training set without teaching G to draw augmented faces. Each transform draws a fresh value per
image on every call from `keras.random` with the given SeedGenerator, so it runs inside a traced train_step and
repeats from a seed. Images are NHWC in [-1, 1] with a known height and width; the batch size may be unknown.
"""

from __future__ import annotations

from collections.abc import Sequence

import keras
import tensorflow as tf
from keras import ops

from anime_dcgan import distribute
from anime_dcgan.config import parse_policy

TRANSLATION_RATIO = 0.125  # the largest shift as a fraction of the image's side
CUTOUT_RATIO = 0.5  # the cut square's side as a fraction of the image's side


def per_image(images, draw):
    """`draw(rows)` for the images' batch (this replica's rows of it when a strategy splits the batch)."""
    return distribute.local_rows(draw, ops.shape(images)[0])


def per_image_uniform(images, low: float, high: float, seed_generator=None):
    """One uniform draw in [low, high) per image, shaped (batch, 1, 1, 1) and typed to broadcast over `images`."""
    draw = per_image(images, lambda rows: keras.random.uniform((rows, 1, 1, 1), low, high, seed=seed_generator))
    return ops.cast(draw, images.dtype)


def random_color(images, seed_generator=None):
    """Per image: brightness + U(-0.5, 0.5), saturation x U(0, 2) about each pixel's channel mean, then contrast
    x U(0.5, 1.5) about the image's mean (the paper's values for images in [-1, 1])."""
    images = images + per_image_uniform(images, -0.5, 0.5, seed_generator)
    pixel_mean = ops.mean(images, axis=3, keepdims=True)
    images = (images - pixel_mean) * per_image_uniform(images, 0.0, 2.0, seed_generator) + pixel_mean
    image_mean = ops.mean(images, axis=(1, 2, 3), keepdims=True)
    return (images - image_mean) * per_image_uniform(images, 0.5, 1.5, seed_generator) + image_mean


def shift_along(images, axis: int, ratio: float, seed_generator=None):
    """Each image moved by its own random whole offset in [-r, r] along `axis` (1: rows, 2: columns), with
    r = round(ratio x side); the pixels it uncovers are zero. A gather, so the gradient reaches the pixels kept."""
    size = images.shape[axis]
    limit = int(size * ratio + 0.5)
    offsets = per_image(images, lambda rows: keras.random.randint((rows, 1), -limit, limit + 1, seed=seed_generator))
    # Output index i reads input index i - offset, which is index i - offset + 1 of the image with a zero border;
    # every index that falls outside the image lands on that border.
    sources = ops.clip(ops.arange(size, dtype="int32")[None, :] - offsets + 1, 0, size + 1)
    padding = [[0, 0]] * 4
    padding[axis] = [1, 1]
    return tf.gather(ops.pad(images, padding), sources, axis=axis, batch_dims=1)


def random_translation(images, seed_generator=None, ratio: float = TRANSLATION_RATIO):
    """Each image shifted by up to `ratio` of its height in rows and of its width in columns, zeros filling in."""
    images = shift_along(images, 1, ratio, seed_generator)
    return shift_along(images, 2, ratio, seed_generator)


def random_band(images, axis: int, ratio: float, seed_generator=None):
    """Per image, whether each row (axis 1) or column (axis 2) lies in a band of round(ratio x side) lines whose
    centre is uniform over the image, so the band may stick out past an edge; shaped to broadcast over `images`."""
    size = images.shape[axis]
    width = int(size * ratio + 0.5)
    # Centres 0..size for an even band and 0..size-1 for an odd one: it sticks out equally far past either edge.
    highest = size + 1 - width % 2
    centres = per_image(images, lambda rows: keras.random.randint((rows, 1), 0, highest, seed=seed_generator))
    starts = centres - width // 2
    lines = ops.arange(size, dtype="int32")[None, :]
    inside = ops.logical_and(lines >= starts, lines < starts + width)
    shape = [-1, 1, 1, 1]
    shape[axis] = size
    return ops.reshape(inside, shape)


def random_cutout(images, seed_generator=None, ratio: float = CUTOUT_RATIO):
    """Each image with a square of `ratio` of its side set to zero at a random place, clipped at the borders."""
    rows = random_band(images, 1, ratio, seed_generator)
    columns = random_band(images, 2, ratio, seed_generator)
    return images * ops.cast(ops.logical_not(ops.logical_and(rows, columns)), images.dtype)


TRANSFORMS = {"color": random_color, "translation": random_translation, "cutout": random_cutout}


class DiffAugment:
    """The transforms of a DiffAugment policy (names or a comma-separated string, "" for none), parsed once and
    applied in POLICIES order to every image D sees, with a fresh draw per image from the `seed` stream given at
    each call. Same shape and dtype out, differentiable with respect to the images."""

    def __init__(self, policy: Sequence[str] | str = ""):
        self.policy = parse_policy(policy if isinstance(policy, str) else ",".join(policy))
        self.transforms = [TRANSFORMS[name] for name in self.policy]

    def __call__(self, images, seed: keras.random.SeedGenerator | None = None):
        for transform in self.transforms:
            images = transform(images, seed)
        return images

    def observe(self, real_outputs) -> None:
        """D's raw outputs on a real batch it just saw; an augmentation that adapts to them overrides this."""
        return None  # a body AutoGraph can convert (a docstring alone converts to an empty block)

    @property
    def variables(self) -> list:
        """State kept across steps, for the checkpoint."""
        return []

    @property
    def trackers(self) -> dict[str, keras.metrics.Metric]:
        """Metrics logged each epoch beside the losses."""
        return {}

    def __repr__(self) -> str:
        return f"{type(self).__name__}({','.join(self.policy)!r})"


class AdaptiveAugment(DiffAugment):
    """Adaptive discriminator augmentation (ADA, Karras et al. 2020) over DiffAugment's transforms: each transform
    is applied to each image with probability p, and p follows how sure D is of the real faces.

    Every `interval` D updates, r = E[sign D(x)] over those updates' real batches; p moves up by
    interval x batch / `speed` while r exceeds `target` (D is starting to memorise them) and down by as much
    otherwise, within [0, 1]. So p starts at 0 (a fast start) and rises only as far as D needs; `speed` is the number
    of images over which p can go from 0 to 1. p is logged as `augment_p` and checkpointed.
    """

    def __init__(self, policy: Sequence[str] | str, target: float = 0.6, speed: int = 100_000, interval: int = 4):
        super().__init__(policy)
        self.target = target
        self.speed = speed
        self.interval = interval

        def state(name, dtype="float32"):  # the same on every replica: each assigns values reduced over all of them
            return keras.Variable(0, dtype=dtype, trainable=False, name=name, aggregation="only_first_replica")

        self.probability = state("ada_p")
        self.sign_sum = state("ada_sign_sum")  # of E[sign D(x)], over the updates since p last moved
        self.updates = state("ada_updates", "int64")
        self.tracker = keras.metrics.Mean(name="augment_p")

    def __call__(self, images, seed: keras.random.SeedGenerator | None = None):
        probability = ops.cast(self.probability, images.dtype)
        for transform in self.transforms:
            applied = per_image_uniform(images, 0.0, 1.0, seed) < probability
            images = ops.where(applied, transform(images, seed), images)
        return images

    def observe(self, real_outputs) -> None:
        sign = distribute.global_mean(ops.mean(ops.sign(ops.cast(real_outputs, "float32"))))
        batch = ops.cast(ops.shape(real_outputs)[0] * distribute.replicas(), "float32")
        sign_sum = self.sign_sum + ops.stop_gradient(sign)
        updates = self.updates + 1
        due = ops.equal(updates % self.interval, 0)
        step = ops.sign(sign_sum / self.interval - self.target) * (self.interval * batch / self.speed)
        self.probability.assign(ops.where(due, ops.clip(self.probability + step, 0.0, 1.0), self.probability))
        self.sign_sum.assign(ops.where(due, 0.0, sign_sum))
        self.updates.assign(updates)
        self.tracker.update_state(self.probability)

    @property
    def variables(self) -> list:
        return [self.probability, self.sign_sum, self.updates]

    @property
    def trackers(self) -> dict[str, keras.metrics.Metric]:
        return {"augment_p": self.tracker}


def from_options(options) -> DiffAugment:
    """The augmentation a run's options (a `config.TrainConfig`) ask for: adaptive with --ada-target, else fixed."""
    if options.ada_target:
        return AdaptiveAugment(options.augment, options.ada_target, options.ada_speed)
    return DiffAugment(options.augment)

"""Projection: the noise whose generated face best matches an image. Adam on a batch of random starts by pixel
distance, the best start by pixel plus perceptual distance, then a few steps on that one with both (the perceptual
network costs far more per step than the generator)."""

from __future__ import annotations

import functools
import itertools
import os
from collections.abc import Callable
from dataclasses import dataclass

import keras
import numpy as np
import tensorflow as tf
from PIL import Image

from anime_dcgan.images import to_uint8
from anime_dcgan.progress import progress_bar
from anime_dcgan.sampling import latent_noise

Features = Callable[[tf.Tensor], tf.Tensor]  # faces in [-1, 1], NHWC -> (N, D) float features

PERCEPTUAL_WEIGHT = 0.3  # the perceptual term's weight beside the mean squared pixel distance in [-1, 1]
PERCEPTUAL_LAYER = "pool_3"  # the FID features themselves


@dataclass(frozen=True)
class Projection:
    """A latent and its face, and how far that face is from the target: mean squared pixel distance in [-1, 1],
    perceptual distance (1 - cosine similarity of features; None without a feature network) and their loss."""

    latent: np.ndarray  # (latent_dim,) float32
    face: np.ndarray  # (H, W, 3) uint8
    pixel_distance: float
    perceptual_distance: float | None
    loss: float


def perceptual_features(weights: str | os.PathLike | None = None, layer: str = PERCEPTUAL_LAYER) -> Features | None:
    """The FID Inception network's `layer` features (pool_3: FID's own), from `weights` or $ANIME_DCGAN_INCEPTION;
    None when neither names a file (nothing is downloaded)."""
    from anime_dcgan.metrics.inception import INCEPTION_ENV, load_inception

    if weights is None and not os.environ.get(INCEPTION_ENV):
        return None
    inception = load_inception(weights)
    network = keras.Model(inception.input, keras.layers.Flatten()(inception.get_layer(layer).output))
    return lambda faces: network((faces + 1.0) * 127.5, training=False)


def fit_image(image: np.ndarray, size: int) -> np.ndarray:
    """A uint8 HxWx3 image centre-cropped to a square and resized to `size` (area when shrinking, as training and
    `evaluate` decode faces; bicubic when growing)."""
    height, width = image.shape[:2]
    side = min(height, width)
    top, left = (height - side) // 2, (width - side) // 2
    square = Image.fromarray(np.ascontiguousarray(image[top : top + side, left : left + side, :3]))
    resample = Image.Resampling.BOX if side >= size else Image.Resampling.BICUBIC
    return np.asarray(square.resize((size, size), resample))


def psnr(a: np.ndarray, b: np.ndarray) -> float:
    """Peak signal-to-noise ratio of two uint8 images in dB (inf when they are equal)."""
    error = np.mean((a.astype(np.float64) - b.astype(np.float64)) ** 2)
    return float("inf") if error == 0 else float(10 * np.log10(255.0**2 / error))


def unit(features: tf.Tensor) -> tf.Tensor:
    return tf.math.l2_normalize(features, axis=1)


class Objective:
    """Distances of faces in [-1, 1] to one target: mean squared pixel distance, 1 - cosine similarity of their
    features (zero without `features`), and the loss pixel + weight x perceptual."""

    def __init__(self, target: np.ndarray, features: Features | None = None, weight: float = PERCEPTUAL_WEIGHT):
        self.target = tf.constant(target[None].astype(np.float32) / 127.5 - 1.0)
        self.features, self.weight = features, weight
        self.target_features = None if features is None else unit(features(self.target))

    def pixel(self, faces: tf.Tensor) -> tf.Tensor:
        return tf.reduce_mean(tf.square(faces - self.target), axis=[1, 2, 3])

    def perceptual(self, faces: tf.Tensor, features: tf.Tensor | None = None) -> tf.Tensor:
        """1 - cosine similarity to the target's features; `features`: the faces' own, if already computed."""
        if self.features is None:
            return tf.zeros(tf.shape(faces)[:1])
        features = unit(self.features(faces)) if features is None else features
        return 1.0 - tf.reduce_sum(features * self.target_features, axis=1)

    def loss(self, faces: tf.Tensor, features: tf.Tensor | None = None, pixels_only: bool = False) -> tf.Tensor:
        if pixels_only or self.features is None:
            return self.pixel(faces)
        return self.pixel(faces) + self.weight * self.perceptual(faces, features)

    def measure(self, latent: np.ndarray, face: tf.Tensor) -> Projection:
        """The Projection of one latent and its face (a batch of one)."""
        pixel, perceptual = float(self.pixel(face)[0]), float(self.perceptual(face)[0])
        return Projection(
            latent=np.asarray(latent, np.float32).reshape(-1),
            face=to_uint8(face[0]),
            pixel_distance=pixel,
            perceptual_distance=None if self.features is None else perceptual,
            loss=pixel + (0.0 if self.features is None else self.weight * perceptual),
        )


def descend(generator: keras.Model, latents: tf.Variable, loss: Callable, steps: int, learning_rate: float,
            report: Callable[[np.ndarray], None]) -> None:  # fmt: skip
    """`steps` Adam steps on `latents` down the sum of their `loss`es, calling `report` with the losses at each."""
    optimizer = keras.optimizers.Adam(learning_rate)

    @tf.function
    def step():
        with tf.GradientTape() as tape:
            losses = loss(generator(latents, training=False))
            total = tf.reduce_sum(losses)
        optimizer.apply_gradients([(tape.gradient(total, latents), latents)])
        return losses

    for _ in range(steps):
        report(step().numpy())


def project(
    generator: keras.Model,
    target: np.ndarray,
    steps: int = 200,
    starts: int = 8,
    learning_rate: float = 0.05,
    perceptual: Features | None = None,
    weight: float = PERCEPTUAL_WEIGHT,
    refine_steps: int = 30,
    seed: int = 0,
    progress: bool = True,
) -> Projection:
    """The latent whose face best matches `target` (uint8 HxWx3, fitted to the generator's size): `steps` Adam steps
    on `starts` random latents at once by pixel distance; the start with the lowest loss (pixels plus `weight` x
    perceptual distance); with `perceptual` features, `refine_steps` more steps on it by that loss."""
    size, latent_dim = generator.output_shape[1], generator.input_shape[-1]
    objective = Objective(fit_image(target, size), perceptual, weight)
    refine_steps = refine_steps if perceptual is not None else 0
    bar = progress_bar(steps + refine_steps, "step", stateful_metrics=["pixel", "loss"])
    done = itertools.count(1)

    def reporter(name: str) -> Callable[[np.ndarray], None]:
        """Shows the best start's `name` (pixel distance or loss) on the bar."""

        def report(losses: np.ndarray) -> None:
            if progress:
                bar.update(next(done), [(name, float(losses.min()))])

        return report

    latents = tf.Variable(latent_noise(starts, latent_dim, seed))
    pixels = functools.partial(objective.loss, pixels_only=True)
    descend(generator, latents, pixels, steps, learning_rate, reporter("pixel"))
    losses = objective.loss(generator(latents, training=False)).numpy()
    best = tf.Variable(latents[int(np.argmin(losses))][None])
    if refine_steps:
        descend(generator, best, objective.loss, refine_steps, learning_rate, reporter("loss"))
    return objective.measure(best.numpy(), generator(best, training=False))


@dataclass(frozen=True)
class Candidates:
    """Latents, their faces in [-1, 1] and the faces' unit-length features (None without a feature network)."""

    latents: np.ndarray
    faces: tf.Tensor
    features: tf.Tensor | None


def random_candidates(
    generator: keras.Model, count: int = 100, seed: int = 0, perceptual: Features | None = None
) -> Candidates:
    """The faces of the `count` latents `latent_noise` draws for `seed`, and their features: computed once, to be
    matched against any number of targets."""
    latents = latent_noise(count, generator.input_shape[-1], seed)
    chunks = [latents[i : i + 25] for i in range(0, count, 25)]
    faces = tf.concat([generator(chunk, training=False) for chunk in chunks], axis=0)
    if perceptual is None:
        return Candidates(latents, faces, None)
    features = tf.concat([unit(perceptual(faces[i : i + 25])) for i in range(0, count, 25)], axis=0)
    return Candidates(latents, faces, features)


def best_candidate(
    candidates: Candidates, target: np.ndarray, perceptual: Features | None = None, weight: float = PERCEPTUAL_WEIGHT
) -> Projection:
    """The candidate with the lowest `project` loss for `target` (uint8 HxWx3)."""
    objective = Objective(fit_image(target, candidates.faces.shape[1]), perceptual, weight)
    best = int(np.argmin(objective.loss(candidates.faces, candidates.features).numpy()))
    return objective.measure(candidates.latents[best], candidates.faces[best : best + 1])


def random_baseline(
    generator: keras.Model,
    target: np.ndarray,
    count: int = 100,
    seed: int = 0,
    perceptual: Features | None = None,
    weight: float = PERCEPTUAL_WEIGHT,
) -> Projection:
    """The best of `count` random latents (those `latent_noise` draws for `seed`) by `project`'s loss."""
    return best_candidate(random_candidates(generator, count, seed, perceptual), target, perceptual, weight)

"""DiffAugment against NumPy transcriptions of the paper's transforms: values, ranges, gradients and randomness."""

import re

import keras
import numpy as np
import pytest
import tensorflow as tf

from anime_dcgan import augment
from anime_dcgan.augment import DiffAugment
from anime_dcgan.config import POLICIES, parse_policy

SINGLE_AND_ALL = [(name,) for name in POLICIES] + [POLICIES]
MOVING = [("translation",), ("cutout",)]  # the transforms that only move or drop pixels


def diff_augment(images, policy, seed_generator=None):
    """`images` through the GAN's augmenter for `policy`, drawing from `seed_generator`."""
    return DiffAugment(policy)(images, seed_generator)


def uniform_images(shape, seed=0) -> np.ndarray:
    return np.random.default_rng(seed).uniform(-1, 1, shape).astype(np.float32)


def distinct_images(shape, seed=0) -> np.ndarray:
    """Images whose values are all different and non-zero, so every output pixel names the input pixel it came from."""
    count = int(np.prod(shape))
    return ((np.random.default_rng(seed).permutation(count) + 1) / count).reshape(shape).astype(np.float32)


def augmented(images, policy, seed=0) -> np.ndarray:
    return np.asarray(diff_augment(tf.constant(images), policy, keras.random.SeedGenerator(seed)))


def shifted(image: np.ndarray, rows: int, columns: int) -> np.ndarray:
    """`image` moved down `rows` and right `columns`, zeros where nothing moved in."""
    height, width = image.shape[:2]
    out = np.zeros_like(image)
    out[max(rows, 0) : height + min(rows, 0), max(columns, 0) : width + min(columns, 0)] = image[
        max(-rows, 0) : height + min(-rows, 0), max(-columns, 0) : width + min(-columns, 0)
    ]
    return out


@pytest.mark.parametrize(
    "text, expected",
    [
        ("color,translation,cutout", POLICIES),
        ("", ()),
        ("  ", ()),
        (" cutout , color ", ("color", "cutout")),  # whitespace dropped, POLICIES order
        ("Translation,translation,", ("translation",)),  # case and repeats folded, empty items dropped
    ],
)
def test_parse_policy_normalises(text, expected):
    assert parse_policy(text) == expected


def test_unknown_names_are_refused():
    message = re.escape("unknown augmentation 'flip': choose from color, translation, cutout")
    with pytest.raises(ValueError, match=message):
        parse_policy("color, flip")
    with pytest.raises(ValueError, match=message):
        diff_augment(uniform_images((1, 8, 8, 3)), ["cutout", "flip"])


def test_empty_policy_returns_the_input_unchanged():
    images = uniform_images((2, 8, 8, 3))
    np.testing.assert_array_equal(augmented(images, ()), images)
    np.testing.assert_array_equal(augmented(images, ""), images)


@pytest.mark.parametrize("dtype", ["float32", "bfloat16", "float16"])
@pytest.mark.parametrize("policy", SINGLE_AND_ALL)
def test_shape_and_dtype_are_kept(policy, dtype):
    images = tf.cast(uniform_images((3, 16, 24, 3)), dtype)  # not square: height and width must not be swapped
    output = diff_augment(images, policy, keras.random.SeedGenerator(0))
    assert output.shape == images.shape
    assert output.dtype == images.dtype
    assert np.isfinite(np.asarray(tf.cast(output, "float32"))).all()


def test_runs_traced_with_an_unknown_batch_size_and_matches_eager():
    traced_seeds = keras.random.SeedGenerator(5)
    traced = tf.function(
        lambda images: diff_augment(images, POLICIES, traced_seeds),
        input_signature=[tf.TensorSpec([None, 16, 16, 3], tf.float32)],
    )
    eager_seeds = keras.random.SeedGenerator(5)
    for batch in (2, 5):
        images = uniform_images((batch, 16, 16, 3), seed=batch)
        output = traced(tf.constant(images)).numpy()
        assert output.shape == images.shape
        np.testing.assert_allclose(output, diff_augment(tf.constant(images), POLICIES, eager_seeds), atol=1e-6)


@pytest.mark.parametrize("policy", SINGLE_AND_ALL)
def test_gradient_is_the_transposed_transform(policy):
    # With its random draws fixed every transform is affine in the pixels, y(x + e) = y(x) + J e, so the gradient
    # of <w, y> must satisfy <grad, e> = <w, y(x + e) - y(x)> for any direction e.
    images, weights, direction = (tf.constant(uniform_images((4, 16, 16, 3), seed)) for seed in (1, 2, 3))
    with tf.GradientTape() as tape:
        tape.watch(images)
        output = diff_augment(images, policy, keras.random.SeedGenerator(9))
        objective = tf.reduce_sum(weights * output)
    gradient = tape.gradient(objective, images)
    assert gradient is not None and np.abs(gradient.numpy()).sum() > 0
    moved = diff_augment(images + direction, policy, keras.random.SeedGenerator(9))  # the same draws
    change = float(tf.reduce_sum(weights * (moved - output)))
    assert float(tf.reduce_sum(gradient * direction)) == pytest.approx(change, rel=1e-4)


@pytest.mark.parametrize("policy", MOVING)
def test_gradient_is_one_exactly_on_the_pixels_that_survive(policy):
    images = tf.constant(distinct_images((4, 16, 16, 3)))
    with tf.GradientTape() as tape:
        tape.watch(images)
        output = diff_augment(images, policy, keras.random.SeedGenerator(4))
        total = tf.reduce_sum(output)
    gradient = tape.gradient(total, images).numpy()
    images, output = images.numpy(), output.numpy()
    for image, out, grad in zip(images, output, gradient):
        survives = np.isin(image, out)  # each value is unique, so this is "this input pixel reached the output"
        assert survives.any()
        np.testing.assert_array_equal(grad, survives.astype(np.float32))
        assert np.count_nonzero(out) == survives.sum()  # every other output pixel is a zero
    assert (gradient == 0).any()  # some pixels were dropped somewhere in the batch


@pytest.mark.parametrize("policy", MOVING)
def test_moving_transforms_only_copy_pixels_or_write_zeros(policy):
    levels = np.linspace(-1, 1, 8, dtype=np.float32)  # one grey level per image, zero not among them
    images = np.broadcast_to(levels[:, None, None, None], (8, 16, 16, 3)).copy()
    output = augmented(images, policy, seed=2)
    for level, out in zip(levels, output):
        assert set(np.unique(out)) <= {0.0, level}
    assert (output == 0).any() and (output != 0).any()


def test_translation_shifts_by_at_most_an_eighth_of_the_side():
    images = distinct_images((64, 32, 32, 3))
    output = augmented(images, ("translation",), seed=1)
    limit = 4  # 32 / 8
    found = []
    for image, out in zip(images, output):
        shifts = [
            (rows, columns)
            for rows in range(-limit, limit + 1)
            for columns in range(-limit, limit + 1)
            if np.array_equal(out, shifted(image, rows, columns))
        ]
        assert len(shifts) == 1, "each output must be its input moved by one shift within the limit, zero-filled"
        found += shifts
    rows, columns = zip(*found)
    assert set(rows) == set(columns) == set(range(-limit, limit + 1))  # every allowed shift turns up, both ways


def expected_cutout_fraction(side: int, square: int) -> float:
    """The mean share of pixels cut by the paper's cutout: the square's centre uniform over the image, so the
    square is clipped near the borders and cuts less than (square / side)^2 on average."""
    centres = range(side + 1 - square % 2)
    covered = [min(c - square // 2 + square, side) - max(c - square // 2, 0) for c in centres]
    return (np.mean(covered) / side) ** 2


def test_cutout_zeroes_one_half_side_square_clipped_at_the_borders():
    images = distinct_images((256, 32, 32, 3))
    output = augmented(images, ("cutout",), seed=3)
    cut = output == 0
    assert (cut == cut[..., :1]).all()  # the same pixels in every channel
    cut = cut[..., 0]
    np.testing.assert_array_equal(output, np.where(cut[..., None], 0, images))
    starts = []  # where each square's first row and first column were, before clipping
    for mask in cut:
        rows, columns = np.flatnonzero(mask.any(axis=1)), np.flatnonzero(mask.any(axis=0))
        np.testing.assert_array_equal(mask, np.outer(mask.any(axis=1), mask.any(axis=0)))  # one rectangle
        for lines in (rows, columns):
            assert lines[-1] - lines[0] + 1 == len(lines)  # contiguous
            assert 8 <= len(lines) <= 16  # the 16-pixel square, or at least half of it inside the image
            assert len(lines) == 16 or lines[0] == 0 or lines[-1] == 31  # shorter only where clipped
            starts.append(lines[-1] - 15 if lines[0] == 0 else lines[0])
    assert (min(starts), max(starts)) == (-8, 24)  # the centre anywhere: clipped by up to half at every edge
    fractions = cut.mean(axis=(1, 2))
    assert fractions.max() == 0.25  # whole squares occur: half the side, a quarter of the pixels
    assert fractions.mean() == pytest.approx(expected_cutout_fraction(32, 16), abs=0.015)  # about 0.19


def test_color_is_brightness_then_saturation_then_contrast_within_the_papers_ranges():
    images = uniform_images((64, 8, 8, 3))
    output = augmented(images, ("color",), seed=6).astype(np.float64)
    images = images.astype(np.float64)
    # Brightness b, saturation s and contrast k give y = mean(x) + b + k (grey - mean(x)) + k s (x - grey),
    # where grey is each pixel's channel mean: recover b, k and k s per image and rebuild y from them.
    def parts(x):
        mean = x.mean(axis=(1, 2, 3), keepdims=True)
        grey = x.mean(axis=3, keepdims=True)
        return mean, grey - mean, x - grey

    def scale(source, target):
        return (source * target).sum(axis=(1, 2, 3), keepdims=True) / (source**2).sum(axis=(1, 2, 3), keepdims=True)

    (x_mean, x_grey, x_colour), (y_mean, y_grey, y_colour) = parts(images), parts(output)
    brightness, contrast = y_mean - x_mean, scale(x_grey, y_grey)
    saturation = scale(x_colour, y_colour) / contrast
    rebuilt = x_mean + brightness + contrast * x_grey + contrast * saturation * x_colour
    np.testing.assert_allclose(output, rebuilt, atol=1e-5)
    for factor, low, high in ((brightness, -0.5, 0.5), (saturation, 0.0, 2.0), (contrast, 0.5, 1.5)):
        assert low - 1e-4 <= factor.min() and factor.max() <= high + 1e-4
        assert np.ptp(factor) > 0.8 * (high - low)  # and they spread over their range


def test_color_moves_a_flat_grey_image_only_by_its_brightness():
    levels = np.linspace(-1, 1, 16, dtype=np.float32)
    images = np.broadcast_to(levels[:, None, None, None], (16, 8, 8, 3)).copy()
    output = augmented(images, ("color",), seed=8)
    # No colour and no contrast to scale, so only the brightness U(-0.5, 0.5) applies: within [-1.5, 1.5].
    assert np.ptp(output, axis=(1, 2, 3)).max() < 1e-6
    change = output[:, 0, 0, 0] - levels
    assert np.abs(change).max() <= 0.5 + 1e-6
    assert np.ptp(change) > 0.5


@pytest.mark.parametrize("policy", SINGLE_AND_ALL)
def test_each_image_gets_its_own_draw(policy):
    images = np.repeat(uniform_images((1, 32, 32, 3)), 16, axis=0)
    output = augmented(images, policy, seed=0)
    assert len({out.tobytes() for out in output}) >= 12  # translation has 81 shifts: a few may repeat


@pytest.mark.parametrize("policy", SINGLE_AND_ALL)
def test_the_seed_decides_the_draws(policy):
    images = tf.constant(uniform_images((4, 16, 16, 3)))
    seeds = keras.random.SeedGenerator(7)
    first, second = diff_augment(images, policy, seeds), diff_augment(images, policy, seeds)
    np.testing.assert_array_equal(first, augmented(images, policy, seed=7))
    assert not np.array_equal(first, second)  # a fresh draw each call
    assert not np.array_equal(first, augmented(images, policy, seed=8))


def test_transforms_run_in_policies_order_whatever_the_order_given():
    images = uniform_images((4, 16, 16, 3))
    seeds = keras.random.SeedGenerator(3)
    by_hand = augment.random_cutout(augment.random_translation(augment.random_color(images, seeds), seeds), seeds)
    np.testing.assert_array_equal(augmented(images, ("cutout", "color", "translation"), seed=3), by_hand)
    np.testing.assert_array_equal(augmented(images, "translation,cutout,color", seed=3), by_hand)

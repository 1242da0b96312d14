"""For each case, trains a tiny GAN for two steps on one device (eagerly), then from the same weights, seed and batches
on two logical CPU devices under MirroredStrategy, and prints both runs' weights' largest difference and losses as
JSON.

A script, run in its own process by tests/test_distribute.py: the logical devices must be set up before TensorFlow
starts. Usage: python mirrored_step.py CASES_JSON, a list of [LOSS, COMPILE_OPTIONS, DISCRIMINATOR_OPTIONS]; it prints
one JSON line per case, in order.
"""

import json
import os
import sys

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
import tensorflow as tf  # noqa: E402

cpu = tf.config.list_physical_devices("CPU")[0]
tf.config.set_logical_device_configuration(cpu, [tf.config.LogicalDeviceConfiguration()] * 2)

import keras  # noqa: E402
import numpy as np  # noqa: E402

TESTS = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path[:0] = [TESTS, os.path.dirname(TESTS)]  # conftest's helpers, and the package of this checkout
from conftest import first_batch  # noqa: E402

from anime_dcgan import losses, models  # noqa: E402
from anime_dcgan.augment import DiffAugment  # noqa: E402
from anime_dcgan.averaging import WeightAverage  # noqa: E402
from anime_dcgan.gan import GAN  # noqa: E402
from anime_dcgan.lecam import LeCamPenalty  # noqa: E402


def build(strategy: tf.distribute.Strategy, loss: str, options: dict, d_options: dict) -> GAN:
    """The GAN of `options`: its parts ("augment" policy, "ema" decay, "r1" gamma, "lecam" weight), the rest compile's."""
    options = dict(options)
    keras.utils.set_random_seed(0)
    with strategy.scope():
        generator = models.build_generator(8, 32, 4)
        discriminator = models.build_discriminator(32, 4, **d_options)
        ema = options.pop("ema", None)
        gan = GAN(generator, discriminator, augment=DiffAugment(options.pop("augment", "")),
                  ema=WeightAverage(generator, ema) if ema else None, seed=3)  # fmt: skip
        penalties = [losses.R1Penalty(options.pop("r1"))] if "r1" in options else []
        penalties += [LeCamPenalty(options.pop("lecam"))] if "lecam" in options else []
        gan.compile(keras.optimizers.SGD(0.1), keras.optimizers.SGD(0.1),  # Adam would magnify rounding in tiny gradients
                    loss=losses.get(loss, penalties=penalties), **options)  # fmt: skip
    return gan


def weights(gan: GAN) -> list:
    return [weight for model in (gan.generator, gan.discriminator, gan.sampler) for weight in model.weights]


def networks(gan: GAN) -> list[np.ndarray]:
    return [weight.numpy() for weight in weights(gan)]


def compare(strategy: tf.distribute.Strategy, loss: str, options: dict, d_options: dict) -> dict:
    batches = tf.data.Dataset.from_tensor_slices(first_batch(32)).batch(16)  # two steps of 16 faces
    single, mirrored = (build(each, loss, options, d_options) for each in (tf.distribute.get_strategy(), strategy))
    single.run_eagerly = True  # the reference: two steps as plain operations, without a graph to trace
    before = networks(single)
    for weight, value in zip(weights(mirrored), before):
        weight.assign(value)
    histories = [gan.fit(batches, epochs=1, verbose=0).history for gan in (single, mirrored)]
    after_single, after_mirrored = networks(single), networks(mirrored)
    return {
        "replicas": strategy.num_replicas_in_sync,
        "largest_change": max(float(np.abs(a - b).max()) for a, b in zip(after_single, before)),
        "largest_difference": max(float(np.abs(a - b).max()) for a, b in zip(after_single, after_mirrored)),
        "single": {name: values[-1] for name, values in histories[0].items()},
        "mirrored": {name: values[-1] for name, values in histories[1].items()},
    }


mirrored_strategy = tf.distribute.MirroredStrategy(["/cpu:0", "/cpu:1"])  # one for all: its collectives' keys are its own
for case in json.loads(sys.argv[1]):
    print(json.dumps(compare(mirrored_strategy, *case)), flush=True)

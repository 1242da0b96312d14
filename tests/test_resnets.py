"""The residual networks: shapes and parameter counts at every image size, what the discriminator normalises, and a
run that trains, resumes and exports its generator."""

import keras
import numpy as np
import pytest
from keras import layers

from anime_dcgan import models, resnets, training
from anime_dcgan.commands import fit
from anime_dcgan.config import TrainConfig
from anime_dcgan.sampling import load_generator
from conftest import TINY_FLAGS, resumed_as_trained

# Parameters at width 64 with a 100-d latent (docs/architecture.md gives them beside the DCGAN networks'); a change to
# a block changes them.
PARAMETERS = {32: (3_212_419, 4_742_017), 64: (3_330_115, 4_859_073), 128: (3_408_579, 4_937_089)}


@pytest.mark.parametrize("size", [32, 64, 128])
def test_shapes_and_parameter_counts_at_every_size(size):
    generator = resnets.build_generator(100, size, 64)
    discriminator = resnets.build_discriminator(size, 64)
    assert generator.output_shape == (None, size, size, 3) and discriminator.output_shape == (None, 1)
    assert (generator.count_params(), discriminator.count_params()) == PARAMETERS[size]
    # The same resolutions and channels as DCGAN's: the residual blocks run at each of its feature maps.
    dcgan = models.build_generator(100, size, 64)
    maps = lambda model: sorted({l.output.shape[1:] for l in model.layers if isinstance(l, layers.BatchNormalization)})  # noqa: E731
    assert maps(generator) == maps(dcgan)
    faces = generator(np.random.default_rng(0).normal(size=(2, 100)).astype("float32"))
    assert float(keras.ops.max(keras.ops.abs(faces))) <= 1.0 and discriminator(faces).shape == (2, 1)


@pytest.mark.parametrize("loss, expected", [("bce", None), ("hinge", None), ("wgan-gp", layers.LayerNormalization)])
def test_the_discriminator_normalises_only_when_the_loss_asks(loss, expected):
    config = TrainConfig(architecture="resnet", loss=loss, image_size=32, width=4, latent_dim=8).resolved()
    gan = training.build_gan(config)
    kinds = {type(layer) for layer in gan.discriminator.layers}
    assert not any(issubclass(kind, layers.BatchNormalization) for kind in kinds)
    assert (expected in kinds) if expected else not any(issubclass(k, layers.LayerNormalization) for k in kinds)
    assert any(isinstance(layer, layers.Add) for layer in gan.generator.layers)  # residual, not DCGAN's


def test_a_resnet_run_trains_resumes_and_exports_its_generator(faces, tmp_path, built, request):
    run = tmp_path / "run"
    flags = ["--data", str(faces), "--out", str(run), *TINY_FLAGS, "--architecture", "resnet", "--verbose", "0"]
    assert fit.main([*flags, "--epochs", "1"]) == 0
    assert (run / "history.csv").read_text().count("\n") == 2
    assert resumed_as_trained(request, [*flags, "--epochs", "2"], built[-1]).epoch == 1
    generator = load_generator(run)
    assert any(isinstance(layer, layers.Add) for layer in generator.layers)
    assert fit.main([*flags[:-4], "--architecture", "dcgan", "--epochs", "3"]) == 2  # fixed for the run

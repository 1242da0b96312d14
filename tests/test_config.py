"""TrainConfig: every option checked where it lives, with the same words on the command line."""

import pytest

from anime_dcgan import fit
from anime_dcgan.config import CHECKS, LOSS_DEFAULTS, LOSS_SPECS, SMOOTHABLE, ConfigError, TrainConfig

BAD_VALUES = [
    ("epochs", 0), ("batch_size", 0), ("batch_size", 12.5), ("image_size", 48), ("latent_dim", -1), ("width", 0),
    ("lr", -1e-4), ("d_lr", 0.0), ("beta1", 1.0), ("beta2", -0.1), ("momentum", 1.5), ("d_steps", 0), ("clip", 0.0),
    ("gp_weight", -1.0), ("label_smoothing", 0.0), ("label_smoothing", 1.1), ("g_activation", "tanh"),
    ("dropout", 1.0), ("upsample", "bicubic"), ("r1", -1.0), ("r1_every", 0), ("ema", 1.0), ("ema", 0.0),
    ("holdout", -5.0), ("eval_every", -1), ("eval_n", 0),
]  # fmt: skip


@pytest.mark.parametrize("name, value", BAD_VALUES)
def test_a_bad_value_is_refused_by_the_config_naming_its_flag(name, value):
    with pytest.raises(ConfigError) as error:
        TrainConfig(**{name: value}).resolved()
    message = str(error.value)
    assert message.startswith(f"--{name.replace('_', '-')} must ") and str(value) in message
    assert "\n" not in message


def test_every_checked_option_is_a_field():
    assert set(CHECKS) <= set(TrainConfig.__dataclass_fields__)


@pytest.mark.parametrize("loss", LOSS_DEFAULTS)
def test_defaults_pass_their_own_checks_for_every_loss(loss):
    assert TrainConfig(loss=loss).resolved().loss == loss


@pytest.mark.parametrize("flag, value", [("--beta1", 1.5), ("--batch-size", 0), ("--label-smoothing", 0.0),
                                         ("--dropout", 1.0), ("--holdout", -2.0)])  # fmt: skip
def test_the_command_line_refuses_with_the_configs_words(flag, value, capsys):
    with pytest.raises(SystemExit) as exit_info:
        fit.build_parser().parse_args([flag, str(value)])
    assert exit_info.value.code == 2
    with pytest.raises(ConfigError) as error:
        TrainConfig(**{flag[2:].replace("-", "_"): value}).resolved()
    reason = str(error.value).removeprefix(f"{flag} ")
    assert f"argument {flag}: {reason}" in capsys.readouterr().err


def test_text_that_is_not_a_number_is_named(capsys):
    with pytest.raises(SystemExit):
        fit.build_parser().parse_args(["--batch-size", "many"])
    assert "argument --batch-size: must be a whole number, not many" in capsys.readouterr().err


def test_each_loss_is_described_once_and_has_an_objective():
    from anime_dcgan import losses

    assert set(LOSS_SPECS) == set(losses.LOSSES)
    assert set(SMOOTHABLE) == {name for name, spec in LOSS_SPECS.items() if spec.smoothable}


@pytest.mark.parametrize(
    "loss, spectral_norm, normalization, clip, gp_weight",
    [("bce", False, "batch", None, 0.0), ("bce", True, "none", None, 0.0), ("wgan", False, "batch", 0.01, 0.0),
     ("wgan-gp", False, "layer", None, 10.0), ("wgan-gp", True, "layer", None, 10.0), ("hinge", True, "none", None, 0.0)],
)  # fmt: skip
def test_the_run_is_built_as_the_loss_spec_says(loss, spectral_norm, normalization, clip, gp_weight):
    from keras import layers

    from anime_dcgan import training

    config = TrainConfig(loss=loss, spectral_norm=spectral_norm, image_size=32, width=4, latent_dim=8).resolved()
    assert training.discriminator_normalization(config) == normalization
    gan = training.build_gan(config)
    assert gan.gp_weight == gp_weight
    convolutions = [getattr(layer, "layer", layer) for layer in gan.discriminator.layers]  # unwrap spectral norm
    convolutions = [layer for layer in convolutions if isinstance(layer, layers.Conv2D)]
    constraints = {getattr(layer.kernel_constraint, "limit", None) for layer in convolutions}
    assert constraints == {clip}

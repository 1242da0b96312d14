"""TrainConfig: every option checked where it lives, with the same words on the command line."""

import dataclasses
import json

import keras
import pytest

from anime_dcgan import losses
from anime_dcgan.commands import fit
from anime_dcgan.config import CHECKS, LOSS_DEFAULTS, LOSS_SPECS, ConfigError, TrainConfig

BAD_VALUES = [
    ("epochs", 0), ("batch_size", 0), ("batch_size", 12.5), ("image_size", 48), ("latent_dim", -1), ("width", 0),
    ("lr", -1e-4), ("d_lr", 0.0), ("beta1", 1.0), ("beta2", -0.1), ("momentum", 1.5), ("d_steps", 0), ("clip", 0.0),
    ("gp_weight", -1.0), ("label_smoothing", 0.0), ("label_smoothing", 1.1), ("g_activation", "tanh"),
    ("dropout", 1.0), ("upsample", "bicubic"), ("r1", -1.0), ("r1_every", 0), ("ema", 1.0), ("ema", 0.0),
    ("holdout", -5.0), ("eval_every", -1), ("eval_n", 0), ("lr_decay", -0.1), ("lr_decay", 1.5),
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
                                         ("--dropout", 1.0), ("--holdout", -2.0), ("--lr-decay", 2.0)])  # fmt: skip
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


@pytest.mark.parametrize("fraction, epochs, decaying", [(0.0, 58, 0), (0.5, 58, 29), (0.3, 10, 3), (0.01, 25, 1),
                                                     (1.0, 4, 4)])  # fmt: skip
def test_the_decaying_epochs_are_the_fraction_rounded_up_and_at_least_one(fraction, epochs, decaying):
    assert TrainConfig(lr_decay=fraction, epochs=epochs).decay_epochs == decaying


@pytest.mark.parametrize("name", LOSS_SPECS)
def test_each_loss_spec_names_a_loss_class(name):
    assert issubclass(losses.part_class(LOSS_SPECS[name].loss), losses.GANLoss)


@pytest.mark.parametrize(
    "loss, spectral_norm, normalization, clip, gp_weight",
    [("bce", False, "batch", None, 0.0), ("bce", True, "none", None, 0.0), ("wgan", False, "batch", 0.01, 0.0),
     ("wgan-gp", False, "layer", None, 10.0), ("wgan-gp", True, "layer", None, 10.0), ("hinge", True, "none", None, 0.0)],
)  # fmt: skip
def test_the_run_is_built_as_the_loss_says(loss, spectral_norm, normalization, clip, gp_weight):
    from keras import layers

    from anime_dcgan import training

    config = TrainConfig(loss=loss, spectral_norm=spectral_norm, image_size=32, width=4, latent_dim=8).resolved()
    gan = training.build_gan(config)
    assert training.discriminator_normalization(gan.gan_loss, config) == normalization
    assert sum(penalty.weight for penalty in gan.gan_loss.penalties if penalty.name == "gp") == gp_weight
    convolutions = [getattr(layer, "layer", layer) for layer in gan.discriminator.layers]  # unwrap spectral norm
    convolutions = [layer for layer in convolutions if isinstance(layer, layers.Conv2D)]
    constraints = {getattr(layer.kernel_constraint, "limit", None) for layer in convolutions}
    assert constraints == {clip}


def test_every_loss_has_paper_defaults():
    wgan = TrainConfig(loss="wgan").resolved()
    assert (wgan.optimizer, wgan.lr, wgan.d_steps) == ("rmsprop", 5e-5, 5)
    assert TrainConfig(loss="wgan", lr=1e-4, d_steps=2).resolved().d_steps == 2  # flags win


def test_config_file_starts_a_run_and_flags_override_it(trained_run, tmp_path, untrained):
    run = tmp_path / "from-config"
    assert fit.main(["--config", str(trained_run / "config.json"), "--out", str(run), "--epochs", "1",
                     "--gamma", "0.5"]) == 0  # fmt: skip
    saved = json.loads((run / "config.json").read_text())
    original = json.loads((trained_run / "config.json").read_text())
    assert saved["width"] == original["width"] == 4 and saved["data"] == original["data"]
    assert saved["gamma"] == 0.5 and saved["epochs"] == 1 and saved["out"] == str(run)
    assert untrained[0].gan.gan_loss.penalties[0].gamma == 0.5  # and the run was built with them


def test_config_file_with_another_loss_takes_that_loss_defaults(trained_run, tmp_path, untrained):
    run = tmp_path / "to-wgan"
    assert fit.main(["--config", str(trained_run / "config.json"), "--out", str(run), "--epochs", "1",
                     "--loss", "wgan", "--batch-size", "8"]) == 0  # fmt: skip
    saved = json.loads((run / "config.json").read_text())
    assert (saved["loss"], saved["optimizer"], saved["lr"]) == ("wgan", "rmsprop", 5e-5)
    assert isinstance(untrained[0].gan.d_optimizer, keras.optimizers.RMSprop)


@pytest.mark.parametrize(
    "flags, message",
    [
        (["--loss", "wgan"], "trained with --loss relativistic, not wgan"),
        (["--optimizer", "sgd"], "trained with --optimizer adam, not sgd"),
    ],
)
def test_resume_refuses_options_the_checkpoint_depends_on(run_copy, capsys, flags, message):
    assert fit.main(["--out", str(run_copy), "--epochs", "3", *flags]) == 2
    assert message in capsys.readouterr().err


def test_label_smoothing_with_wgan_is_a_one_line_error(tmp_path, capsys):
    assert fit.main(["--out", str(tmp_path / "run"), "--loss", "wgan", "--label-smoothing", "0.9"]) == 2
    error = capsys.readouterr().err.strip()
    assert error.startswith("error: --label-smoothing needs") and "\n" not in error
    assert not (tmp_path / "run").exists()


def test_broken_config_file_is_a_clear_error(tmp_path, capsys):
    bad = tmp_path / "config.json"
    bad.write_text(json.dumps({"loss": "bce", "colour": "blue"}))
    assert fit.main(["--config", str(bad), "--out", str(tmp_path / "run")]) == 2
    assert "unknown options colour" in capsys.readouterr().err


@pytest.mark.parametrize(
    "flags",
    [["--loss", "vanilla"], ["--optimizer", "adagrad"], ["--label-smoothing", "1.5"], ["--dropout", "1"],
     ["--d-steps", "0"], ["--g-activation", "tanh"], ["--clip", "0"]],  # fmt: skip
)
def test_nonsense_variant_flags_are_rejected(flags, capsys):
    with pytest.raises(SystemExit) as exit_info:
        fit.main(flags)
    assert exit_info.value.code == 2 and "error:" in capsys.readouterr().err


def test_the_readme_table_of_losses_gives_each_specs_defaults():
    from pathlib import Path

    readme = (Path(__file__).resolve().parent.parent / "README.md").read_text()
    rows = {line.split("|")[1].strip(): line for line in readme.splitlines() if line.startswith("| `") and "|" in line}
    for name, spec in LOSS_SPECS.items():
        row = next(line for key, line in rows.items() if key.startswith(f"`{name}`"))
        same_as_bce = spec.optimizer_defaults == LOSS_SPECS["bce"].optimizer_defaults and name != "bce"
        assert ("as `bce`" if same_as_bce else spec.describe_defaults()) in row, name


def test_the_options_reference_is_what_the_declarations_write():
    from pathlib import Path

    from anime_dcgan.config import reference_markdown

    written = (Path(__file__).resolve().parent.parent / "docs" / "options.md").read_text()
    assert written == reference_markdown(), "run: python -m anime_dcgan.config > docs/options.md"


def test_every_option_has_a_flag_with_its_declared_help_and_group():
    parser = fit.build_parser()
    groups = {action.dest: group.title for group in parser._action_groups for action in group._group_actions}
    helps = {action.dest: action.help for action in parser._actions}
    for field in dataclasses.fields(TrainConfig):
        assert groups[field.name] == field.metadata["group"]
        assert helps[field.name].startswith(field.metadata["help"])


# Valid values other than the saved run's (TrainConfig's defaults, float32) where `other_value` cannot find one.
OTHER_VALUES = {
    "d_steps": 2, "d_threshold": 0.1, "g_threshold": 0.1, "optimizer": "sgd", "lr": 1e-4, "d_lr": 4e-4, "g_lr": 1e-4,
    "beta1": 0.1, "beta2": 0.9, "augment": "color", "eval_data": "real", "precision": "mixed_bfloat16",
}  # fmt: skip


def other_value(field):
    """A value of the option declared by `field` that passes its check and differs from its default."""
    if field.name in OTHER_VALUES:
        return OTHER_VALUES[field.name]
    default, check = field.default, field.metadata["check"]
    if isinstance(default, bool):
        return not default
    choices = getattr(check, "choices", None)
    if choices:
        return next(choice for choice in choices if choice != default)
    for candidate in (default * 2, default + 1, 0.5):
        try:
            if candidate != default and (check is None or check(candidate) is not None):
                return candidate
        except ValueError:
            continue
    raise AssertionError(f"no other value for {field.name}: add one to OTHER_VALUES")


RESUMABLE = [field for field in dataclasses.fields(TrainConfig) if field.name not in ("out", "data")]


@pytest.mark.parametrize("field", RESUMABLE, ids=[field.name for field in RESUMABLE])
def test_on_resume_a_fixed_option_is_refused_and_any_other_takes_effect(field, tmp_path):
    from anime_dcgan.config import RUN_FIXED_OPTIONS, resume_or_new

    run = tmp_path / "run"
    run.mkdir()
    TrainConfig(data=str(tmp_path), precision="float32").resolved().save(run / "config.json")
    name, value = field.name, other_value(field)
    given = {name: value, **({"eval_data": "real"} if name == "eval_every" else {})}
    if name in RUN_FIXED_OPTIONS:
        with pytest.raises(ConfigError, match=f"was trained with --{name.replace('_', '-')} .*pass a new --out"):
            resume_or_new(run, given)
    else:
        assert getattr(resume_or_new(run, given), name) == value


def test_the_options_a_checkpoint_depends_on_are_fixed():
    from anime_dcgan.config import RUN_FIXED_OPTIONS

    assert set(RUN_FIXED_OPTIONS) == {"image_size", "latent_dim", "width", "architecture", "upsample", "loss", "optimizer",
                                      "spectral_norm", "minibatch_std", "ema", "holdout", "precision"}  # fmt: skip

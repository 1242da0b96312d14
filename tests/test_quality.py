"""The techniques that make faces better: EMA of G with standing statistics, spectral norm, R1, and all of them in fit."""

import json

import keras
import numpy as np
import pytest

from anime_dcgan import data, losses, outputs, training
from anime_dcgan.commands import fit
from anime_dcgan import config as config_module
from anime_dcgan.config import ADDED_LATER, ConfigError, TrainConfig
from conftest import TINY_FLAGS, first_batch, resumed_as_trained, tiny_gan


@pytest.fixture(scope="module")
def real_batch():
    return first_batch(16)


def trainable(network: keras.Model) -> list[np.ndarray]:
    return [w.numpy().copy() for w in network.trainable_weights]


def test_ema_follows_the_closed_form_average_with_warm_up(real_batch):
    gan = tiny_gan(ema=0.9)
    average = trainable(gan.generator)  # the average starts as a copy of G
    for step in range(1, 5):
        gan.train_step(real_batch)
        decay = min(0.9, (1 + step) / (10 + step))  # G's optimizer has counted `step` updates by now
        average = [decay * a + (1 - decay) * w for a, w in zip(average, trainable(gan.generator))]
    for expected, actual in zip(average, trainable(gan.ema.model)):
        np.testing.assert_allclose(actual, expected, rtol=1e-5, atol=1e-6)
    assert any(not np.allclose(a, g) for a, g in zip(trainable(gan.ema.model), trainable(gan.generator)))


def test_standing_statistics_replace_the_moving_averages(real_batch):
    gan = tiny_gan(ema=0.9)
    gan.train_step(real_batch)
    norms = [layer for layer in gan.ema.model.layers if isinstance(layer, keras.layers.BatchNormalization)]
    for layer in norms:  # statistics that would wreck the samples if they were kept
        layer.moving_mean.assign(layer.moving_mean + 5.0)
    state = gan.seed_generator.state.numpy()
    gan.update_standing_statistics(batches=1, batch_size=32)
    gan.seed_generator.state.assign(state)
    latent = gan.sample_latent(32)  # the batch the statistics were taken from
    # With one batch the standing statistics are that batch's own, so inference reproduces training mode.
    inference = gan.ema.model(latent, training=False).numpy()
    training = gan.ema.model(latent, training=True).numpy()
    np.testing.assert_allclose(inference, training, atol=2e-3)
    assert [layer.momentum for layer in norms] == [0.9] * len(norms)  # the layers' own momentum is back


def top_singular_value(kernel) -> float:
    matrix = np.reshape(kernel, (-1, kernel.shape[-1]))
    return float(np.linalg.svd(matrix, compute_uv=False)[0])


@pytest.mark.parametrize("spectral_norm", [True, False])
def test_spectral_norm_keeps_every_discriminator_kernel_at_unit_norm(real_batch, spectral_norm):
    gan = tiny_gan(lr=0.01, discriminator_options={"spectral_norm": spectral_norm, "normalization": "none"})
    for _ in range(5):
        gan.train_step(real_batch)
    for _ in range(20):  # training calls normalise the updated kernels again as the power iteration converges
        gan.discriminator(real_batch, training=True)
    kernels = [w.numpy() for w in gan.discriminator.trainable_weights if w.name == "kernel"]
    sigmas = [top_singular_value(k) for k in kernels]
    assert len(kernels) == 4  # three convolutions and the logit at 32 px
    if spectral_norm:
        assert sigmas == pytest.approx([1.0] * 4, abs=0.05)
    else:
        assert not sigmas == pytest.approx([1.0] * 4, abs=0.05)


def test_spectral_norm_takes_the_place_of_batch_norm():
    config = TrainConfig(spectral_norm=True, image_size=32, width=4).resolved()
    gan = training.build_gan(config)
    layer_types = {type(layer).__name__ for layer in gan.discriminator.layers}
    assert "SpectralNormalization" in layer_types and "BatchNormalization" not in layer_types


def tiny_critic() -> keras.Model:
    """A smooth float64 critic, so central differences are accurate."""
    return keras.Sequential(
        [
            keras.Input((4, 4, 3), dtype="float64"),
            keras.layers.Conv2D(3, 3, padding="same", activation="tanh", dtype="float64"),
            keras.layers.Flatten(dtype="float64"),
            keras.layers.Dense(1, dtype="float64"),
        ]
    )


def test_r1_penalty_equals_finite_differences():
    keras.utils.set_random_seed(1)
    critic = tiny_critic()
    images = np.random.default_rng(0).uniform(-1, 1, (2, 4, 4, 3))
    step = 1e-5
    squared_norms = []
    for sample in images:
        gradient = np.zeros_like(sample)
        for index in np.ndindex(sample.shape):
            up, down = sample.copy(), sample.copy()
            up[index] += step
            down[index] -= step
            gradient[index] = (critic(up[None]) - critic(down[None])).numpy().item() / (2 * step)
        squared_norms.append(np.sum(gradient**2))
    penalty = float(losses.squared_gradient_norm(critic, keras.ops.convert_to_tensor(images)))
    assert penalty == pytest.approx(np.mean(squared_norms), rel=1e-6)


def test_r1_adds_half_gamma_times_the_penalty_to_d_loss(real_batch):
    plain = tiny_gan().train_step(real_batch)
    penalised = tiny_gan(penalties=[losses.R1Penalty(10.0)]).train_step(real_batch)
    assert float(penalised["r1"]) > 0
    expected = float(plain["d_loss"]) + 0.5 * 10.0 * float(penalised["r1"])
    assert float(penalised["d_loss"]) == pytest.approx(expected, rel=1e-4)


def test_lazy_r1_is_applied_every_k_steps_scaled_by_k(real_batch):
    gan = tiny_gan(penalties=[losses.R1Penalty(10.0, every=2)])
    gan.build(real_batch.shape)
    penalties = []
    for _ in range(4):
        gan.reset_metrics()
        penalties.append(float(gan.train_step(real_batch)["r1"]))
    assert penalties[0] > 0 and penalties[2] > 0  # D steps 0 and 2 are due
    assert penalties[1] == penalties[3] == 0.0  # a Mean with no weight on the steps in between

    # On a due step the loss holds k * gamma / 2 of the penalty.
    plain = tiny_gan().train_step(real_batch)
    lazy = tiny_gan(penalties=[losses.R1Penalty(10.0, every=2)]).train_step(real_batch)
    expected = float(plain["d_loss"]) + 2 * 0.5 * 10.0 * float(lazy["r1"])
    assert float(lazy["d_loss"]) == pytest.approx(expected, rel=1e-4)


def test_every_technique_together_trains_and_resumes_with_its_average(faces, tmp_path, built, request):
    run = tmp_path / "run"
    flags = ["--data", str(faces), "--out", str(run), *TINY_FLAGS, "--loss", "hinge", "--ema", "0.9",
             "--augment", "color,translation,cutout", "--spectral-norm", "--r1", "1", "--r1-every", "2"]  # fmt: skip
    assert fit.main([*flags, "--epochs", "1"]) == 0
    history = (run / "history.csv").read_text().splitlines()
    assert history[0].split(",")[:1] == ["epoch"] and "r1" in history[0]
    assert [line.split(",")[0] for line in history[1:]] == ["1"]

    # The checkpoint holds the average itself (with its standing statistics): what was exported comes back.
    exported = keras.models.load_model(run / "generator.keras", compile=False)
    gan = resumed_as_trained(request, [*flags, "--epochs", "2"], built[-1]).gan
    for saved, restored in zip(exported.weights, gan.ema.model.weights, strict=True):
        np.testing.assert_array_equal(saved.numpy(), restored.numpy())
    assert any(not np.array_equal(a, g) for a, g in zip(trainable(gan.ema.model), trainable(gan.generator)))


def test_an_unknown_augmentation_gets_a_one_line_error(faces, tmp_path, capsys):
    run = tmp_path / "run"
    with pytest.raises(SystemExit) as exit_info:
        fit.main(["--data", str(faces), "--out", str(run), *TINY_FLAGS, "--augment", "colour", "--epochs", "1"])
    assert exit_info.value.code == 2
    err = capsys.readouterr().err.strip().splitlines()[-1]
    assert err.endswith("error: argument --augment: unknown augmentation 'colour': choose from color, translation, cutout")
    assert not run.exists()
    with pytest.raises(ConfigError, match="--augment: unknown augmentation 'colour'"):  # the notebooks' way in
        TrainConfig(augment="colour").resolved()


@pytest.mark.parametrize(
    "flags, ema, augment",
    [(["--ema", "0"], None, "color,translation,cutout"), (["--augment", "none"], 0.99, ""),
     (["--augment", "cutout, color"], 0.99, "color,cutout")],
)  # fmt: skip
def test_ema_and_augmentation_can_be_turned_off_from_the_command_line(flags, ema, augment, tmp_path):
    recipe = tmp_path / "recipe.json"
    TrainConfig(ema=0.99, augment="color,translation,cutout").save(recipe)
    given = vars(fit.build_parser().parse_args(flags))
    config = config_module.resume_or_new(tmp_path / "run", given, recipe)
    assert (config.ema, config.augment) == (ema, augment)


@pytest.mark.parametrize("flags", [["--r1", "-1"], ["--ema", "1.5"], ["--r1-every", "0"]])
def test_out_of_range_quality_flags_are_refused(flags, capsys):
    with pytest.raises(SystemExit) as exit_info:
        fit.build_parser().parse_args(flags)
    assert exit_info.value.code == 2
    assert flags[0] in capsys.readouterr().err


def test_spectral_norm_ema_and_upsampling_cannot_change_on_resume(run_copy, capsys):
    for flags in (["--spectral-norm"], ["--ema", "0.99"], ["--upsample", "resize"]):
        assert fit.main(["--out", str(run_copy), "--epochs", "3", *flags]) == 2
        err = capsys.readouterr().err
        assert flags[0] in err and "pass a new --out" in err


def test_holdout_split_is_fixed_disjoint_and_sized(faces):
    files = data.find_image_files(faces)
    train, held = data.split_holdout(files, 16)
    assert len(held) == 16 and len(train) == 32 and not set(train) & set(held)
    assert data.split_holdout(files, 16) == (train, held)  # the same faces every time
    assert data.split_holdout(files, 1 / 3)[1] == held  # a fraction of the 48 is the same count
    with pytest.raises(data.DataError, match="--holdout 48 leaves 0 of 48 images for training"):
        data.split_holdout(files, 48)


def stand_in_inception(weights=None) -> keras.Model:
    """A small fixed network in place of the FID Inception (whose weights CI does not have): images -> 2048."""
    keras.utils.set_random_seed(3)
    images = keras.Input((None, None, 3))
    x = keras.layers.Conv2D(8, 3, strides=2, activation="relu")(keras.layers.Rescaling(1 / 255)(images))
    x = keras.layers.GlobalAveragePooling2D()(x)
    return keras.Model(images, keras.layers.Dense(2048, activation="relu")(x))


@pytest.fixture
def stand_in_metrics(monkeypatch, tmp_path):
    from anime_dcgan import metrics
    from anime_dcgan.metrics import features as feature_cache

    monkeypatch.setattr(metrics, "load_inception", stand_in_inception)
    monkeypatch.setattr(feature_cache, "FEATURE_CACHE", tmp_path / "feature-cache")
    return metrics


def test_eval_every_writes_fid_and_kid_and_keeps_the_best_generator(faces, tmp_path, stand_in_metrics, capsys):
    run = tmp_path / "run"
    flags = ["--data", str(faces), "--out", str(run), *TINY_FLAGS, "--holdout", "16", "--eval-every", "1",
             "--eval-n", "24", "--ema", "0.9"]  # fmt: skip
    assert fit.main([*flags, "--epochs", "2"]) == 0
    assert "32 images" in capsys.readouterr().out  # 16 of the 48 faces were kept out of training
    rows = outputs.read_history(run / "history.csv")
    fids = [float(row["fid"]) for row in rows]
    assert len(fids) == 2 and all(f > 0 for f in fids)
    assert all(np.isfinite(float(row["kid"])) and float(row["kid_std"]) >= 0 for row in rows)
    best = keras.models.load_model(run / "best.keras", compile=False)
    assert best.output_shape == (None, 32, 32, 3)
    assert len(list((tmp_path / "feature-cache").glob("*.npy"))) == 1  # the held-out faces' features, cached

    # On resume the best FID so far comes from the history, so a worse epoch cannot replace best.keras.
    config = TrainConfig.load(run / "config.json").resolved()
    held_out = data.split_holdout(data.find_image_files(faces), 16)[1]
    evaluation = training.quality_evaluation(config, held_out, run, None)
    assert evaluation.best_fid == min(fids)


def test_eval_every_without_real_faces_to_measure_against_is_refused(faces, tmp_path, capsys):
    run = tmp_path / "run"
    assert fit.main(["--data", str(faces), "--out", str(run), *TINY_FLAGS, "--eval-every", "1"]) == 2
    assert "--eval-every needs real faces the model does not train on" in capsys.readouterr().err
    assert not run.exists()


def test_missing_inception_weights_stop_the_run_before_it_starts(faces, tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("ANIME_DCGAN_INCEPTION", str(tmp_path / "nowhere.npz"))
    run = tmp_path / "run"
    code = fit.main(["--data", str(faces), "--out", str(run), *TINY_FLAGS, "--holdout", "16", "--eval-every", "1"])
    err = capsys.readouterr().err
    assert code == 2 and len(err.strip().splitlines()) == 1
    assert "nowhere.npz does not exist" in err and "--inception-weights" in err
    assert not run.exists()


def test_preset_dcgan_stands_for_its_flags_and_flags_beside_it_win(tmp_path):
    recipe = tmp_path / "recipe.json"
    TrainConfig(loss="hinge", upsample="resize", spectral_norm=True, augment="color", ema=0.999).save(recipe)
    parser = fit.build_parser()
    given = {**config_module.PRESETS["dcgan"], **vars(parser.parse_args(["--ema", "0.99"]))}
    config = config_module.resume_or_new(tmp_path / "run", given, recipe)
    assert (config.loss, config.upsample, config.spectral_norm, config.augment, config.ema, config.batch_size) == (
        "bce", "transpose", False, "", 0.99, 128
    )
    given = {**config_module.PRESETS["dcgan"], **vars(parser.parse_args(["--batch-size", "48"]))}
    assert config_module.resume_or_new(tmp_path / "other", given).batch_size == 48
    assert (config.optimizer, config.lr, config.beta1) == ("adam", 2e-4, 0.5)  # bce's defaults, not the file's


def test_preset_is_applied_by_the_command_line(faces, tmp_path, untrained):
    run = tmp_path / "run"
    recipe = tmp_path / "recipe.json"
    TrainConfig(loss="hinge", spectral_norm=True).save(recipe)
    assert fit.main(["--data", str(faces), "--out", str(run), *TINY_FLAGS, "--config", str(recipe),
                     "--preset", "dcgan", "--epochs", "1"]) == 0  # fmt: skip
    saved = TrainConfig.load(run / "config.json")
    assert (saved.loss, saved.spectral_norm) == ("bce", False)
    assert untrained[0].config.batch_size == 16  # the flag over the preset's 128


def test_diff_augment_is_applied_to_every_image_d_sees_in_both_updates(real_batch, monkeypatch):
    from anime_dcgan.augment import DiffAugment

    seen = []
    augment = DiffAugment.__call__

    def recording_augment(self, images, seed=None):
        if self.policy:
            seen.append(tuple(images.shape))
        return augment(self, images, seed)

    monkeypatch.setattr(DiffAugment, "__call__", recording_augment)
    tiny_gan(augment="translation").train_step(real_batch)
    # The generated batch once (D's update and G's share it, augmentation included), then the real batch.
    assert seen == [(16, 32, 32, 3)] * 2
    seen.clear()
    tiny_gan().train_step(real_batch)
    assert seen == []


def test_a_run_saved_before_the_quality_options_resumes_with_them_off(faces, tmp_path, built, request):
    run = tmp_path / "old-run"
    assert fit.main(["--data", str(faces), "--out", str(run), "--epochs", "1", "--preset", "dcgan", *TINY_FLAGS]) == 0
    saved = json.loads((run / "config.json").read_text())
    (run / "config.json").write_text(json.dumps({k: v for k, v in saved.items() if k not in ADDED_LATER}))
    loaded = TrainConfig.load(run / "config.json")
    assert {name: getattr(loaded, name) for name in ADDED_LATER} == ADDED_LATER
    # The checkpoint fits the options it ran with: all of it comes back.
    assert resumed_as_trained(request, ["--out", str(run), "--epochs", "2"], built[-1]).epoch == 1

"""Training in float32, bfloat16 and float16: finite steps, float32 images, and float16's loss scale at work."""

import numpy as np
import pytest
import tensorflow as tf

from anime_dcgan import training
from anime_dcgan.commands import fit
from anime_dcgan.config import TrainConfig
from conftest import first_batch

TINY = {"image_size": 32, "width": 4, "latent_dim": 8, "batch_size": 16}


@pytest.fixture(scope="module")
def real_batch():
    return first_batch(16)


@pytest.mark.parametrize("precision, compute", [("float32", "float32"), ("mixed_bfloat16", "bfloat16"),
                                                ("mixed_float16", "float16")])  # fmt: skip
def test_a_step_at_each_precision_is_finite_and_draws_float32_images(precision, compute, real_batch):
    gan = training.build_gan(TrainConfig(precision=precision, **TINY).resolved())
    convolutions = [layer for layer in gan.discriminator.layers if layer.name.startswith("conv2d")]
    assert {layer.compute_dtype for layer in convolutions} == {compute}
    assert {w.dtype for w in gan.generator.weights} == {"float32"}  # the weights themselves stay float32
    logs = gan.train_step(real_batch)
    assert all(np.isfinite(float(value)) for value in logs.values()) and float(logs["nonfinite"]) == 0
    images = gan.generator(np.zeros((2, 8), "float32"))
    assert images.dtype == "float32" and float(np.max(np.abs(images))) <= 1.0


def test_float16_recovers_from_an_overflowing_loss_scale(real_batch):
    gan = training.build_gan(TrainConfig(precision="mixed_float16", **TINY).resolved())
    gan.d_optimizer.dynamic_scale.assign(2.0**30)  # far beyond float16: every gradient overflows at first
    before = [w.numpy().copy() for w in gan.discriminator.trainable_weights]
    gan.train_step(real_batch)
    assert float(gan.d_optimizer.dynamic_scale) == 2.0**29  # the step was skipped and the scale halved
    assert all(np.array_equal(b, w.numpy()) for b, w in zip(before, gan.discriminator.trainable_weights))
    step = tf.function(gan.train_step)  # traced once: twenty eager steps would take five times as long
    for _ in range(20):
        logs = step(real_batch)
    assert float(gan.d_optimizer.dynamic_scale) < 2.0**20 and float(logs["nonfinite"]) == 0
    after = [w.numpy() for w in gan.discriminator.trainable_weights]
    assert all(np.all(np.isfinite(w)) for w in after) and not all(np.array_equal(b, a) for b, a in zip(before, after))


@pytest.mark.parametrize("options", [
    {"loss": "hinge", "spectral_norm": True, "r1": 1.0, "r1_every": 2, "augment": "color,translation,cutout",
     "ema": 0.9},
    {"loss": "wgan-gp"},
])  # fmt: skip
def test_every_technique_trains_in_bfloat16_with_a_float32_logit(options, real_batch):
    config = TrainConfig(precision="mixed_bfloat16", **TINY, **options).resolved()
    gan = training.build_gan(config)
    assert gan.discriminator(real_batch[:2], training=False).dtype == "float32"
    batch = np.concatenate([real_batch] * config.d_steps)
    logs = gan.train_step(batch)
    assert all(np.isfinite(float(value)) for value in logs.values()) and float(logs["nonfinite"]) == 0


@pytest.mark.parametrize("has_bfloat16, expected", [(True, "mixed_bfloat16"), (False, "float32")])
def test_auto_takes_bfloat16_on_a_cpu_that_computes_it(has_bfloat16, expected, monkeypatch):
    monkeypatch.setattr(training, "cpu_has_bfloat16", lambda: has_bfloat16)
    assert training.resolve_precision("auto") == expected  # no GPU or TPU on the test machine
    assert training.resolve_precision("mixed_float16") == "mixed_float16"


def test_a_run_records_the_precision_auto_picked_and_cannot_change_it_on_resume(run_copy, capsys):
    saved = TrainConfig.load(run_copy / "config.json").precision
    assert saved == training.resolve_precision("auto")  # the fixture's run took the default, "auto"
    assert fit.main(["--out", str(run_copy), "--epochs", "3", "--precision", "mixed_float16"]) == 2
    assert f"trained with --precision {saved}, not mixed_float16" in capsys.readouterr().err


def test_xla_and_steps_per_execution_reach_the_compiled_model_and_train(faces, tmp_path, built):
    run = tmp_path / "run"
    flags = ["--image-size", "32", "--width", "4", "--latent-dim", "8", "--batch-size", "8"]
    assert fit.main(["--data", str(faces), "--out", str(run), "--epochs", "1", *flags,
                     "--jit-compile", "on", "--steps-per-execution", "3"]) == 0  # fmt: skip
    gan = built[-1]
    assert gan.jit_compile is True and gan.steps_per_execution == 3
    assert int(gan.g_optimizer.iterations) == 6  # 48 faces / 8: six steps, run three per call
    rows = (run / "history.csv").read_text().splitlines()
    assert len(rows) == 2 and "nan" not in rows[1].lower()
    assert training.build_gan(TrainConfig(jit_compile="off", **TINY).resolved()).jit_compile is False


@pytest.mark.parametrize("cap, native", [("", True), ("AVX2", False), ("avx512_core", False), ("AVX512_CORE_BF16", True),
                                         ("AVX10_1_512_AMX", True)])  # fmt: skip
def test_bfloat16_is_native_only_where_onednn_may_use_it(cap, native, monkeypatch):
    monkeypatch.setattr(training, "cpu_flags", lambda: {"avx2", "avx512f", "avx512_bf16"})
    monkeypatch.setenv("ONEDNN_MAX_CPU_ISA", cap)
    assert training.cpu_has_bfloat16() is native
    monkeypatch.setattr(training, "cpu_flags", lambda: {"avx2", "fma"})  # no bfloat16 to allow
    assert training.cpu_has_bfloat16() is False

"""The benchmark: every candidate timed, a table, and the ratio on the last line."""

import contextlib
import re
import sys
from collections import Counter

import pytest

from anime_dcgan import losses, outputs, training
from anime_dcgan.commands import bench
from anime_dcgan.config import LOSS_SPECS, TrainConfig
from conftest import copy_faces


def test_bench_times_the_native_precisions_with_fit_epochs_whole_and_prints_the_ratio_last(
    capsys, monkeypatch, tmp_path
):
    grids = []
    save_png = outputs.save_png
    monkeypatch.setattr(outputs, "save_png", lambda grid, path: grids.append(path) or save_png(grid, path))
    monkeypatch.setattr(training, "cpu_has_bfloat16", lambda: False)  # a CPU without bfloat16: float32 alone
    built_configs = []
    build_gan = training.build_gan
    monkeypatch.setattr(training, "build_gan", lambda config: built_configs.append(config) or build_gan(config))
    argv = ["--image-size", "32", "--width", "4", "--batch-size", "8", "--steps", "1", "--repeats", "2",
            "--fit-epoch", "--fit-batch-size", "100", "--data", str(copy_faces(tmp_path / "faces", 300)),
            "--recipe", "--loss hinge --lr 3e-4"]  # fmt: skip
    assert bench.main(argv) == 0
    lines = capsys.readouterr().out.strip().splitlines()
    timing = next(line for line in lines if line.startswith("Timing 2 turns of 1 steps"))
    assert timing.endswith(training.describe_cpu())
    rows = {line[:44].strip(): line[44:].split() for line in lines if re.search(r"\d+\.\d+x$", line)}
    fit_epoch = "fit epoch (batch 100, 3 steps, outputs)"
    default = "default step (float32, XLA off)"
    bound = "convolution bound (float32)"
    reference = "reference step (TF tutorial, float32)"
    pipelines = {"input pipeline", "input pipeline, x-flips (--mirror)"}
    recipe = ["recipe step (--loss hinge --lr 3e-4)", "convolution bound (--loss hinge --lr 3e-4)"]
    assert set(rows) == {reference, default, bound, *pipelines, fit_epoch, *recipe}
    hinge = [config for config in built_configs if config.loss == "hinge"]
    assert [(config.lr, config.batch_size, config.precision) for config in hinge] == [(3e-4, 8, "float32")] * 2
    assert all(float(rate) > 0 for rate, _ in rows.values())
    share = float(rows[default][0]) / float(rows[bound][0])
    assert lines[-2] == f"The default step runs at {share:.0%} of its convolution bound."
    # The bound's convolutions rated against a matrix product timed in the same turns (not a row of the table).
    flops = bench.step_flops(TrainConfig(image_size=32, width=4, batch_size=8, precision="float32").resolved())
    arithmetic = re.fullmatch(r"At its bound the default step's convolutions \((\S+) GFLOP\) run at (\d+) GFLOP/s, "
                              r"(\d+)% of a 2048x2048 float32 matrix product's (\d+) GFLOP/s\.", lines[-3])
    assert arithmetic and float(arithmetic[1]) == pytest.approx(flops / 1e9, abs=0.006)
    assert float(arithmetic[2]) == pytest.approx(flops * float(rows[bound][0]) / 8 / 1e9, abs=0.6)
    assert float(arithmetic[3]) == pytest.approx(100 * float(arithmetic[2]) / float(arithmetic[4]), abs=1.5)
    assert rows[reference][1] == "1.00x"
    ratio = float(lines[-1].removeprefix("ratio="))
    assert lines[-1].startswith("ratio=") and ratio == pytest.approx(float(rows[default][1][:-1]), abs=0.006)
    assert len(grids) == 3  # a grid after each fit epoch: the warm-up's and two timed turns


def test_a_passs_multiply_adds_pair_every_kernel_weight_with_every_position_of_the_smaller_map():
    import keras

    images = keras.Input((32, 32, 3))
    down = keras.layers.Conv2D(8, 4, strides=2, padding="same")
    up = keras.layers.Conv2DTranspose(5, 4, strides=2, padding="same")
    keras.Model(images, up(down(images)))
    assert bench.multiply_adds(down, 2) == 2 * 16 * 16 * (4 * 4 * 3 * 8)  # the output is the smaller map
    assert bench.multiply_adds(up, 2) == 2 * 16 * 16 * (4 * 4 * 5 * 8)  # the input is


def test_every_setting_asked_for_is_timed_once_after_the_default():
    args = bench.build_parser().parse_args(["--xla", "off", "on", "--steps-per-execution", "1", "8"])
    settings = bench.step_settings(("mixed_bfloat16", "off", 1), ["float32"], args.xla, args.steps_per_execution)
    assert settings == [("mixed_bfloat16", "off", 1), ("float32", "off", 1), ("float32", "off", 8),
                        ("float32", "on", 1), ("float32", "on", 8)]  # fmt: skip
    assert bench.step_settings(("float32", "off", 1), ["float32"], ["off"], [1, 8]) == [
        ("float32", "off", 1), ("float32", "off", 8)]  # the default once
    names = ["default step (mixed_bfloat16, XLA off)", "project step (float32, XLA off)",
             "project step (float32, XLA off, 8 a call)"]  # fmt: skip
    assert bench.step_names(settings[:3]) == names


def test_steps_per_execution_runs_that_many_steps_in_each_call(built):
    import tensorflow as tf

    config = TrainConfig(image_size=32, width=4, latent_dim=8, batch_size=8).resolved()
    run = bench.project_step(config, tf.random.uniform((8, 32, 32, 3), -1.0, 1.0), "float32", False, 3)
    run(2)
    gan = built[-1]
    assert int(gan.g_optimizer.iterations) == int(gan.d_optimizer.iterations) == 6  # two calls of three steps


def test_candidates_take_turns_and_the_median_counts():
    calls = []
    fast = bench.Candidate("fast", 10, lambda steps: calls.append(("fast", steps)))
    slow = bench.Candidate("slow", 10, lambda steps: calls.append(("slow", steps)) or __import__("time").sleep(0.01 * steps))
    rates = bench.time_candidates([fast, slow], steps=2, repeats=3, warmup=1)
    assert calls == [("fast", 1), ("slow", 1)] + [("fast", 2), ("slow", 2)] * 3  # warm-up, then alternated turns
    assert rates["fast"] > rates["slow"] and rates["slow"] == pytest.approx(20 / 0.02, rel=0.5)


def test_nonsense_bench_flags_are_refused(capsys):
    with pytest.raises(SystemExit) as exit_info:
        bench.main(["--steps", "0"])
    assert exit_info.value.code == 2 and "--steps must be a positive whole number" in capsys.readouterr().err


def test_a_recipe_is_fits_flags_over_the_benchs_settings_and_nonsense_is_a_one_line_error(capsys):
    config = TrainConfig(batch_size=128, image_size=32, width=4).resolved()
    recipe = bench.recipe_config(config, "--loss relativistic --gamma 0.1 --r1-every 16")
    assert (recipe.loss, recipe.gamma, recipe.r1_every, recipe.batch_size, recipe.width) == (
        "relativistic", 0.1, 16, 128, 4)  # fmt: skip
    assert (recipe.beta1, recipe.beta2) == (0.0, 0.99)  # the relativistic loss's own optimizer defaults
    dcgan = bench.recipe_config(config, "--preset dcgan --width 8")
    assert (dcgan.augment, dcgan.ema, dcgan.width) == ("", None, 8)
    assert bench.main(["--recipe", "--loss nonsense"]) == 2
    assert capsys.readouterr().err.strip().splitlines() == [
        "error: --recipe '--loss nonsense': argument --loss: invalid choice: 'nonsense' (choose from "
        + ", ".join(f"'{name}'" for name in LOSS_SPECS) + ")"
    ]


CONVOLUTION_OPS = ("Conv2D", "Conv2DBackpropInput", "Conv2DBackpropFilter", "ExtractImagePatches")


def executed_ops(graph) -> Counter:
    """The op types of a traced function that run: those its outputs and its state changes depend on (the
    gradients a tape builds but nothing reads are pruned when the function runs)."""
    pending, seen = [t.op for t in graph.outputs] + list(graph.control_outputs), set()
    while pending:
        op = pending.pop()
        if op.name not in seen:
            seen.add(op.name)
            pending += [t.op for t in op.inputs] + list(op.control_inputs)
    return Counter(graph.get_operation_by_name(name).type for name in seen)


@pytest.mark.parametrize(
    "options",
    [{}, {"architecture": "resnet", "d_steps": 2, "spectral_norm": True}, {"loss": "bce"}, {"loss": "bce", "r1": 1.0},
     {"updates": "simultaneous"}, {"loss": "bce", "d_steps": 2, "updates": "simultaneous"}],
    ids=["default", "resnet-d_steps-2-spectral", "bce", "bce-r1", "simultaneous", "bce-d_steps-2-simultaneous"],
)
def test_the_convolution_bound_runs_the_convolutions_the_step_runs(options):
    import tensorflow as tf

    # Penalties on every update: a lazy one's passes sit in a branch the op count below does not enter (next test).
    config = TrainConfig(image_size=32, width=4, latent_dim=8, batch_size=4, precision="float32", r1_every=1,
                         **options).resolved()
    gan = training.build_gan(config)
    real = tf.random.uniform((config.batch_size * config.d_steps, 32, 32, 3), -1.0, 1.0)
    step_ops = executed_ops(tf.function(gan.train_step).get_concrete_function(real).graph)
    bound_ops = Counter()
    for layer, kind, times in bench.step_convolutions(gan):
        ops = executed_ops(bench.convolution_pass(layer, kind, 4, "float32").get_concrete_function().graph)
        bound_ops.update({name: count * times for name, count in ops.items()})
    assert step_ops["Conv2D"] > 0
    assert {name: bound_ops[name] for name in CONVOLUTION_OPS} == {name: step_ops[name] for name in CONVOLUTION_OPS}


def test_a_lazy_penalty_adds_its_passes_to_the_bound_on_every_kth_step(monkeypatch):
    import tensorflow as tf

    def config(**options):
        return TrainConfig(image_size=32, width=4, latent_dim=8, batch_size=4, loss="bce", **options).resolved()

    gan = training.build_gan(config())

    def passes(*penalties):
        gan.gan_loss.penalties = list(penalties)
        return Counter({(layer.name, kind): times for layer, kind, times in bench.step_convolutions(gan)})

    plain, every_step, lazy = passes(), passes(losses.R1Penalty(1.0)), passes(losses.R1Penalty(1.0, every=4))
    penalty = every_step - plain
    assert penalty and all(times >= 1 for times in penalty.values())
    assert lazy == plain + Counter({key: times / 4 for key, times in penalty.items()})

    # Over turns of 3 and 5 steps, the bound runs the penalty's passes on 2 of the 8 steps.
    ran = Counter()
    def counted_pass(layer, kind, batch, dtype):
        return lambda: ran.update([kind]) or tf.constant(0.0)

    monkeypatch.setattr(bench, "convolution_pass", counted_pass)
    run = bench.convolution_bound(config(r1=1.0, r1_every=4), "float32")
    run(3)
    run(5)
    expected = Counter()
    for (_, kind), times in lazy.items():
        expected[kind] += times * 8
    assert ran == expected


def test_a_peer_steps_when_asked_and_ends_with_the_bench(tmp_path):
    """bench's side of experiments/pytorch_dcgan.py serve, with a peer that logs what it is asked."""
    asked = tmp_path / "asked"
    peer = tmp_path / "peer"
    peer.write_text(
        f"#!{sys.executable}\nimport sys\nprint('ready', flush=True)\nlog = open({str(asked)!r}, 'a', buffering=1)\n"
        "for line in sys.stdin:\n    log.write(' '.join(sys.argv[1:]) + ' ' + line)\n    print('done', flush=True)\n"
        "log.write('input ended\\n')\n"
    )
    peer.chmod(0o755)
    with contextlib.ExitStack() as stack:
        candidate = bench.peer_step(str(peer), 8, True, stack)
        candidate.run(3)
        candidate.run(5)
        assert "input ended" not in asked.read_text()  # serving between turns
    expected = [f"{bench.PEER_SCRIPT} serve --batch-size 8 --channels-last {n}" for n in (3, 5)]
    assert asked.read_text().splitlines() == expected + ["input ended"]  # and ended, waited for, with the bench
    assert candidate.name == "PyTorch DCGAN step (float32, channels-last)" and candidate.images_per_step == 8


def test_a_python_without_pytorch_or_no_python_is_a_one_line_error(capsys):
    with contextlib.ExitStack() as stack, pytest.raises(bench.UsageError, match=r"No module named 'torch'"):
        bench.peer_step(sys.executable, 8, False, stack)
    assert bench.main(["--peer-python", "/no/such/python"]) == 2
    assert capsys.readouterr().err.strip() == (
        "error: --peer-python /no/such/python: No such file or directory: name a Python that has PyTorch"
    )

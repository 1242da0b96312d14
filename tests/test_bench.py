"""The benchmark: every candidate timed, a table, and the ratio on the last line."""

import re

import pytest

from anime_dcgan import outputs, training
from anime_dcgan.commands import bench


def test_bench_times_the_native_precisions_with_fit_epochs_whole_and_prints_the_ratio_last(capsys, monkeypatch):
    grids = []
    save_png = outputs.save_png
    monkeypatch.setattr(outputs, "save_png", lambda grid, path: grids.append(path) or save_png(grid, path))
    monkeypatch.setattr(training, "cpu_has_bfloat16", lambda: False)  # a CPU without bfloat16: float32 alone
    argv = ["--image-size", "32", "--width", "4", "--batch-size", "8", "--steps", "1", "--repeats", "2",
            "--fit-epoch", "--fit-batch-size", "100"]  # fmt: skip
    assert bench.main(argv) == 0
    lines = capsys.readouterr().out.strip().splitlines()
    timing = next(line for line in lines if line.startswith("Timing 2 turns of 1 steps"))
    assert timing.endswith(training.describe_cpu())
    rows = {line[:44].strip(): line[44:].split() for line in lines if re.search(r"\d+\.\d+x$", line)}
    fit_epoch = "fit epoch (batch 100, 10 steps, outputs)"
    default = "default step (float32, XLA off)"
    assert set(rows) == {"reference step (TF tutorial, float32)", default, "input pipeline", fit_epoch}
    assert all(float(rate) > 0 for rate, _ in rows.values())
    assert rows["reference step (TF tutorial, float32)"][1] == "1.00x"
    ratio = float(lines[-1].removeprefix("ratio="))
    assert lines[-1].startswith("ratio=") and ratio == pytest.approx(float(rows[default][1][:-1]), abs=0.006)
    assert len(grids) == 3  # a grid after each fit epoch: the warm-up's and two timed turns


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

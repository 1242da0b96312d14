"""Training across replicas: the same update as one device, multi-worker runs written by the chief only, and the
strategy's choices. Each strategy runs in processes of its own (its devices must be set up before TensorFlow starts).
"""

import json
import os
import re
import socket
import subprocess
import sys
from pathlib import Path

import keras
import numpy as np
import pytest

from anime_dcgan import distribute, training
from anime_dcgan.commands import fit
from anime_dcgan.outputs import read_history
from anime_dcgan.config import ConfigError, TrainConfig
from conftest import TINY_FLAGS

ROOT = Path(__file__).resolve().parent.parent
MIRRORED_STEP = Path(__file__).resolve().parent / "scripts" / "mirrored_step.py"


MIRRORED_CASES = [  # (loss, compile options and parts, discriminator options)
    # The default recipe (batch norm in both networks) with every regulariser and the loss thresholds on...
    ("bce", {"augment": "translation,cutout", "ema": 0.999, "r1": 1.0, "lecam": 1.0, "d_threshold": 0.1,
             "g_threshold": 0.1}, {}),  # fmt: skip
    # ...and a critic with its own penalty, several updates a step and another normalisation...
    ("wgan-gp", {"d_steps": 2}, {"normalization": "layer"}),
    # ...and the relativistic pairing, whose R1 and R2 penalties and G's loss see both batches, in a critic without
    # normalisation.
    ("relativistic", {"augment": "translation,cutout", "ema": 0.999}, {"normalization": "none"}),
    # ...and that again with simultaneous updates, G's loss on the outputs D learns from, after two D updates.
    ("relativistic", {"augment": "translation,cutout", "d_steps": 2, "updates": "simultaneous"},
     {"normalization": "none"}),  # fmt: skip
]


@pytest.fixture(scope="module")
def mirrored_reports() -> list[dict]:
    """Every case's report, from one process (its two logical devices set up before TensorFlow starts)."""
    result = subprocess.run([sys.executable, str(MIRRORED_STEP), json.dumps(MIRRORED_CASES)],
                            capture_output=True, text=True, timeout=600, cwd=ROOT)  # fmt: skip
    assert result.returncode == 0, result.stderr[-3000:]
    return [json.loads(line) for line in result.stdout.strip().splitlines()[-len(MIRRORED_CASES) :]]


@pytest.mark.parametrize("case", range(len(MIRRORED_CASES)), ids=[f"{c[0]}-{'-'.join(c[1])}" for c in MIRRORED_CASES])
def test_two_replicas_update_the_weights_as_one_device_does_on_the_whole_batch(case, mirrored_reports):
    report = mirrored_reports[case]
    assert report["replicas"] == 2
    assert report["largest_change"] > 0.05  # the two steps moved the weights...
    assert report["largest_difference"] < 1e-4  # ...and two replicas moved them alike
    for name, value in report["single"].items():
        assert report["mirrored"][name] == pytest.approx(value, rel=1e-4, abs=1e-5), name


def free_ports(count: int) -> list[int]:
    sockets = [socket.socket() for _ in range(count)]
    for each in sockets:
        each.bind(("127.0.0.1", 0))
    ports = [each.getsockname()[1] for each in sockets]
    for each in sockets:
        each.close()
    return ports


def fit_on_two_workers(run: Path, faces: Path, epochs: int) -> list[subprocess.CompletedProcess]:
    """The same fit command on two worker processes of one TF_CONFIG cluster on this machine."""
    cluster = {"worker": [f"127.0.0.1:{port}" for port in free_ports(2)]}
    command = [sys.executable, "-m", "anime_dcgan.fit", "--data", str(faces), "--out", str(run), *TINY_FLAGS,
               "--epochs", str(epochs), "--strategy", "multi-worker", "--precision", "float32", "--verbose", "2"]  # fmt: skip
    workers = [
        subprocess.Popen(
            command, cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
            env={**os.environ, "TF_CONFIG": json.dumps({"cluster": cluster, "task": {"type": "worker", "index": i}})},
        )  # fmt: skip
        for i in range(2)
    ]
    return [subprocess.CompletedProcess(w.args, w.wait(timeout=600), w.stdout.read(), None) for w in workers]


def test_two_workers_train_and_resume_one_run_that_only_the_chief_writes(faces, tmp_path):
    run = tmp_path / "run"
    first = fit_on_two_workers(run, faces, epochs=1)
    assert [worker.returncode for worker in first] == [0, 0], first[0].stdout[-3000:] + first[1].stdout[-3000:]
    chief, other = (worker.stdout for worker in first)
    assert "multi-worker over 2 replicas" in chief and f"Writing the run to {run}" in chief
    assert f"Worker 1: training with the chief, which writes {run}" in other and f"to {run}\n" not in other
    assert sorted(path.name for path in (run / "samples").iterdir()) == ["epoch_0001.png"]

    second = fit_on_two_workers(run, faces, epochs=2)
    assert [worker.returncode for worker in second] == [0, 0], second[0].stdout[-3000:] + second[1].stdout[-3000:]
    assert f"Resuming {run} after epoch 1" in second[0].stdout
    rows = read_history(run / "history.csv")
    assert [row["epoch"] for row in rows] == ["1", "2"]  # each epoch once: one writer
    assert rows[0]["d_loss"] != rows[1]["d_loss"]
    assert (run / "checkpoints" / "ckpt-2.index").exists() and not (run / "run.lock").exists()
    # The workers agreed on every step: both logged the same losses.
    losses = [re.findall(r"d_fake: .*", worker.stdout) for worker in second]
    assert losses[0] and losses[0] == losses[1]


def test_without_a_strategy_the_replica_helpers_are_the_plain_operations():
    draw = keras.random.normal((5, 3), seed=1)
    np.testing.assert_array_equal(distribute.local_rows(lambda rows: keras.random.normal((rows, 3), seed=1), 5), draw)
    assert float(distribute.global_mean(keras.ops.convert_to_tensor(2.5))) == 2.5
    assert distribute.replicas() == 1
    strategy = distribute.make_strategy("default")
    assert strategy.num_replicas_in_sync == 1 and distribute.is_chief(strategy) and distribute.describe(strategy) == ""


def test_a_tpu_is_found_from_colab_and_cloud_settings(monkeypatch):
    for name in ("COLAB_TPU_ADDR", "TPU_NAME"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setattr(distribute.glob, "glob", lambda pattern: [])
    assert not distribute.tpu_attached()
    monkeypatch.setenv("COLAB_TPU_ADDR", "10.0.0.2:8470")
    assert distribute.tpu_attached()


def test_asking_for_devices_that_are_not_there_is_a_one_line_error(faces, tmp_path, monkeypatch, capsys):
    for name in ("COLAB_TPU_ADDR", "TPU_NAME", "TF_CONFIG"):
        monkeypatch.delenv(name, raising=False)
    with pytest.raises(ConfigError, match=r"--strategy tpu found no TPU to use .*: on Colab pick a TPU runtime"):
        distribute.make_strategy("tpu")
    flags = ["--data", str(faces), "--out", str(tmp_path / "run"), *TINY_FLAGS, "--strategy", "multi-worker"]
    assert fit.main(flags) == 2 and not (tmp_path / "run").exists()
    assert capsys.readouterr().err.strip().splitlines()[-1].startswith("error: --strategy multi-worker needs TF_CONFIG")


def test_a_batch_the_replicas_cannot_share_is_refused_with_what_to_pass():
    training.check_divisible(TrainConfig(batch_size=128), 8)
    with pytest.raises(ConfigError, match=r"--batch-size 100 does not split over the 8 replicas .*a multiple of 8"):
        training.check_divisible(TrainConfig(batch_size=100, strategy="tpu"), 8)

import errno
import json
import os
import re
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import imageio.v3 as iio
import numpy as np
import pytest
import tensorflow as tf
from PIL import Image

from anime_dcgan import training
from anime_dcgan.commands import fit
from anime_dcgan.outputs import read_history
from anime_dcgan.checkpoints import TrainingCheckpoint
from anime_dcgan.config import TrainConfig
from anime_dcgan.data import mirrored
from anime_dcgan.sampling import load_generator
from conftest import TINY_FLAGS, copy_faces, resumed_as_trained

GRID_SIDE = 8 * (32 + 2) + 2  # 8 x 8 faces of 32 px with 2 px borders


def history(run: Path) -> list[dict]:
    return read_history(run / "history.csv")


def gif_frames(run: Path) -> int:
    return iio.improps(run / "progress.gif", index=None).shape[0]


def restored(run: Path, with_step: bool = False):
    """A GAN built from the run's config.json with its latest checkpoint loaded, and the epochs that checkpoint had
    finished (with the steps done in the next one, if `with_step`)."""
    gan = training.build_gan(TrainConfig.load(run / "config.json"))
    noise = tf.Variable(np.zeros((training.SAMPLE_COUNT, gan.latent_dim), "float32"))
    checkpoint = TrainingCheckpoint(run / "checkpoints", gan, noise, run / "unused.keras")
    epoch, step = checkpoint.restore()
    return gan, noise, (epoch, step) if with_step else epoch


def test_every_epoch_writes_grid_gif_history_plot_and_checkpoint(trained_run):
    grids = sorted(p.name for p in (trained_run / "samples").glob("*.png"))
    assert grids == ["epoch_0001.png", "epoch_0002.png"]
    assert Image.open(trained_run / "samples" / "epoch_0002.png").size == (GRID_SIDE, GRID_SIDE)
    assert gif_frames(trained_run) == 2
    rows = history(trained_run)
    assert [row["epoch"] for row in rows] == ["1", "2"]
    for row in rows:
        assert all(np.isfinite(float(row[name])) for name in ("d_loss", "g_loss", "d_real", "d_fake"))
    assert rows[0]["d_loss"] != rows[1]["d_loss"]
    assert Image.open(trained_run / "losses.png").format == "PNG"
    assert (trained_run / "checkpoints" / "ckpt-2.index").exists()
    assert list((trained_run / "logs").rglob("events.out.tfevents.*"))
    assert load_generator(trained_run).output_shape == (None, 32, 32, 3)
    assert json.loads((trained_run / "config.json").read_text())["width"] == 4


def test_checkpoint_restores_the_trained_networks_and_optimizer_state(trained_run):
    gan, _, epoch = restored(trained_run)
    assert epoch == 2
    assert int(gan.d_optimizer.iterations) == int(gan.g_optimizer.iterations) == 2 * 3  # 48 faces / 16 per batch
    saved = load_generator(trained_run)  # written after the same epoch as the checkpoint
    for mine, theirs in zip(gan.sampler.weights, saved.weights):
        np.testing.assert_array_equal(mine.numpy(), theirs.numpy())


def test_resume_continues_after_the_last_epoch_with_the_same_noise(run_copy, capsys):
    _, noise_before, _ = restored(run_copy)
    gan_before, _, _ = restored(run_copy)
    # Only the new epoch count and another seed: the rest comes from config.json, the noise from the checkpoint.
    assert fit.main(["--out", str(run_copy), "--epochs", "3", "--seed", "7"]) == 0
    assert "Resuming" in capsys.readouterr().out
    assert [row["epoch"] for row in history(run_copy)] == ["1", "2", "3"]
    assert (run_copy / "samples" / "epoch_0003.png").exists() and gif_frames(run_copy) == 3
    gan, noise_after, epoch = restored(run_copy)
    assert epoch == 3 and int(gan.g_optimizer.iterations) == 3 * 3  # carried on from 6 steps, not from 0
    np.testing.assert_array_equal(noise_before.numpy(), noise_after.numpy())
    assert not np.array_equal(gan.generator.weights[0].numpy(), gan_before.generator.weights[0].numpy())


def test_resume_drops_history_of_an_epoch_that_never_reached_its_checkpoint(run_copy):
    with (run_copy / "history.csv").open("a") as f:
        f.write("3,0.5,0.5,0.5,0.5\n")  # as if killed after the history row of epoch 3 but before its checkpoint
    assert fit.main(["--out", str(run_copy), "--epochs", "3"]) == 0
    assert [row["epoch"] for row in history(run_copy)] == ["1", "2", "3"]
    assert history(run_copy)[2]["d_loss"] != "0.5"


def test_out_that_is_a_file_is_a_clear_error(tmp_path, capsys):
    (tmp_path / "taken").write_text("keep me")
    assert fit.main(["--out", str(tmp_path / "taken"), *TINY_FLAGS]) == 2
    assert "is a file" in capsys.readouterr().err
    assert (tmp_path / "taken").read_text() == "keep me"


def test_a_finished_run_is_left_alone(run_copy, capsys):
    before = (run_copy / "history.csv").read_text()
    assert fit.main(["--out", str(run_copy), "--epochs", "2"]) == 0
    assert "already trained 2 epochs" in capsys.readouterr().out
    assert (run_copy / "history.csv").read_text() == before


def test_changing_the_model_shape_of_a_run_is_refused_and_keeps_its_files(run_copy, capsys):
    files = sorted(p.relative_to(run_copy) for p in run_copy.rglob("*"))
    assert fit.main(["--out", str(run_copy), "--epochs", "3", "--width", "8"]) == 2
    error = capsys.readouterr().err.strip()
    assert error.count("\n") == 0 and "trained with --width 4, not 8" in error and "--out" in error
    assert sorted(p.relative_to(run_copy) for p in run_copy.rglob("*")) == files


@pytest.mark.parametrize(
    "make_data, message",
    [
        (lambda tmp: tmp / "missing", "does not exist"),
        (lambda tmp: tmp.mkdir() or tmp, "no images in"),
        (lambda tmp: copy_faces(tmp / "few", 5), "fewer than the 16 of one training step"),
        (lambda tmp: copy_faces(tmp, 1) / "000000.png", "is a file, not a folder"),
    ],
    ids=["missing-folder", "no-images", "too-few-images", "file-not-folder"],
)
def test_bad_data_is_a_one_line_error_that_keeps_the_run(run_copy, tmp_path, capsys, make_data, message):
    checkpoints = sorted((run_copy / "checkpoints").iterdir())
    data = make_data(tmp_path / "bad")
    assert fit.main(["--out", str(run_copy), "--epochs", "3", "--data", str(data)]) == 2
    error = capsys.readouterr().err.strip()
    assert error.startswith("error: ") and error.count("\n") == 0 and message in error
    assert sorted((run_copy / "checkpoints").iterdir()) == checkpoints
    assert len(history(run_copy)) == 2


@pytest.mark.parametrize(
    "flags",
    [["--epochs", "0"], ["--epochs", "many"], ["--image-size", "48"], ["--lr", "-1"], ["--beta1", "1.5"], ["--nope"],
     ["--lr-decay", "1.5"]],
)
def test_nonsense_flags_are_rejected_before_training(flags, capsys):
    with pytest.raises(SystemExit) as exit_info:
        fit.main(flags)
    assert exit_info.value.code == 2
    assert "error:" in capsys.readouterr().err


def test_help_explains_every_flag(capsys):
    with pytest.raises(SystemExit):
        fit.main(["--help"])
    assert "--eval-every" in capsys.readouterr().out
    for action in fit.build_parser()._actions:
        if action.option_strings and action.dest != "help":
            assert action.help and len(action.help) > 10, f"{action.option_strings[0]} has no help text"


def test_progress_gif_of_a_long_run_keeps_evenly_spaced_frames_with_the_latest():
    from anime_dcgan.outputs import frame_epochs

    assert frame_epochs(3, 40) == [1, 2, 3]
    many = frame_epochs(200, 40)
    assert 30 <= len(many) <= 40 and many[0] == 1 and many[-1] == 200
    assert max(b - a for a, b in zip(many, many[1:])) <= 6
    # From one epoch to the next the frames mostly stay: 300 epochs need few more frames made than epochs.
    made, kept = 0, set()
    for last in range(1, 301):
        frames = set(frame_epochs(last, 40))
        made, kept = made + len(frames - kept), frames
    assert made < 2 * 300


def test_kaggle_data_without_credentials_is_a_one_line_error(tmp_path, monkeypatch, capsys):
    for name in ("KAGGLE_USERNAME", "KAGGLE_KEY"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("KAGGLE_CONFIG_DIR", str(tmp_path / "no-kaggle"))
    monkeypatch.chdir(tmp_path)
    assert fit.main(["--data", "kaggle", "--out", str(tmp_path / "run")]) == 2
    error = capsys.readouterr().err.strip()
    assert error.startswith("error: no Kaggle credentials") and "--data" in error and "\n" not in error
    assert not (tmp_path / "run").exists() and not (tmp_path / "data").exists()


def test_options_changed_on_resume_take_effect_and_are_reported(run_copy, built, capsys, monkeypatch):
    flags = ["--lr", "1e-4", "--g-lr", "5e-5", "--beta1", "0.3", "--beta2", "0.95", "--d-threshold", "0.05",
             "--g-threshold", "0.01", "--gamma", "0.2", "--r1-every", "4", "--batch-size", "8", "--d-steps", "2",
             "--mirror"]  # fmt: skip
    streams = []
    monkeypatch.setattr("anime_dcgan.data.mirrored", lambda *args: streams.append(args) or mirrored(*args))
    assert fit.main(["--out", str(run_copy), "--epochs", "3", *flags]) == 0
    assert len(streams) == 1  # epoch 3's faces came flipped at random
    gan = built[-1]  # read back from the model that trained epoch 3, after its checkpoint was restored
    assert float(gan.d_optimizer.learning_rate) == pytest.approx(1e-4)
    assert float(gan.g_optimizer.learning_rate) == pytest.approx(5e-5)
    assert (gan.d_optimizer.beta_1, gan.g_optimizer.beta_2) == (0.3, 0.95)
    assert (gan.d_threshold, gan.g_threshold, gan.d_steps) == (0.05, 0.01, 2)
    assert [(penalty.gamma, penalty.every) for penalty in gan.gan_loss.penalties] == [(0.2, 4), (0.2, 4)]  # R1, R2
    assert int(gan.d_optimizer.iterations) > int(gan.g_optimizer.iterations)  # 2 D steps per G step in epoch 3
    out = capsys.readouterr().out
    changed = next(line for line in out.splitlines() if line.startswith("Changed on resume"))
    for text in ("--lr 0.0004 -> 0.0001", "--g-lr None -> 5e-05", "--batch-size 16 -> 8", "--d-steps 1 -> 2", "--gamma 0.1 -> 0.2",
                 "--mirror False -> True"):
        assert text in changed
    saved = TrainConfig.load(run_copy / "config.json")
    assert (saved.lr, saved.g_lr, saved.batch_size) == (1e-4, 5e-5, 8)


def test_lr_decay_on_resume_lowers_the_rates_over_the_last_epochs_and_logs_them(run_copy, built):
    assert fit.main(["--out", str(run_copy), "--epochs", "4", "--lr-decay", "0.5"]) == 0
    rows = history(run_copy)
    assert [row["g_lr"] for row in rows] == ["", "", "0.0004", "0.0002"]  # epochs 1-2 trained before the decay was on
    assert float(built[-1].d_optimizer.learning_rate) == pytest.approx(2e-4)  # epoch 4 of 4: half of 4e-4
    assert float(built[-1].g_optimizer.learning_rate) == pytest.approx(2e-4)
    assert TrainConfig.load(run_copy / "config.json").lr_decay == 0.5


def test_a_run_moved_to_a_machine_without_its_data_says_so_and_keeps_its_files(run_copy, capsys):
    saved = json.loads((run_copy / "config.json").read_text())
    saved["data"] = str(run_copy.parent / "faces-on-another-machine")
    (run_copy / "config.json").write_text(json.dumps(saved))
    before = sorted(p.relative_to(run_copy) for p in run_copy.rglob("*"))
    assert fit.main(["--out", str(run_copy), "--epochs", "3"]) == 2
    error = capsys.readouterr().err.strip()
    assert error.count("\n") == 0
    assert "faces-on-another-machine, which is not on this machine: pass --data" in error
    assert sorted(p.relative_to(run_copy) for p in run_copy.rglob("*")) == before


def test_a_blow_up_stops_the_run_in_that_step_and_keeps_the_last_good_checkpoint(run_copy, capsys, request):
    generator_before = (run_copy / "generator.keras").read_bytes()
    last_good, _, _ = restored(run_copy)
    assert fit.main(["--out", str(run_copy), "--epochs", "4", "--lr", "1e30"]) == 2
    error = capsys.readouterr().err.strip()
    assert error.count("\n") == 0
    assert re.search(r"error: a loss or gradient became NaN or Inf at epoch 3, step \d+; .* lower --lr", error)
    assert [int(row["epoch"]) for row in history(run_copy)] == [1, 2]
    assert (run_copy / "generator.keras").read_bytes() == generator_before
    # A resume starts from the last good checkpoint, all of it as it was before the blow-up.
    resumed = resumed_as_trained(request, ["--out", str(run_copy), "--epochs", "3", "--lr", "4e-4"], last_good)
    assert resumed.epoch == 2


def test_with_skip_the_run_drops_non_finite_updates_counts_them_and_goes_on(run_copy):
    assert fit.main(["--out", str(run_copy), "--epochs", "3", "--lr", "1e30", "--on-nonfinite", "skip"]) == 0
    last = history(run_copy)[-1]
    assert float(last["nonfinite"]) > 0 and int(last["epoch"]) == 3
    weights = load_generator(run_copy).get_weights()
    assert all(np.all(np.isfinite(w)) for w in weights)


def test_a_second_fit_on_a_run_being_trained_is_refused_and_touches_nothing(run_copy, capsys):
    (run_copy / "run.lock").write_text(json.dumps({"pid": os.getpid(), "host": socket.gethostname()}))  # alive
    before = {p: p.read_bytes() for p in run_copy.rglob("*") if p.is_file()}
    assert fit.main(["--out", str(run_copy), "--epochs", "3"]) == 2
    error = capsys.readouterr().err.strip()
    assert error.count("\n") == 0 and f"is being trained by process {os.getpid()}" in error and "another --out" in error
    assert {p: p.read_bytes() for p in run_copy.rglob("*") if p.is_file()} == before


def locks_while_training(monkeypatch, run: Path) -> list[dict]:
    """What run.lock holds each time training starts, in place of the training (the lock is the subject)."""
    seen = []

    def record(self, until, callbacks):
        seen.append(json.loads((run / "run.lock").read_text()))

    monkeypatch.setattr(training.Run, "fit_epochs", record)
    return seen


def test_a_stale_lock_of_a_killed_run_is_taken_over_and_released_at_the_end(run_copy, monkeypatch, capsys):
    finished = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True, text=True)
    dead_pid = int(finished.stdout)
    (run_copy / "run.lock").write_text(json.dumps({"pid": dead_pid, "host": socket.gethostname()}))
    seen = locks_while_training(monkeypatch, run_copy)
    assert fit.main(["--out", str(run_copy), "--epochs", "3"]) == 0
    assert f"from process {dead_pid}, which is no longer running" in capsys.readouterr().out
    assert seen == [{"pid": os.getpid(), "host": socket.gethostname()}]
    assert not (run_copy / "run.lock").exists()


def test_the_lock_is_held_while_training_and_released_after(run_copy, monkeypatch):
    seen = locks_while_training(monkeypatch, run_copy)
    assert fit.main(["--out", str(run_copy), "--epochs", "3"]) == 0
    assert seen == [{"pid": os.getpid(), "host": socket.gethostname()}]
    assert not (run_copy / "run.lock").exists()


def test_an_unreadable_newest_checkpoint_falls_back_to_the_one_before(run_copy, capsys):
    newest = run_copy / "checkpoints" / "ckpt-2.data-00000-of-00001"
    newest.write_bytes(newest.read_bytes()[: newest.stat().st_size // 3])  # truncated, as by a half-finished sync
    gan, _, epoch = restored(run_copy)
    assert epoch == 1
    out = capsys.readouterr().out
    assert "cannot read checkpoint" in out and "ckpt-2" in out and "falling back to" in out and "ckpt-1" in out
    assert fit.main(["--out", str(run_copy), "--epochs", "3"]) == 0
    assert [int(row["epoch"]) for row in history(run_copy)] == [1, 2, 3]  # epoch 2 trained again, listed once


def test_an_out_that_cannot_be_written_is_refused_before_training(tmp_path, faces, capsys):
    blocker = tmp_path / "a-file"
    blocker.write_text("not a folder")
    assert fit.main(["--data", str(faces), "--out", str(blocker / "run"), *TINY_FLAGS, "--epochs", "1"]) == 2
    error = capsys.readouterr().err.strip()
    assert error.count("\n") == 0 and "cannot write the run folder" in error and "--out you can write to" in error


def test_a_full_disk_mid_run_stops_with_one_line_and_keeps_the_last_epochs_files(run_copy, monkeypatch, capsys):
    from anime_dcgan import outputs

    kept = {p: p.read_bytes() for p in run_copy.rglob("*") if p.is_file() and "logs" not in p.parts}

    def full_disk(rows, path):
        raise OSError(errno.ENOSPC, "No space left on device", str(path))

    monkeypatch.setattr(outputs, "write_history", full_disk)
    assert fit.main(["--out", str(run_copy), "--epochs", "3"]) == 2
    error = capsys.readouterr().err.strip()
    assert error.count("\n") == 0 and "No space left on device" in error and "run the same command to resume" in error
    for path, content in kept.items():
        if path.name not in ("config.json", "progress.gif"):  # rewritten before the failed write, whole
            assert path.read_bytes() == content, path
    assert gif_frames(run_copy) == 3  # epoch 3's frame made it in; the file is whole
    monkeypatch.undo()
    assert fit.main(["--out", str(run_copy), "--epochs", "3"]) == 0
    assert [int(row["epoch"]) for row in history(run_copy)] == [1, 2, 3]


@pytest.fixture(scope="module")
def deterministic_flags(tmp_path_factory) -> list[str]:
    """fit's flags for a deterministic 3-epoch tiny run of 10 steps an epoch (no --out)."""
    data = copy_faces(tmp_path_factory.mktemp("deterministic") / "faces", 160)
    return ["--data", str(data), *TINY_FLAGS, "--epochs", "3", "--deterministic", "--verbose", "0"]


@pytest.fixture(scope="module")
def uninterrupted_run(deterministic_flags, tmp_path_factory) -> Path:
    """The run of `deterministic_flags`, trained in one go in a process of its own. Read it; do not change it."""
    run = tmp_path_factory.mktemp("uninterrupted") / "run"
    subprocess.run([sys.executable, "-m", "anime_dcgan.fit", *deterministic_flags, "--out", str(run)], check=True,
                   capture_output=True, cwd=Path(__file__).resolve().parent.parent)  # fmt: skip
    return run


# Runs fit with a callback that sends this process `signum` at the end of G's update number `at`.
SIGNAL_AT_STEP = """
import os, signal, sys
import keras
from anime_dcgan import training
from anime_dcgan.commands import fit

signum, at = int(sys.argv[1]), int(sys.argv[2])

class SignalAt(keras.callbacks.Callback):
    def on_train_batch_end(self, batch, logs=None):
        if int(self.model.g_optimizer.iterations) == at:
            os.kill(os.getpid(), signum)

make_callbacks = training.Run.make_callbacks
training.Run.make_callbacks = lambda self: [SignalAt(), *make_callbacks(self)]
sys.argv[1:] = sys.argv[3:]
sys.exit(fit.main())  # as the command runs it: the process is fit's
"""


def test_signals_mid_epoch_checkpoint_that_step_end_the_process_and_resume_bit_identical_to_an_uninterrupted_run(
    deterministic_flags, uninterrupted_run, tmp_path
):
    flags = deterministic_flags  # 10 steps an epoch, 3 epochs
    repo = Path(__file__).resolve().parent.parent
    run = tmp_path / "run"
    # A teardown as slow as the one TensorFlow's threads can cause: a minute of work at exit. The stop ends the
    # process without it, within seconds of the resume line.
    site = tmp_path / "site"
    site.mkdir()
    (site / "sitecustomize.py").write_text("import atexit, time\natexit.register(time.sleep, 60)\n")

    def stopped_by(signum: signal.Signals, at: int) -> subprocess.CompletedProcess:
        command = [sys.executable, "-u", "-c", SIGNAL_AT_STEP, str(int(signum)), str(at), *flags, "--out", str(run)]
        process = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, cwd=repo,
                                   env={**os.environ, "PYTHONPATH": str(site)})  # fmt: skip
        try:
            out, said = "", None
            for line in process.stdout:
                out += line
                if line.startswith("Interrupted: run the same command"):
                    said = time.monotonic()
                    break
            returncode = process.wait(timeout=30)
            assert said is not None, out
            assert time.monotonic() - said < 5, "the process outlived its resume line"
            return subprocess.CompletedProcess(command, returncode, out + process.stdout.read())
        finally:
            process.kill()

    stopped = stopped_by(signal.SIGTERM, 14)
    assert stopped.returncode == 130, stopped.stdout
    assert "stopping after this step" in stopped.stdout
    assert f"Interrupted: run the same command with --out {run} to resume from step 4 of epoch 2." in stopped.stdout
    assert not (run / "run.lock").exists()
    assert [int(row["epoch"]) for row in history(run)] == [1]
    gan, _, (epoch, step) = restored(run, with_step=True)
    assert (epoch, step, int(gan.g_optimizer.iterations)) == (1, 4, 14)

    # Stopped again, by Ctrl+C this time, within the resumed epoch, before the end of it.
    again = stopped_by(signal.SIGINT, 17)
    assert again.returncode == 130, again.stdout
    assert "stopping after this step" in again.stdout
    assert f"Resuming {run} at step 4 of 10 in epoch 2" in again.stdout
    assert "to resume from step 7 of epoch 2." in again.stdout
    gan, _, (epoch, step) = restored(run, with_step=True)
    assert (epoch, step, int(gan.g_optimizer.iterations)) == (1, 7, 17)
    resumed = subprocess.run([sys.executable, "-m", "anime_dcgan.fit", *flags, "--out", str(run)],
                             capture_output=True, text=True, cwd=repo)  # fmt: skip
    assert resumed.returncode == 0, resumed.stderr
    assert f"Resuming {run} at step 7 of 10 in epoch 2" in resumed.stdout
    assert [int(row["epoch"]) for row in history(run)] == [1, 2, 3]
    gan, _, epoch = restored(run)
    assert (epoch, int(gan.g_optimizer.iterations), int(gan.d_optimizer.iterations)) == (3, 30, 30)
    # The same run without the stops, trained in another process: with --deterministic, bit-identical weights and
    # the same history (the resumed epoch's means include the steps done before the stops).
    mine, whole = (load_generator(each).get_weights() for each in (run, uninterrupted_run))
    assert len(mine) == len(whole)
    for a, b in zip(mine, whole):
        np.testing.assert_array_equal(a, b)
    for row, row_whole in zip(history(run), history(uninterrupted_run)):
        assert row.keys() == row_whole.keys()
        for name in row:
            assert float(row[name]) == pytest.approx(float(row_whole[name]), rel=1e-5), name


def test_a_run_killed_mid_training_resumes_mid_epoch_with_checkpoint_every_and_loses_nothing(tmp_path, capsys):
    data = copy_faces(tmp_path / "faces", 160)  # 10 steps an epoch
    run = tmp_path / "run"
    flags = ["--data", str(data), "--out", str(run), *TINY_FLAGS, "--checkpoint-every", "0.0001"]
    process = subprocess.Popen([sys.executable, "-m", "anime_dcgan.fit", *flags, "--epochs", "1000"],
                               stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)  # fmt: skip
    deadline = time.monotonic() + 120
    state = run / "checkpoints" / "checkpoint"  # names the newest epoch checkpoint once it is complete
    while time.monotonic() < deadline and not (state.exists() and '"ckpt-1"' in state.read_text()):
        time.sleep(0.05)
    process.send_signal(signal.SIGKILL)  # no handler runs: whatever was on disk is what there is
    process.wait()
    gan, _, (done, step) = restored(run, with_step=True)
    assert 1 <= done < 1000 and int(gan.g_optimizer.iterations) == 10 * done + step
    capsys.readouterr()
    assert fit.main([*flags, "--epochs", str(done + 1)]) == 0  # resumed here: what was on disk is all it has
    said = capsys.readouterr().out
    assert f"Resuming {run} " in said
    assert f"after epoch {done}" in said or f"at step {step} of 10 in epoch {done + 1}" in said
    assert [int(row["epoch"]) for row in history(run)] == list(range(1, done + 2))
    assert gif_frames(run) == done + 1
    assert len(list((run / "samples").glob("epoch_*.png"))) == done + 1
    gan, _, epoch = restored(run)
    assert (epoch, int(gan.g_optimizer.iterations)) == (done + 1, 10 * (done + 1))
    assert not (run / "run.lock").exists()


def test_an_unreadable_mid_epoch_checkpoint_falls_back_to_the_epoch_before(run_copy, capsys):
    gan, noise, _ = restored(run_copy)
    checkpoint = TrainingCheckpoint(run_copy / "checkpoints", gan, noise, run_copy / "unused.keras")
    checkpoint.save_mid_epoch(2, 1)
    _, _, (epoch, step) = restored(run_copy, with_step=True)
    assert (epoch, step) == (2, 1)
    for path in (run_copy / "checkpoints" / "mid-epoch").glob("*.data-*"):
        path.write_bytes(path.read_bytes()[: path.stat().st_size // 3])
    capsys.readouterr()
    _, _, (epoch, step) = restored(run_copy, with_step=True)
    assert (epoch, step) == (2, 0)
    out = capsys.readouterr().out
    assert "cannot read checkpoint" in out and "mid-epoch" in out and "falling back to" in out and "ckpt-2" in out


def test_a_signal_before_training_starts_stops_at_once(run_copy, monkeypatch, capsys):
    def interrupted(*args, **kwargs):
        raise KeyboardInterrupt  # as SIGTERM raises it while the data is read (fit's handler)

    monkeypatch.setattr(training.data, "load_images", interrupted)
    assert fit.main(["--out", str(run_copy), "--epochs", "3"]) == 130
    assert f"--out {run_copy} to resume from the last checkpoint." in capsys.readouterr().out

"""Callbacks on their own: history, the GIF's frames, the best FID, the non-finite guard and the learning rates."""

import keras
import numpy as np
import pytest
from PIL import Image

from anime_dcgan import callbacks, outputs
from anime_dcgan.images import save_png


def test_history_log_drops_rows_of_epochs_that_never_reached_a_checkpoint(tmp_path):
    csv_path, plot_path = tmp_path / "history.csv", tmp_path / "losses.png"
    log = outputs.HistoryLog(csv_path, plot_path)
    for epoch in range(3):
        log.on_epoch_end(epoch, {"d_loss": 1.0 + epoch, "g_loss": 2.0})
    resumed = outputs.HistoryLog(csv_path, plot_path, initial_epoch=2)  # epoch 3 ended after the last checkpoint
    resumed.on_epoch_end(2, {"d_loss": 9.0, "g_loss": 2.0, "fid": 300.0})
    rows = outputs.read_history(csv_path)
    assert [(row["epoch"], row["d_loss"]) for row in rows] == [("1", "1.0"), ("2", "2.0"), ("3", "9.0")]
    assert rows[0]["fid"] == "" and rows[2]["fid"] == "300.0"  # a column that appears later is added to the file
    assert Image.open(plot_path).size[0] > 0


@pytest.mark.parametrize("last, most, expected", [(3, 40, [1, 2, 3]), (100, 5, [1, 26, 51, 76, 100]), (1, 40, [1])])
def test_gif_frames_spread_evenly_from_first_to_latest_epoch(last, most, expected):
    assert outputs.frame_epochs(last, most) == expected


def test_progress_gif_labels_one_frame_per_grid_on_disk(tmp_path):
    for epoch in (1, 2):
        save_png(np.full((20, 20, 3), 40 * epoch, np.uint8), outputs.sample_path(tmp_path, epoch))
    outputs.ProgressGif(tmp_path, tmp_path / "progress.gif").on_epoch_end(2)
    frames = [np.asarray(frame.convert("RGB")) for frame in _frames(tmp_path / "progress.gif")]
    assert len(frames) == 2 and frames[0].shape[0] > 20  # the grid under a label strip
    assert not np.array_equal(frames[0], frames[1])


def test_progress_gif_makes_each_frame_once_and_again_when_its_grid_is_rewritten(tmp_path, monkeypatch):
    made = []
    palette_frame = outputs.palette_frame
    monkeypatch.setattr(outputs, "palette_frame", lambda path, epoch: made.append(epoch) or palette_frame(path, epoch))
    gif = outputs.ProgressGif(tmp_path, tmp_path / "progress.gif")
    for epoch in (1, 2, 3):
        save_png(np.full((20, 20, 3), 40 * epoch, np.uint8), outputs.sample_path(tmp_path, epoch))
        gif.on_epoch_end(epoch - 1)
    assert made == [1, 2, 3] and len(list(_frames(tmp_path / "progress.gif"))) == 3
    # A resumed run that redraws epoch 3 (after a crash before its checkpoint) gets the new grid in its GIF.
    save_png(np.full((20, 20, 3), 250, np.uint8), outputs.sample_path(tmp_path, 3))
    gif.on_epoch_end(2)
    assert made == [1, 2, 3, 3]
    last = np.asarray(list(_frames(tmp_path / "progress.gif"))[-1].convert("RGB"))
    assert abs(int(last[-1, -1, 0]) - 250) <= 2  # a pixel of the grid, below the label


def _frames(path):
    image = Image.open(path)
    for index in range(image.n_frames):
        image.seek(index)
        yield image.copy()


def test_best_fid_ignores_epochs_without_a_measurement():
    rows = [{"fid": ""}, {"fid": "320.5"}, {}, {"fid": "301.25"}, {"fid": "310"}]
    assert outputs.best_fid(rows) == 301.25
    assert outputs.best_fid([{"fid": ""}]) == float("inf")


def test_non_finite_guard_stops_at_the_first_dropped_update_naming_epoch_and_step():
    guard = callbacks.NonFiniteGuard(stop=True, hint="Try a lower --lr.")
    guard.on_epoch_begin(4)
    guard.on_train_batch_end(0, {"nonfinite": 0.0})
    with pytest.raises(callbacks.NonFiniteError, match=r"at epoch 5, step 2; .* epoch 5 was saved\. Try a lower --lr\."):
        guard.on_train_batch_end(1, {"nonfinite": 1.0})
    going_on = callbacks.NonFiniteGuard(stop=False)
    going_on.on_epoch_begin(0)
    going_on.on_train_batch_end(0, {"nonfinite": 3.0})  # skip: no error


def test_learning_rates_hold_then_fall_linearly_over_the_decaying_epochs_and_are_logged():
    class TwoOptimizers:
        d_optimizer = keras.optimizers.Adam(1.0)
        g_optimizer = keras.optimizers.Adam(1.0)

    decay = callbacks.LearningRateDecay(d_rate=4e-4, g_rate=2e-4, epochs=6, decay_epochs=4)
    decay.set_model(TwoOptimizers())
    g_rates, logged = [], []
    for epoch in range(6):
        decay.on_epoch_begin(epoch)
        g_rates.append(float(TwoOptimizers.g_optimizer.learning_rate))
        assert float(TwoOptimizers.d_optimizer.learning_rate) == pytest.approx(2 * g_rates[-1])
        logs = {"d_loss": 1.0}
        decay.on_epoch_end(epoch, logs)
        logged.append(logs)
    assert g_rates == pytest.approx([2e-4, 2e-4, 2e-4, 1.5e-4, 1e-4, 0.5e-4])
    assert [logs["g_lr"] for logs in logged] == pytest.approx(g_rates)
    assert logged[-1]["d_lr"] == pytest.approx(1e-4) and logged[-1]["d_loss"] == 1.0

"""Keras callbacks that write a run's outputs every epoch: sample grids, a progress GIF, history and checkpoints."""

from __future__ import annotations

import contextlib
import csv
import os
import signal
import threading
import time
from pathlib import Path

import keras
import numpy as np
import tensorflow as tf
from matplotlib.figure import Figure  # drawn straight to a file: no pyplot, so notebooks keep their backend
from matplotlib.ticker import MaxNLocator
from PIL import Image, ImageDraw, ImageFont

from anime_dcgan import metrics, models
from anime_dcgan.images import make_grid, save_png, to_uint8


def sample_path(samples_dir: Path, epoch: int) -> Path:
    """Where the grid of 1-based `epoch` is saved."""
    return samples_dir / f"epoch_{epoch:04d}.png"


def _replace_atomically(path: Path, write) -> None:
    """Call write(tmp_path), then move the result over `path`, so a killed run never leaves half a file."""
    tmp = path.with_name(f".{path.stem}.tmp{path.suffix}")
    write(tmp)
    os.replace(tmp, path)


class StandingStatistics(keras.callbacks.Callback):
    """After every epoch, before anything samples it, give the averaged generator fresh BatchNorm statistics from
    `batches` batches of noise (each costs a generator forward pass an epoch; how many are enough: docs/results.md).
    """

    def __init__(self, batch_size: int, batches: int = 4):
        super().__init__()
        self.batch_size = batch_size
        self.batches = batches

    def on_epoch_end(self, epoch: int, logs=None) -> None:
        self.model.update_standing_statistics(self.batches, self.batch_size)


class LearningRateDecay(keras.callbacks.Callback):
    """Decay both networks' learning rates linearly over the last `decay_epochs` of a run of `epochs`.

    Epoch e (0-based) trains at rate x min(1, (epochs - e) / decay_epochs): full rate until the decay starts, then
    one step lower each epoch, down to rate / decay_epochs in the last. The rate depends only on the epoch, so a
    resumed run (even one resumed mid-epoch) trains at the rates an uninterrupted one would. Must come before the
    callbacks that write the epoch's logs.
    """

    def __init__(self, d_rate: float, g_rate: float, epochs: int, decay_epochs: int):
        super().__init__()
        self.rates = {"d_optimizer": d_rate, "g_optimizer": g_rate}
        self.epochs = epochs
        self.decay_epochs = decay_epochs

    def factor(self, epoch: int) -> float:
        return min(1.0, (self.epochs - epoch) / self.decay_epochs) if self.decay_epochs else 1.0

    def on_epoch_begin(self, epoch: int, logs=None) -> None:
        for name, rate in self.rates.items():
            getattr(self.model, name).learning_rate = rate * self.factor(epoch)

    def on_epoch_end(self, epoch: int, logs=None) -> None:
        """Record the epoch's rates as `d_lr` and `g_lr` for the callbacks after this one (history.csv, TensorBoard)."""
        if logs is not None:
            logs.update({name[0] + "_lr": rate * self.factor(epoch) for name, rate in self.rates.items()})


class SampleGrid(keras.callbacks.Callback):
    """After every epoch, draw the generator's faces for one fixed noise batch as samples/epoch_NNNN.png."""

    def __init__(self, samples_dir: str | Path, noise: tf.Variable, columns: int = 8):
        super().__init__()
        self.samples_dir = Path(samples_dir)
        self.noise = noise
        self.columns = columns

    def on_epoch_end(self, epoch: int, logs=None) -> None:
        faces = to_uint8(self.model.sampler(self.noise, training=False))
        grid = make_grid(faces, self.columns)
        self.samples_dir.mkdir(parents=True, exist_ok=True)
        _replace_atomically(sample_path(self.samples_dir, epoch + 1), lambda tmp: save_png(grid, tmp))


class ProgressGif(keras.callbacks.Callback):
    """After every epoch, rebuild a GIF of the sample grids so far, each frame labelled with its epoch.

    Long runs keep at most `max_frames` frames, evenly spaced from the first epoch, and the latest. Each grid is
    labelled and reduced to a 256-colour palette once (again only if its file changes), so an epoch's rebuild is
    one write of frames already made.
    """

    def __init__(self, samples_dir: str | Path, gif_path: str | Path, frame_ms: int = 200, max_frames: int = 40):
        super().__init__()
        self.samples_dir = Path(samples_dir)
        self.gif_path = Path(gif_path)
        self.frame_ms = frame_ms
        self.max_frames = max_frames
        self.frames: dict[tuple, Image.Image] = {}  # (epoch, file's mtime and size) -> palette frame

    def on_epoch_end(self, epoch: int, logs=None) -> None:
        grids = {e: sample_path(self.samples_dir, e) for e in frame_epochs(epoch + 1, self.max_frames)}
        keys = [(e, stat.st_mtime_ns, stat.st_size) for e, path in grids.items() if path.exists()
                for stat in [path.stat()]]  # fmt: skip
        self.frames = {key: self.frames.get(key) or palette_frame(grids[key[0]], key[0]) for key in keys}
        frames = list(self.frames.values())
        if frames:
            _replace_atomically(
                self.gif_path,
                lambda tmp: frames[0].save(tmp, format="GIF", save_all=True, append_images=frames[1:],
                                           duration=self.frame_ms, loop=0),  # fmt: skip
            )


def palette_frame(grid_path: Path, epoch: int) -> Image.Image:
    """`labelled_frame` in a 256-colour palette, as a GIF stores it."""
    return Image.fromarray(labelled_frame(grid_path, epoch)).quantize(256)


def frame_epochs(last_epoch: int, max_frames: int) -> list[int]:
    """Up to `max_frames` (at least 2) epochs from 1 to `last_epoch`: every stride-th from the first, with the
    smallest stride that fits, and the latest. The choice changes little from one epoch to the next (only when the
    stride grows), so a frame is rarely made twice."""
    stride = 1
    while len(range(1, last_epoch + 1, stride)) + ((last_epoch - 1) % stride != 0) > max_frames:
        stride += 1
    return sorted(set(range(1, last_epoch + 1, stride)) | {last_epoch})


def labelled_frame(grid_path: Path, epoch: int) -> np.ndarray:
    """The grid at `grid_path` under a white strip that reads 'epoch N'."""
    grid = Image.open(grid_path).convert("RGB")
    strip = 20
    frame = Image.new("RGB", (grid.width, grid.height + strip), "white")
    frame.paste(grid, (0, strip))
    ImageDraw.Draw(frame).text((4, 3), f"epoch {epoch}", fill="black", font=ImageFont.load_default(size=14))
    return np.asarray(frame)


class NonFiniteError(RuntimeError):
    """Training met a NaN or Inf; the message names where and what to try."""


class NonFiniteGuard(keras.callbacks.Callback):
    """Stop the run at the first update the GAN dropped for a NaN or Inf (its `nonfinite` count), before anything of
    that epoch is written, so the newest checkpoint stays the last good one. With `stop=False` the run goes on and
    history.csv counts the dropped updates."""

    def __init__(self, stop: bool = True, hint: str = ""):
        super().__init__()
        self.stop = stop
        self.hint = hint
        self.epoch = 0

    def on_epoch_begin(self, epoch: int, logs=None) -> None:
        self.epoch = epoch

    def on_train_batch_end(self, batch: int, logs=None) -> None:
        if self.stop and float((logs or {}).get("nonfinite", 0.0)) > 0:
            raise NonFiniteError(
                f"a loss or gradient became NaN or Inf at epoch {self.epoch + 1}, step {batch + 1}; that update was "
                f"dropped and nothing of epoch {self.epoch + 1} was saved. {self.hint}"
            )


class HistoryLog(keras.callbacks.Callback):
    """Keep history.csv (1-based `epoch` column plus every metric) and its plot losses.png up to date.

    On resume, rows after `initial_epoch` (from an epoch that ended after its last checkpoint) are dropped.
    """

    def __init__(self, csv_path: str | Path, plot_path: str | Path, initial_epoch: int = 0):
        super().__init__()
        self.csv_path = Path(csv_path)
        self.plot_path = Path(plot_path)
        self.rows = [row for row in read_history(self.csv_path) if int(row["epoch"]) <= initial_epoch]

    def on_epoch_end(self, epoch: int, logs=None) -> None:
        self.rows.append({"epoch": epoch + 1, **{k: float(v) for k, v in (logs or {}).items()}})
        _replace_atomically(self.csv_path, lambda tmp: write_history(self.rows, tmp))
        _replace_atomically(self.plot_path, lambda tmp: plot_history(self.rows, tmp))


def read_history(path: Path) -> list[dict]:
    """Rows of a history.csv, or none if it does not exist yet."""
    if not path.exists():
        return []
    with path.open(newline="") as f:
        return list(csv.DictReader(f))


def write_history(rows: list[dict], path: Path) -> None:
    columns = list(dict.fromkeys(key for row in rows for key in row))  # every column seen, first-seen order
    with path.open("w", newline="") as f:
        writer = csv.DictWriter(f, fieldnames=columns)
        writer.writeheader()
        writer.writerows(rows)


def plot_history(rows: list[dict], path: Path) -> None:
    """Losses on the left; the discriminator's mean output on real and generated faces in the middle; FID on the
    right, if the run measures it.

    The outputs are probabilities for bce and minimax, and raw scores for the other losses.
    """
    epochs = [int(row["epoch"]) for row in rows]

    def series(name: str) -> list[float]:
        return [float(row.get(name) or "nan") for row in rows]

    measured = [(epoch, fid) for epoch, fid in zip(epochs, series("fid")) if fid == fid]
    fig = Figure(figsize=(16 if measured else 11, 4))
    axes = fig.subplots(1, 3 if measured else 2)
    loss_ax, prob_ax = axes[:2]
    for name, label in [("d_loss", "discriminator"), ("g_loss", "generator")]:
        loss_ax.plot(epochs, series(name), marker=".", label=label)
    loss_ax.set(title="Losses", xlabel="epoch", ylabel="loss")
    for name, label in [("d_real", "D(x), real"), ("d_fake", "D(G(z)), generated")]:
        prob_ax.plot(epochs, series(name), marker=".", label=label)
    prob_ax.set(title="Discriminator output", xlabel="epoch", ylabel="mean D output")
    if measured:
        axes[2].plot(*zip(*measured), marker="o", color="tab:green", label="FID")
        axes[2].set(title="FID against real faces (lower is better)", xlabel="epoch", ylabel="FID")
    for ax in axes:
        ax.xaxis.set_major_locator(MaxNLocator(integer=True))
        ax.grid(alpha=0.3)
        ax.legend()
    fig.tight_layout()
    fig.savefig(path, dpi=100, format="png")


class QualityEvaluation(keras.callbacks.Callback):
    """Every `every` epochs, FID and KID of `n` faces from the model's sampler against `real_features`.

    The scores join the epoch's logs (so history.csv, losses.png and the progress line show them), and the
    generator with the lowest FID so far is saved as `best_path`. `best_fid` is the best of earlier epochs on resume.
    """

    def __init__(self, inception: keras.Model, real_features: np.ndarray, every: int, n: int, best_path: str | Path,
                 best_fid: float = float("inf"), seed: int = 0):  # fmt: skip
        super().__init__()
        self.inception = inception
        self.real_features = real_features
        self.every = every
        self.n = n
        self.best_path = Path(best_path)
        self.best_fid = best_fid
        self.seed = seed

    def on_epoch_end(self, epoch: int, logs=None) -> None:
        if (epoch + 1) % self.every:
            return
        fake_features = metrics.generator_features(self.inception, self.model.sampler, self.n, self.seed)
        scores = metrics.fid_kid(self.real_features, fake_features)
        if logs is not None:
            logs.update(scores)
        if scores["fid"] < self.best_fid:
            self.best_fid = scores["fid"]
            _replace_atomically(self.best_path, lambda tmp: models.portable(self.model.sampler).save(tmp))


def best_fid(rows: list[dict]) -> float:
    """The lowest FID in history rows, or infinity if none was measured."""
    return min((float(row["fid"]) for row in rows if row.get("fid")), default=float("inf"))


class TrainingCheckpoint(keras.callbacks.Callback):
    """After every epoch, checkpoint G, D, both optimizers, G's weight average (if any), the fixed noise and the
    epoch; keep the last few. Within an epoch, `save_mid_epoch` writes the same state plus the steps done and the
    epoch's running metrics to `directory/mid-epoch` (the latest one only).

    The generator that samples (the average, if any) is also saved as `generator_path` (a .keras file), so a run
    can be sampled at any time.
    """

    def __init__(self, directory: str | Path, gan, noise: tf.Variable, generator_path: str | Path, keep: int = 3):
        super().__init__()
        self.epoch = tf.Variable(0, dtype=tf.int64, trainable=False)  # epochs finished
        self.step = tf.Variable(0, dtype=tf.int64, trainable=False)  # steps done in the next one (mid-epoch only)
        self.generator_path = Path(generator_path)
        state = dict(
            generator=gan.generator,
            discriminator=gan.discriminator,
            g_optimizer=gan.g_optimizer,
            d_optimizer=gan.d_optimizer,
            seed_generator=gan.seed_generator.state,
            fixed_noise=noise,
            epoch=self.epoch,
            **({"ema_generator": gan.ema.model} if gan.ema else {}),
            **({"loss": [variable.value for variable in gan.gan_loss.variables]} if gan.gan_loss.variables else {}),
        )
        self.manager = tf.train.CheckpointManager(tf.train.Checkpoint(**state), str(directory), max_to_keep=keep)
        self.metric_variables = [variable.value for tracker in gan.metrics for variable in tracker.variables]
        mid_epoch = tf.train.Checkpoint(**state, step=self.step, metrics=self.metric_variables)
        self.mid_epoch = tf.train.CheckpointManager(mid_epoch, str(Path(directory) / "mid-epoch"), max_to_keep=1)
        self.resumed_metrics: list[np.ndarray] | None = None  # the running metrics of a part-done epoch

    def restore(self) -> tuple[int, int]:
        """Load the latest readable checkpoint, if any: (epochs finished, steps done in the next epoch), (0, 0) if none.

        A newest checkpoint that cannot be read (truncated, half-synced) is passed over for the one before, with a
        line naming both; if none can be read, the newest one's error is raised. A mid-epoch checkpoint taken after
        the epoch restored is taken in its place.
        """
        candidates = list(reversed(self.manager.checkpoints))
        for index, path in enumerate(candidates):
            try:
                self.manager.checkpoint.restore(path).assert_existing_objects_matched()
            except Exception as error:  # TensorFlow raises many types for a damaged file
                if index + 1 == len(candidates):
                    raise
                print(f"Warning: cannot read checkpoint {path} ({type(error).__name__}); "
                      f"falling back to {candidates[index + 1]}")  # fmt: skip
                continue
            break
        epoch = int(self.epoch.numpy())
        mid_epoch = self.mid_epoch.latest_checkpoint
        if mid_epoch and tf.train.load_variable(mid_epoch, "epoch/.ATTRIBUTES/VARIABLE_VALUE") >= epoch:
            try:
                self.mid_epoch.checkpoint.restore(mid_epoch).assert_existing_objects_matched()
            except Exception as error:
                if not candidates:
                    raise
                print(f"Warning: cannot read checkpoint {mid_epoch} ({type(error).__name__}); "
                      f"falling back to {path}")  # fmt: skip
                self.manager.checkpoint.restore(path)  # the epoch checkpoint read above, over anything half-restored
                return epoch, 0
            self.resumed_metrics = [variable.numpy() for variable in self.metric_variables]
            return int(self.epoch.numpy()), int(self.step.numpy())
        return epoch, 0

    def save_mid_epoch(self, epoch: int, step: int) -> None:
        """Checkpoint the state after `step` steps of (0-based) `epoch`."""
        self.epoch.assign(epoch)
        self.step.assign(step)
        self.mid_epoch.save()

    def on_epoch_begin(self, epoch: int, logs=None) -> None:
        if self.resumed_metrics is not None:  # Keras has just reset them: the epoch's running means go on
            for variable, value in zip(self.metric_variables, self.resumed_metrics):
                variable.assign(value)
            self.resumed_metrics = None

    def on_epoch_end(self, epoch: int, logs=None) -> None:
        self.epoch.assign(epoch + 1)
        _replace_atomically(self.generator_path, lambda tmp: models.portable(self.model.sampler).save(tmp))
        self.manager.save(checkpoint_number=epoch + 1)


class Interrupted(KeyboardInterrupt):
    """SIGINT or SIGTERM stopped training once the step under way was done and checkpointed; says where."""


class PreemptionCheckpoint(keras.callbacks.Callback):
    """Checkpoint within an epoch every `every_seconds` (0: never) and, after SIGINT or SIGTERM, at the end of the
    step under way, then stop the run by raising Interrupted. A second signal stops at once.

    Listed after TrainingCheckpoint: a signal in an epoch's last step stops the run once that epoch is saved.
    `first_step` is the number of steps of the first epoch done before this run resumed it.
    """

    def __init__(self, checkpoint: TrainingCheckpoint, steps_per_epoch: int, every_seconds: float, first_step: int = 0):
        super().__init__()
        self.checkpoint = checkpoint
        self.steps_per_epoch = steps_per_epoch
        self.every_seconds = every_seconds
        self.first_step = first_step
        self.epoch = 0
        self.stop_requested = False
        self.last_save = time.monotonic()

    @contextlib.contextmanager
    def catching_signals(self):
        """While in this block, SIGINT and SIGTERM ask for a checkpointed stop instead of interrupting (in the main
        thread, the only one Python gives signals to)."""
        if threading.current_thread() is not threading.main_thread():
            yield
            return
        previous = {signum: signal.signal(signum, self.request_stop) for signum in (signal.SIGINT, signal.SIGTERM)}
        try:
            yield
        finally:
            for signum, handler in previous.items():
                signal.signal(signum, handler)

    def request_stop(self, signum, frame) -> None:
        if self.stop_requested:
            raise KeyboardInterrupt
        self.stop_requested = True
        print(f"\n{signal.Signals(signum).name}: stopping after this step, once it is checkpointed "
              "(send it again to stop at once)", flush=True)  # fmt: skip

    def on_train_begin(self, logs=None) -> None:
        self.last_save = time.monotonic()

    def on_epoch_begin(self, epoch: int, logs=None) -> None:
        self.epoch = epoch

    def on_train_batch_end(self, batch: int, logs=None) -> None:
        step = self.first_step + batch + 1
        if step >= self.steps_per_epoch:
            return  # the epoch's end checkpoints in a moment, and on_epoch_end stops the run if asked to
        due = self.every_seconds and time.monotonic() - self.last_save >= self.every_seconds
        if self.stop_requested or due:
            self.checkpoint.save_mid_epoch(self.epoch, step)
            self.last_save = time.monotonic()
        if self.stop_requested:
            raise Interrupted(f"step {step} of epoch {self.epoch + 1}")

    def on_epoch_end(self, epoch: int, logs=None) -> None:
        self.first_step = 0
        self.last_save = time.monotonic()
        if self.stop_requested:
            raise Interrupted(f"the end of epoch {epoch + 1}")

"""Keras callbacks that write a run's outputs every epoch: the sample grid, the progress GIF, history.csv with its
plot, and FID/KID with best.keras."""

from __future__ import annotations

import csv
from pathlib import Path

import keras
import numpy as np
import tensorflow as tf
from matplotlib.figure import Figure  # drawn straight to a file: no pyplot, so notebooks keep their backend
from matplotlib.ticker import MaxNLocator
from PIL import Image, ImageDraw, ImageFont

from anime_dcgan import cpu_layers, metrics
from anime_dcgan.files import replace_atomically
from anime_dcgan.images import make_grid, save_png, to_uint8


def sample_path(samples_dir: Path, epoch: int) -> Path:
    """Where the grid of 1-based `epoch` is saved."""
    return samples_dir / f"epoch_{epoch:04d}.png"


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
        replace_atomically(sample_path(self.samples_dir, epoch + 1), lambda tmp: save_png(grid, tmp))


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
            replace_atomically(
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
        replace_atomically(self.csv_path, lambda tmp: write_history(self.rows, tmp))
        replace_atomically(self.plot_path, lambda tmp: plot_history(self.rows, tmp))


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
    fig.subplots_adjust(left=0.2 / len(axes), right=0.99, bottom=0.13, top=0.92, wspace=0.22)  # fixed: no layout pass
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
            replace_atomically(self.best_path, lambda tmp: cpu_layers.portable(self.model.sampler).save(tmp))


def best_fid(rows: list[dict]) -> float:
    """The lowest FID in history rows, or infinity if none was measured."""
    return min((float(row["fid"]) for row in rows if row.get("fid")), default=float("inf"))

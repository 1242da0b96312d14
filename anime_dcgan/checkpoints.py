"""Checkpointing a run: after every epoch, within an epoch on a clock, and on SIGINT/SIGTERM at the end of the step
under way, so that a stopped or killed run resumes where it was."""

from __future__ import annotations

import contextlib
import signal
import threading
import time
from pathlib import Path

import keras
import numpy as np
import tensorflow as tf

from anime_dcgan import cpu_layers
from anime_dcgan.files import replace_atomically


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
            **({"augment": [variable.value for variable in gan.augment.variables]} if gan.augment.variables else {}),
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
        replace_atomically(self.generator_path, lambda tmp: cpu_layers.portable(self.model.sampler).save(tmp))
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

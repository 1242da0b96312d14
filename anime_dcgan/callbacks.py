"""Keras callbacks that steer training: the weight average's BatchNorm statistics, learning-rate decay, and the
guard that stops a run whose updates turn NaN or Inf."""

from __future__ import annotations

import keras

from anime_dcgan.errors import UserError


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


class NonFiniteError(UserError, RuntimeError):
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

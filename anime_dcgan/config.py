"""The options of a training run: one dataclass, built once from the command line and saved with the run."""

from __future__ import annotations

import dataclasses
import json
from dataclasses import dataclass
from pathlib import Path

from anime_dcgan.data import BUNDLED_SAMPLE

CONFIG_FILE = "config.json"
# Options that fix the networks' shapes: a checkpoint only fits networks built with the same values.
MODEL_SHAPE_OPTIONS = ("image_size", "latent_dim", "width")


class ConfigError(ValueError):
    """The options contradict each other or the run being resumed; the message says what to do."""


@dataclass
class TrainConfig:
    """Everything that defines a training run. Defaults follow DCGAN (Radford et al. 2015)."""

    data: str = str(BUNDLED_SAMPLE)
    out: str = ""
    epochs: int = 25
    batch_size: int = 128
    image_size: int = 64
    latent_dim: int = 100
    width: int = 64
    lr: float = 2e-4
    beta1: float = 0.5
    seed: int = 0
    loss: str = "bce"

    def save(self, path: str | Path) -> None:
        Path(path).write_text(json.dumps(dataclasses.asdict(self), indent=2) + "\n")

    @classmethod
    def load(cls, path: str | Path) -> TrainConfig:
        try:
            saved = json.loads(Path(path).read_text())
        except (OSError, json.JSONDecodeError) as error:
            raise ConfigError(f"cannot read the run's options from {path}: {error}") from None
        known = {field.name for field in dataclasses.fields(cls)}
        return cls(**{key: value for key, value in saved.items() if key in known})


def resume_or_new(run_dir: str | Path, given: dict) -> TrainConfig:
    """Options for a run in `run_dir`: the saved ones if it exists, overridden by the flags in `given`.

    A flag that would change the networks' shapes of an existing run is refused.
    """
    if Path(run_dir).exists() and not Path(run_dir).is_dir():
        raise ConfigError(f"--out {run_dir} is a file: pass a folder for the run's outputs")
    saved_path = Path(run_dir) / CONFIG_FILE
    if not saved_path.exists():
        return dataclasses.replace(TrainConfig(), out=str(run_dir), **given)
    saved = TrainConfig.load(saved_path)
    for name in MODEL_SHAPE_OPTIONS:
        if name in given and given[name] != getattr(saved, name):
            flag = "--" + name.replace("_", "-")
            raise ConfigError(
                f"{run_dir} was trained with {flag} {getattr(saved, name)}, not {given[name]}: "
                f"drop {flag} to resume it, or pass a new --out to start another run"
            )
    return dataclasses.replace(saved, out=str(run_dir), **given)

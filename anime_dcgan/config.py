"""The options of a training run: one dataclass, built once from the command line and saved with the run."""

from __future__ import annotations

import dataclasses
import json
import math
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

CONFIG_FILE = "config.json"
IMAGE_EXTENSIONS = (".jpg", ".jpeg", ".png", ".bmp", ".gif", ".webp")
# The bundled faces: data/sample in a clone of the repository, anime_dcgan/sample in an installed package.
_CLONE_SAMPLE = Path(__file__).resolve().parent.parent / "data" / "sample"
BUNDLED_SAMPLE = _CLONE_SAMPLE if _CLONE_SAMPLE.is_dir() else Path(__file__).resolve().parent / "sample"

# The choices of the options, here so that the command line can be read without importing TensorFlow.
IMAGE_SIZES = (32, 64, 128)
GENERATOR_ACTIVATIONS = ("relu", "leaky_relu")
UPSAMPLINGS = ("transpose", "resize")
PRECISIONS = ("auto", "float32", "mixed_bfloat16", "mixed_float16")
# tf.distribute: "auto" takes a TPU when one is attached, every GPU when there are several, else one device.
STRATEGIES = ("auto", "default", "mirrored", "multi-worker", "tpu")
JIT_COMPILE = ("auto", "on", "off")  # XLA; "auto" is Keras's choice: on with a GPU, off on a CPU
NONFINITE_ACTIONS = ("stop", "skip")  # what a NaN/Inf in a step does to the run
POLICIES = ("color", "translation", "cutout")  # DiffAugment's transforms, in the order they are applied
# Options a checkpoint depends on: the networks' shapes (wgan-gp's critic has no BatchNorm) and the optimizer state.
RUN_FIXED_OPTIONS = ("image_size", "latent_dim", "width", "loss", "optimizer", "upsample", "spectral_norm", "ema",
                     "holdout", "precision")  # float16's loss scale is checkpointed with the optimizers
OPTIMIZERS = ("adam", "rmsprop", "sgd")


@dataclass(frozen=True)
class LossSpec:
    """Everything a GAN loss asks of a run besides its objective (which `losses.LOSSES` holds under the same name).

    The optimizer settings are what the loss's paper trained with; a flag given on the command line wins.
    """

    paper: str
    optimizer: str = "adam"
    lr: float = 2e-4
    beta1: float = 0.5
    beta2: float = 0.999
    d_steps: int = 1
    critic_normalization: str = "batch"  # D's normalisation layers (spectral norm replaces them)
    clips_weights: bool = False  # keep D's weights within +-clip after every update
    gradient_penalty: bool = False  # add gp_weight x WGAN-GP's penalty to D's loss
    smoothable: bool = False  # has a real-image target that one-sided label smoothing can lower

    @property
    def optimizer_defaults(self) -> dict:
        return {name: getattr(self, name) for name in ("optimizer", "lr", "beta1", "beta2", "d_steps")}

    def describe_defaults(self) -> str:
        """The defaults as the README's table of losses gives them: "Adam(2e-4, β=0.5, 0.999), 1 D step"."""
        optimizer = {"adam": "Adam", "rmsprop": "RMSprop", "sgd": "SGD"}[self.optimizer]
        betas = f", β={self.beta1}, {self.beta2}" if self.optimizer == "adam" else ""
        steps = "1 D step" if self.d_steps == 1 else f"{self.d_steps} critic steps"
        return f"{optimizer}({self.lr:.0e}{betas}), {steps}".replace("e-0", "e-")


LOSS_SPECS = {
    "bce": LossSpec("Radford et al. 2015 (DCGAN), non-saturating G loss", smoothable=True),
    "minimax": LossSpec("Goodfellow et al. 2014, the saturating minimax G loss", smoothable=True),
    "lsgan": LossSpec("Mao et al. 2017, least squares; its DCGAN-style models used Adam(2e-4, 0.5)", smoothable=True),
    "hinge": LossSpec("Lim & Ye 2017; Miyato et al. 2018"),
    "wgan": LossSpec("Arjovsky et al. 2017", optimizer="rmsprop", lr=5e-5, d_steps=5, clips_weights=True),
    "wgan-gp": LossSpec(
        "Gulrajani et al. 2017; LayerNorm in the critic, as the paper suggests in place of BatchNorm",
        lr=1e-4, beta1=0.0, beta2=0.9, d_steps=5, critic_normalization="layer", gradient_penalty=True,
    ),
}  # fmt: skip
LOSS_DEFAULTS = {name: spec.optimizer_defaults for name, spec in LOSS_SPECS.items()}
SMOOTHABLE = tuple(name for name, spec in LOSS_SPECS.items() if spec.smoothable)


# Named recipes: `--preset NAME` stands for these flags, and any flag given beside it wins.
PRESETS = {
    "dcgan": {  # Radford et al. 2015 as published
        "loss": "bce", "upsample": "transpose", "spectral_norm": False, "augment": "", "ema": None, "batch_size": 128,
    },
}


# Options added after runs were first saved, as a config.json written before them ran: without them.
ADDED_LATER = {
    "upsample": "transpose", "spectral_norm": False, "r1": 0.0, "r1_every": 1, "augment": "", "ema": None,
    "holdout": 0.0, "eval_every": 0, "eval_n": 1000, "eval_data": "", "on_nonfinite": "stop",
    "precision": "float32", "jit_compile": "auto", "steps_per_execution": 1,
    "deterministic": False, "lr_decay": 0.0,
}  # fmt: skip


class ConfigError(ValueError):
    """The options contradict each other or the run being resumed; the message says what to do."""


# ----------------------------------------------------------------------------- checks of single values
# Each returns its value or raises ValueError saying what a good one is; TrainConfig and the command line share them.


def positive_int(value: int) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise ValueError(f"must be a positive whole number, not {value}")
    return value


def non_negative_int(value: int) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        raise ValueError(f"must be 0 or a positive whole number, not {value}")
    return value


def positive_float(value: float) -> float:
    if not value > 0:
        raise ValueError(f"must be above 0, not {value}")
    return value


def non_negative_float(value: float) -> float:
    if not value >= 0:
        raise ValueError(f"must be 0 or more, not {value}")
    return value


def unit_interval(value: float) -> float:
    if not 0 <= value < 1:
        raise ValueError(f"must be in [0, 1), not {value}")
    return value


def real_target(value: float) -> float:
    if not 0 < value <= 1:
        raise ValueError(f"must be in (0, 1], the target for real images (0.9 is usual), not {value}")
    return value


def fraction(value: float) -> float:
    if not 0 <= value <= 1:
        raise ValueError(f"must be a fraction in [0, 1], e.g. 0.5, not {value}")
    return value


def decay(value: float) -> float:
    if not 0 < value < 1:
        raise ValueError(f"must be in (0, 1), e.g. 0.999, not {value}")
    return value


def one_of(choices: tuple) -> Callable:
    def check(value):
        if value not in choices:
            raise ValueError(f"must be one of {', '.join(map(str, choices))}, not {value}")
        return value

    return check


# What every checked option must be; None, where a field allows it, is never checked.
CHECKS = {
    "epochs": positive_int,
    "batch_size": positive_int,
    "image_size": one_of(IMAGE_SIZES),
    "latent_dim": positive_int,
    "width": positive_int,
    "lr": positive_float,
    "d_lr": positive_float,
    "g_lr": positive_float,
    "lr_decay": fraction,
    "beta1": unit_interval,
    "beta2": unit_interval,
    "momentum": unit_interval,
    "d_steps": positive_int,
    "clip": positive_float,
    "gp_weight": positive_float,
    "label_smoothing": real_target,
    "g_activation": one_of(GENERATOR_ACTIVATIONS),
    "dropout": unit_interval,
    "upsample": one_of(UPSAMPLINGS),
    "r1": non_negative_float,
    "r1_every": positive_int,
    "ema": decay,
    "holdout": non_negative_float,
    "eval_every": non_negative_int,
    "eval_n": positive_int,
    "on_nonfinite": one_of(NONFINITE_ACTIONS),
    "precision": one_of(PRECISIONS),
    "jit_compile": one_of(JIT_COMPILE),
    "strategy": one_of(STRATEGIES),
    "steps_per_execution": positive_int,
    "checkpoint_every": non_negative_float,
}


def parse_policy(text: str) -> tuple[str, ...]:
    """The augmentations named in a comma-separated list, in POLICIES order: "color, cutout" -> ("color", "cutout").

    Raises ValueError for the first name that is not one of POLICIES.
    """
    names = [part.strip().lower() for part in text.split(",") if part.strip()]
    for name in names:
        if name not in POLICIES:
            raise ValueError(f"unknown augmentation {name!r}: choose from {', '.join(POLICIES)}")
    return tuple(name for name in POLICIES if name in names)


@dataclass
class TrainConfig:
    """Everything that defines a training run. None means "the default of the chosen loss" (LOSS_DEFAULTS)."""

    data: str = ""  # folder of face images as the user gave it; "" = the bundled sample, wherever the package is
    out: str = ""
    epochs: int = 25
    batch_size: int = 32  # chosen by FID at equal images seen (docs/quality.md); the paper's 128 is --preset dcgan
    image_size: int = 64
    latent_dim: int = 100
    width: int = 64
    seed: int = 0
    loss: str = "bce"
    optimizer: str | None = None
    lr: float | None = None
    d_lr: float | None = None  # None: lr
    g_lr: float | None = None  # None: lr
    lr_decay: float = 0.0  # the last this fraction of the epochs decays both learning rates linearly; 0 = constant
    beta1: float | None = None
    beta2: float | None = None
    momentum: float = 0.0
    d_steps: int | None = None
    clip: float = 0.01  # wgan
    gp_weight: float = 10.0  # wgan-gp
    label_smoothing: float = 1.0  # target of real images; 1.0 = no smoothing
    d_threshold: float | None = None
    g_threshold: float | None = None
    g_activation: str = "relu"
    dropout: float = 0.0
    upsample: str = "transpose"  # how G doubles its feature maps: "transpose" (the paper) or "resize"
    spectral_norm: bool = False  # on every layer of D, which then has no BatchNorm
    r1: float = 0.0  # gamma of the R1 penalty on real images; 0 = off
    r1_every: int = 1  # lazy R1: the penalty every this many D steps
    # The default recipe, chosen by FID in docs/quality.md; --preset dcgan turns both off.
    augment: str = "translation,cutout"  # DiffAugment policy ("color,translation,cutout" for all three); "" = off
    ema: float | None = 0.999  # decay of the generator's weight average; None = off
    holdout: float = 0.0  # faces of `data` kept out of training: a count, or a fraction if below 1; 0 = none
    eval_every: int = 0  # measure FID and KID every this many epochs; 0 = never
    eval_n: int = 1000  # generated faces per measurement
    eval_data: str = ""  # real faces to measure against; "" = the held-out faces
    on_nonfinite: str = "stop"  # a NaN/Inf update is always dropped; "stop" ends the run there, "skip" goes on
    precision: str = "auto"  # Keras dtype policy of both networks; "auto" picks by device when a run starts
    jit_compile: str = "auto"  # compile the train step with XLA: "on", "off" or Keras's "auto"
    strategy: str = "auto"  # the devices that train, as a tf.distribute strategy (see STRATEGIES)
    steps_per_execution: int = 1  # train steps per call into the compiled function
    deterministic: bool = False  # TensorFlow op determinism: the same weights from the same seed on the same machine
    checkpoint_every: float = 10.0  # minutes between checkpoints within an epoch; 0: only at epoch ends (and signals)

    def resolved(self) -> TrainConfig:
        """These options with the loss's defaults filled in, checked for contradictions."""
        if self.loss not in LOSS_DEFAULTS:
            raise ConfigError(f"unknown --loss {self.loss!r}: choose one of {', '.join(LOSS_DEFAULTS)}")
        defaults = {k: v for k, v in LOSS_DEFAULTS[self.loss].items() if getattr(self, k) is None}
        config = dataclasses.replace(self, **defaults)
        for name, check in CHECKS.items():
            value = getattr(config, name)
            if value is not None:
                try:
                    check(value)
                except (TypeError, ValueError) as error:
                    raise ConfigError(f"--{name.replace('_', '-')} {error}") from None
        if config.optimizer not in OPTIMIZERS:
            raise ConfigError(f"unknown --optimizer {config.optimizer!r}: choose one of {', '.join(OPTIMIZERS)}")
        try:
            parse_policy(config.augment)
        except ValueError as error:
            raise ConfigError(f"--augment: {error}") from None
        if config.eval_every and not (config.eval_data or config.holdout):
            raise ConfigError(
                "--eval-every needs real faces the model does not train on: pass --eval-data DIR or --holdout 1000"
            )
        if config.label_smoothing != 1.0 and config.loss not in SMOOTHABLE:
            raise ConfigError(
                f"--label-smoothing needs a loss with a real-image target ({', '.join(SMOOTHABLE)}), "
                f"not --loss {config.loss}: drop --label-smoothing"
            )
        return config

    @property
    def data_folder(self) -> Path:
        return Path(self.data).expanduser() if self.data else BUNDLED_SAMPLE

    @property
    def decay_epochs(self) -> int:
        """The epochs at the end of the run whose learning rates decay (`lr_decay` of them, rounded up)."""
        return math.ceil(self.lr_decay * self.epochs - 1e-9)  # 0.3 x 10 is 3, not 3.0000000000000004

    @property
    def loss_spec(self) -> LossSpec:
        return LOSS_SPECS[self.loss]

    @property
    def d_learning_rate(self) -> float:
        return self.d_lr or self.lr

    @property
    def g_learning_rate(self) -> float:
        return self.g_lr or self.lr

    def save(self, path: str | Path) -> None:
        Path(path).write_text(json.dumps(dataclasses.asdict(self), indent=2) + "\n")

    @classmethod
    def load(cls, path: str | Path) -> TrainConfig:
        try:
            saved = json.loads(Path(path).read_text())
        except (OSError, json.JSONDecodeError) as error:
            raise ConfigError(f"cannot read options from {path}: {error}") from None
        if not isinstance(saved, dict):
            raise ConfigError(f"{path} does not hold a run's options (a JSON object)")
        known = {field.name for field in dataclasses.fields(cls)}
        unknown = sorted(set(saved) - known)
        if unknown:
            raise ConfigError(f"{path} has unknown options {', '.join(unknown)}: remove them")
        return cls(**{**ADDED_LATER, **saved})


def resume_or_new(run_dir: str | Path, given: dict, config_file: str | Path | None = None) -> TrainConfig:
    """Options for the run in `run_dir`, with the flags in `given` on top.

    An existing run's config.json is the base, and flags that its checkpoint depends on may not change; a new run
    starts from `config_file` (a saved config.json) if given, else from the defaults.
    """
    run_dir = Path(run_dir)
    if run_dir.exists() and not run_dir.is_dir():
        raise ConfigError(f"--out {run_dir} is a file: pass a folder for the run's outputs")
    saved_path = run_dir / CONFIG_FILE
    if saved_path.exists():
        saved = TrainConfig.load(saved_path)
        for name in RUN_FIXED_OPTIONS:
            if name in given and given[name] != getattr(saved, name):
                flag = "--" + name.replace("_", "-")
                raise ConfigError(
                    f"{run_dir} was trained with {flag} {getattr(saved, name)}, not {given[name]}: "
                    f"drop {flag} to resume it, or pass a new --out to start another run"
                )
        if "data" not in given and not saved.data_folder.is_dir():
            raise ConfigError(
                f"{run_dir} trained on {saved.data_folder}, which is not on this machine: "
                "pass --data with the folder of its faces here"
            )
        return dataclasses.replace(saved, out=str(run_dir), **given).resolved()
    base = TrainConfig.load(config_file) if config_file else TrainConfig()
    if "loss" in given and given["loss"] != base.loss:  # the other loss's defaults, not the file's
        base = dataclasses.replace(base, **{name: None for name in LOSS_DEFAULTS.get(base.loss, {})})
    return dataclasses.replace(base, out=str(run_dir), **given).resolved()

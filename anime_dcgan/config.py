"""The options of a training run: one dataclass whose fields declare each option once (its help, group, check, resume
policy and value for runs saved before it existed), built once from the command line and saved with the run.

The command line (`fit`), validation (`TrainConfig.resolved`), the resume policy (`resume_or_new`) and the options
reference (`docs/options.md`, written by `python -m anime_dcgan.config`) are all made from these declarations. This
module does not import TensorFlow, so the command line is read before it is.
"""

from __future__ import annotations

import dataclasses
import json
import math
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from anime_dcgan.errors import UserError

CONFIG_FILE = "config.json"
IMAGE_EXTENSIONS = (".jpg", ".jpeg", ".png", ".bmp", ".gif", ".webp")
# The bundled faces: data/sample in a clone of the repository, anime_dcgan/sample in an installed package.
_CLONE_SAMPLE = Path(__file__).resolve().parent.parent / "data" / "sample"
BUNDLED_SAMPLE = _CLONE_SAMPLE if _CLONE_SAMPLE.is_dir() else Path(__file__).resolve().parent / "sample"

IMAGE_SIZES = (32, 64, 128)
GENERATOR_ACTIVATIONS = ("relu", "leaky_relu")
UPSAMPLINGS = ("transpose", "resize")
ARCHITECTURES = ("dcgan", "resnet")
PRECISIONS = ("auto", "float32", "mixed_bfloat16", "mixed_float16")
# tf.distribute: "auto" takes a TPU when one is attached, every GPU when there are several, else one device.
STRATEGIES = ("auto", "default", "mirrored", "multi-worker", "tpu")
JIT_COMPILE = ("auto", "on", "off")  # XLA; "auto" is Keras's choice: on with a GPU, off on a CPU
# G's update through D as D's last update left it, or from the outputs that update learned from (both move after).
UPDATES = ("alternating", "simultaneous")
NONFINITE_ACTIONS = ("stop", "skip")  # what a NaN/Inf in a step does to the run
POLICIES = ("color", "translation", "cutout")  # DiffAugment's transforms, in the order they are applied
OPTIMIZERS = ("adam", "rmsprop", "sgd")


@dataclass(frozen=True)
class LossSpec:
    """A loss as the options know it: its class in `losses` ("module:Class") and its paper's optimizer settings,
    the defaults of the options left at None (a flag given on the command line wins)."""

    loss: str
    paper: str
    optimizer: str = "adam"
    lr: float = 2e-4
    beta1: float = 0.5
    beta2: float = 0.999
    d_steps: int = 1

    @property
    def optimizer_defaults(self) -> dict:
        return {name: getattr(self, name) for name in ("optimizer", "lr", "beta1", "beta2", "d_steps")}

    def describe_defaults(self) -> str:
        """The defaults as the README's table of losses gives them: "Adam(2e-4, β=0.5, 0.999), 1 D step"."""
        optimizer = {"adam": "Adam", "rmsprop": "RMSprop", "sgd": "SGD"}[self.optimizer]
        betas = f", β={self.beta1}, {self.beta2}" if self.optimizer == "adam" else ""
        steps = "1 D step" if self.d_steps == 1 else f"{self.d_steps} critic steps"
        return f"{optimizer}({self.lr:.0e}{betas}), {steps}".replace("e-0", "e-")


# The losses `--loss` names: adding one is a `losses.GANLoss` subclass and a line here. The relativistic loss's 4e-4
# was chosen by FID at 200,000 images (docs/results.md, twelfth screen); the others keep their papers' settings.
LOSS_SPECS = {
    "bce": LossSpec("anime_dcgan.losses:NonSaturatingLoss", "Radford et al. 2015 (DCGAN), non-saturating G loss"),
    "minimax": LossSpec("anime_dcgan.losses:MinimaxLoss", "Goodfellow et al. 2014, the saturating minimax G loss"),
    "lsgan": LossSpec("anime_dcgan.losses:LeastSquaresLoss",
                      "Mao et al. 2017, least squares; its DCGAN-style models used Adam(2e-4, 0.5)"),
    "hinge": LossSpec("anime_dcgan.losses:HingeLoss", "Lim & Ye 2017; Miyato et al. 2018"),
    "wgan": LossSpec("anime_dcgan.losses:WassersteinLoss", "Arjovsky et al. 2017", optimizer="rmsprop", lr=5e-5,
                     d_steps=5),
    "relativistic": LossSpec("anime_dcgan.losses:RelativisticLoss",
                             "Huang et al. 2024 (R3GAN): relativistic pairing with R1 and R2 penalties of weight "
                             "--gamma", lr=4e-4, beta1=0.0, beta2=0.99),
    "wgan-gp": LossSpec(
        "anime_dcgan.losses:WassersteinGPLoss",
        "Gulrajani et al. 2017; LayerNorm in the critic, as the paper suggests in place of BatchNorm",
        lr=1e-4, beta1=0.0, beta2=0.9, d_steps=5,
    ),
}  # fmt: skip
LOSS_DEFAULTS = {name: spec.optimizer_defaults for name, spec in LOSS_SPECS.items()}


# Named recipes: `--preset NAME` stands for these flags, and any flag given beside it wins.
PRESETS = {
    "dcgan": {  # Radford et al. 2015 as published
        "loss": "bce", "upsample": "transpose", "spectral_norm": False, "augment": "", "ema": None, "batch_size": 128,
    },
}


class ConfigError(UserError, ValueError):
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

    check.choices = choices  # the command line offers them
    return check


def parse_policy(text: str) -> tuple[str, ...]:
    """The augmentations named in a comma-separated list, in POLICIES order: "color, cutout" -> ("color", "cutout").

    Raises ValueError for the first name that is not one of POLICIES.
    """
    names = [part.strip().lower() for part in text.split(",") if part.strip()]
    for name in names:
        if name not in POLICIES:
            raise ValueError(f"unknown augmentation {name!r}: choose from {', '.join(POLICIES)}")
    return tuple(name for name in POLICIES if name in names)


def policy(text: str) -> str:
    """A DiffAugment policy as config.json keeps it, "" for none: "cutout, color" -> "color,cutout"."""
    return ",".join(parse_policy("" if text.strip().lower() == "none" else text))


def ema_decay(text: str) -> float | None:
    """A weight average's decay from the command line: 0 is None, no average."""
    return float(text) or None


# ----------------------------------------------------------------------------- declaring an option

NOT_SAVED_BEFORE = object()  # `before` of the options every saved config.json has


def option(
    default,
    help: str,
    group: str,
    check: Callable | None = None,
    *,
    parse: Callable[[str], object] | None = None,
    metavar: str | None = None,
    default_text: str | None = None,
    fixed: bool = False,
    before=NOT_SAVED_BEFORE,
    part: str | None = None,
):
    """A TrainConfig field declaring one option.

    help, group: its line in `--help` and docs/options.md; check: what every value must be (raises ValueError);
    parse: text to value on the command line (default: the default's type); default_text: the default as help gives
    it; fixed: a run's checkpoint depends on it, so it may not change on resume; before: its value in a config.json
    saved before the option existed; part: "module:Class" of the loss penalty it turns on (the class's
    `from_options(config)` builds it, or returns None when the option leaves it off).
    """
    metadata = dict(help=help, group=group, check=check, parse=parse, metavar=metavar, default_text=default_text,
                    fixed=fixed, before=before, part=part)  # fmt: skip
    return dataclasses.field(default=default, metadata=metadata)


@dataclass(frozen=True)
class TrainConfig:
    """Everything that defines a training run, read-only: a changed option is a new TrainConfig
    (`dataclasses.replace`). None means "the default of the chosen loss" (LOSS_DEFAULTS)."""

    data: str = option("", "folder of face images, searched recursively; 'kaggle' or 'kaggle:owner/name' downloads a "
                       "Kaggle dataset to data/<name> first", "run", default_text="the bundled sample")
    out: str = option("", "run folder for samples, logs and checkpoints", "run", default_text="runs/<timestamp>")
    epochs: int = option(25, "train until this epoch", "run", positive_int)
    # Chosen by FID at equal images seen (docs/results.md); the paper's 128 is --preset dcgan.
    batch_size: int = option(32, "images per update", "run", positive_int)
    seed: int = option(0, "random seed of weights, noise and shuffling", "run")

    image_size: int = option(64, "image side in pixels", "networks", one_of(IMAGE_SIZES), fixed=True)
    latent_dim: int = option(100, "length of the noise vector", "networks", positive_int, fixed=True)
    width: int = option(64, "channels of the highest-resolution layer; deeper layers have 2, 4, 8 times as many",
                        "networks", positive_int, fixed=True)
    architecture: str = option("dcgan", "the networks: the DCGAN paper's, or residual blocks of two 3x3 "
                               "convolutions and a shortcut (SNGAN style) at the same resolutions and widths, whose "
                               "discriminator has no normalisation unless the loss asks for one", "networks",
                               one_of(ARCHITECTURES), fixed=True, before="dcgan")
    g_activation: str = option("relu", "generator activation", "networks", one_of(GENERATOR_ACTIVATIONS))
    upsample: str = option("transpose", "how the generator doubles its size: the paper's 4x4 transposed "
                           "convolutions, or a nearest-neighbour resize then a 3x3 convolution, free of checkerboard",
                           "networks", one_of(UPSAMPLINGS), fixed=True, before="transpose")
    dropout: float = option(0.0, "dropout rate after each discriminator layer", "networks", unit_interval)
    minibatch_std: bool = option(False, "the discriminator sees, beside its last feature map, how much the batch's "
                                 "features vary (Karras et al. 2018), so a generator that draws alike faces is "
                                 "easier to tell apart", "networks", fixed=True, before=False)

    # The default recipe's loss, gamma and lazy penalties, chosen by FID in docs/results.md; --preset dcgan is bce.
    loss: str = option("relativistic", "GAN objective", "loss and updates", one_of(tuple(LOSS_SPECS)), fixed=True)
    d_steps: int | None = option(None, "discriminator updates per generator update, each on its own real batch",
                                 "loss and updates", positive_int, parse=int, default_text="per loss")
    updates: str = option("alternating", "'alternating': G's update goes through D as D's last update left it; "
                          "'simultaneous': G learns from the same outputs of D as that update, so one pass of D "
                          "serves both (fewer convolutions a step)", "loss and updates", one_of(UPDATES),
                          before="alternating")
    clip: float = option(0.01, "wgan: critic weights are clipped to +-clip", "loss and updates", positive_float)
    gp_weight: float = option(10.0, "wgan-gp: gradient penalty weight lambda", "loss and updates", positive_float)
    gamma: float = option(0.1, "relativistic: weight gamma of its R1 and R2 penalties, gamma/2 E||grad D||^2 on real "
                          "and on generated faces", "loss and updates", positive_float, before=1.0)
    label_smoothing: float = option(1.0, "one-sided label smoothing: target for real images, e.g. 0.9 (bce, "
                                    "minimax, lsgan)", "loss and updates", real_target, default_text="1, none")
    on_nonfinite: str = option("stop", "an update with a NaN/Inf loss or gradient is always dropped; 'stop' ends the "
                               "run there (its last checkpoint stays good), 'skip' goes on and counts them in "
                               "history.csv", "loss and updates", one_of(NONFINITE_ACTIONS), before="stop")
    d_threshold: float | None = option(None, "skip a discriminator update while its loss is below this",
                                       "loss and updates", parse=float, default_text="never")
    g_threshold: float | None = option(None, "update the generator only while its loss is above this",
                                       "loss and updates", parse=float, default_text="always")

    optimizer: str | None = option(None, "optimizer of both networks", "optimizers", one_of(OPTIMIZERS),
                                   default_text="per loss", fixed=True)
    lr: float | None = option(None, "learning rate of both networks", "optimizers", positive_float, parse=float,
                              default_text="per loss")
    d_lr: float | None = option(None, "discriminator learning rate, e.g. for TTUR", "optimizers", positive_float,
                                parse=float, default_text="--lr")
    g_lr: float | None = option(None, "generator learning rate", "optimizers", positive_float, parse=float,
                                default_text="--lr")
    lr_decay: float = option(0.0, "decay both learning rates linearly over this last fraction of the epochs, e.g. "
                             "0.5: full rate until then, 1/N of it in the last epoch of N decaying; follows --epochs "
                             "when a run is resumed", "optimizers", fraction, default_text="0, constant", before=0.0)
    beta1: float | None = option(None, "Adam's beta_1", "optimizers", unit_interval, parse=float,
                                 default_text="per loss")
    beta2: float | None = option(None, "Adam's beta_2", "optimizers", unit_interval, parse=float,
                                 default_text="per loss")
    momentum: float = option(0.0, "RMSprop and SGD momentum", "optimizers", unit_interval)

    spectral_norm: bool = option(False, "spectral normalisation on every discriminator layer, in place of its "
                                 "BatchNorm", "quality", fixed=True, before=False)
    r1: float = option(0.0, "R1 penalty gamma/2 E||grad D(x)||^2 on real images; 0 turns it off", "quality",
                       non_negative_float, metavar="GAMMA", default_text="0, off", before=0.0,
                       part="anime_dcgan.losses:R1Penalty")
    r1_every: int = option(16, "lazy R1 (and the relativistic loss's R1 and R2): apply the penalty (scaled by K) "
                           "every K discriminator steps", "quality",
                           positive_int, metavar="K", before=1)
    lecam: float = option(0.0, "LeCam regularisation weight (Tseng et al. 2021): keeps D's outputs on real and fake "
                          "images near their moving averages, against overfitting a small training set; 0 turns it "
                          "off", "quality", non_negative_float, metavar="LAMBDA", default_text="0, off", before=0.0,
                          part="anime_dcgan.lecam:LeCamPenalty")
    bcr: float = option(0.0, "balanced consistency regularisation weight (bCR, Zhao et al. 2021): D scores each "
                        "real and generated face and a translated copy of it alike; 0 turns it off", "quality",
                        non_negative_float, metavar="LAMBDA", default_text="0, off", before=0.0,
                        part="anime_dcgan.consistency:ConsistencyPenalty")
    # The default recipe, chosen by FID in docs/results.md; --preset dcgan turns both off.
    augment: str = option("translation,cutout", f"DiffAugment every image D sees, e.g. {','.join(POLICIES)}; 'none' "
                          "turns it off", "quality", parse_policy, parse=policy, metavar="POLICY", before="")
    ada_target: float = option(0.0, "adaptive augmentation (ADA, Karras et al. 2020): apply each --augment "
                               "transform with a probability p that rises while D's mean sign on real faces "
                               "exceeds this target (the paper's 0.6) and falls otherwise; 0: always apply them",
                               "quality", unit_interval, metavar="TARGET", default_text="0, off", before=0.0)
    ada_speed: int = option(100_000, "ADA: images over which p can go from 0 to 1", "quality", positive_int,
                            metavar="IMAGES", before=100_000)
    mirror: bool = option(False, "flip each training face left to right with probability 1/2 each time it is drawn "
                          "(x-flips): twice the faces to learn from, since a face drawn either way is still a face",
                          "quality", before=False)
    ema: float | None = option(0.999, "keep an exponential moving average of G's weights (e.g. 0.999) and sample, "
                               "evaluate and export it; 0 turns it off", "quality", decay, parse=ema_decay,
                               metavar="DECAY", fixed=True, before=None)

    holdout: float = option(0.0, "keep N faces (or a fraction, if below 1) of --data out of training, the same ones "
                            "every run, to measure against", "measuring quality", non_negative_float, metavar="N",
                            default_text="0, none", fixed=True, before=0.0)
    eval_every: int = option(0, "measure FID and KID every E epochs into history.csv and keep best.keras",
                             "measuring quality", non_negative_int, metavar="E", default_text="never", before=0)
    eval_n: int = option(1000, "generated faces per measurement; FID depends on it", "measuring quality",
                         positive_int, metavar="N", before=1000)
    eval_data: str = option("", "real faces to measure against", "measuring quality", metavar="DIR",
                            default_text="the held-out ones", before="")

    precision: str = option("auto", "dtype policy of both networks: 'auto' takes bfloat16 on TPUs, recent GPUs and "
                            "CPUs with AVX512_BF16/AMX (unless ONEDNN_MAX_CPU_ISA keeps oneDNN below them), float16 "
                            "with loss scaling on 7.x GPUs, float32 otherwise; outputs, losses and images stay float32",
                            "devices", one_of(PRECISIONS), fixed=True,
                            before="float32")  # float16's loss scale is checkpointed with the optimizers
    jit_compile: str = option("auto", "compile the training step with XLA; 'auto' is Keras's choice: on with a GPU, "
                              "off on a CPU", "devices", one_of(JIT_COMPILE), before="auto")
    strategy: str = option("auto", "the devices that train: 'auto' takes a TPU when one is attached, every GPU when "
                           "there are several ('mirrored'), else one device ('default'); 'multi-worker' trains on the "
                           "machines listed in TF_CONFIG, with the batch split across all replicas", "devices",
                           one_of(STRATEGIES))
    steps_per_execution: int = option(1, "training steps per call into the compiled step; more hides per-step "
                                      "overhead on fast accelerators", "devices", positive_int, metavar="N", before=1)
    deterministic: bool = option(False, "TensorFlow op determinism: the same --seed gives bit-identical weights on "
                                 "the same machine, at some cost in speed", "devices", before=False)
    checkpoint_every: float = option(10.0, "also checkpoint within an epoch this often, so a preempted run loses at "
                                     "most that much; 0: only at the end of each epoch", "devices",
                                     non_negative_float, metavar="MINUTES")

    def resolved(self) -> TrainConfig:
        """These options with the loss's defaults filled in, checked for contradictions."""
        if self.loss not in LOSS_DEFAULTS:
            raise ConfigError(f"unknown --loss {self.loss!r}: choose one of {', '.join(LOSS_DEFAULTS)}")
        defaults = {k: v for k, v in LOSS_DEFAULTS[self.loss].items() if getattr(self, k) is None}
        config = dataclasses.replace(self, **defaults)
        for field in dataclasses.fields(config):
            check, value = field.metadata["check"], getattr(config, field.name)
            if check is not None and value is not None:
                try:
                    check(value)
                except (TypeError, ValueError) as error:
                    raise ConfigError(f"{flag(field.name)}{separator(check)}{error}") from None
        if config.ada_target and not config.augment:
            raise ConfigError("--ada-target adapts how often the --augment transforms apply: name some, e.g. "
                              "--augment color,translation,cutout, or drop --ada-target")  # fmt: skip
        if config.eval_every and not (config.eval_data or config.holdout):
            raise ConfigError(
                "--eval-every needs real faces the model does not train on: pass --eval-data DIR or --holdout 1000"
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


def flag(name: str) -> str:
    return "--" + name.replace("_", "-")


def separator(check: Callable) -> str:
    """Between a flag and its check's message: "--augment: unknown ..." for a parser, "--epochs must ..." else."""
    return ": " if check is parse_policy else " "


def declared(name: str) -> dict:
    """The declaration of option `name` (see `option`)."""
    return TrainConfig.__dataclass_fields__[name].metadata


# Derived from the declarations: what the resume policy and old run folders need.
CHECKS = {f.name: f.metadata["check"] for f in dataclasses.fields(TrainConfig) if f.metadata["check"]}
RUN_FIXED_OPTIONS = tuple(f.name for f in dataclasses.fields(TrainConfig) if f.metadata["fixed"])
ADDED_LATER = {
    f.name: f.metadata["before"] for f in dataclasses.fields(TrainConfig) if f.metadata["before"] is not NOT_SAVED_BEFORE
}
PARTS = {f.name: f.metadata["part"] for f in dataclasses.fields(TrainConfig) if f.metadata["part"]}


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
                raise ConfigError(
                    f"{run_dir} was trained with {flag(name)} {getattr(saved, name)}, not {given[name]}: "
                    f"drop {flag(name)} to resume it, or pass a new --out to start another run"
                )
        if "data" not in given and not saved.data_folder.is_dir():
            raise ConfigError(
                f"{run_dir} trained on {saved.data_folder}, which is not on this machine: "
                "pass --data with the folder of its faces here"
            )
        return dataclasses.replace(saved, out=str(run_dir), **given).resolved()
    base = TrainConfig.load(config_file) if config_file else TrainConfig()
    return overridden(base, {"out": str(run_dir), **given})


def overridden(base: TrainConfig, given: dict) -> TrainConfig:
    """`base` with the options in `given` on top, resolved; a loss given takes its own defaults, not `base`'s."""
    if "loss" in given and given["loss"] != base.loss:
        base = dataclasses.replace(base, **{name: None for name in LOSS_DEFAULTS.get(base.loss, {})})
    return dataclasses.replace(base, **given).resolved()


def reference_markdown() -> str:
    """docs/options.md: every option of `fit`, by group, as the declarations above give it."""
    lines = ["# Options of `python -m anime_dcgan.fit`", "",
             "Written by `python -m anime_dcgan.config > docs/options.md` from the declarations in "
             "`anime_dcgan/config.py`; a test keeps the two in step. *Fixed*: the run's checkpoint depends on it, "
             "so it cannot change when a run is resumed; every other option given on resume takes effect from the "
             "next epoch.", ""]  # fmt: skip
    groups: dict[str, list[dataclasses.Field]] = {}
    for field in dataclasses.fields(TrainConfig):
        groups.setdefault(field.metadata["group"], []).append(field)
    for group, fields in groups.items():
        lines += [f"## {group[0].upper()}{group[1:]}", "", "| option | default | what it does |", "| --- | --- | --- |"]
        for field in fields:
            metadata = field.metadata
            fixed = " *Fixed.*" if metadata["fixed"] else ""
            choices = getattr(metadata["check"], "choices", None)
            values = f" One of: {', '.join(f'`{choice}`' for choice in choices)}." if choices else ""
            row = f"| `{flag(field.name)}` | {default_text(field)} | {metadata['help']}.{values}{fixed} |"
            lines.append(row.replace("<", "&lt;"))
        lines.append("")
    return "\n".join(lines)


def default_text(field: dataclasses.Field) -> str:
    """The default of an option in words, as `--help` and docs/options.md give it."""
    if field.metadata["default_text"] is not None:
        return field.metadata["default_text"]
    if field.default is None:
        return "off"
    return "off" if field.default is False else str(field.default)


if __name__ == "__main__":
    print(reference_markdown(), end="")

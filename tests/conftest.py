"""Shared fixtures: small image folders and one tiny trained run, all under pytest's temporary folders."""

from __future__ import annotations

import fcntl
import functools
import os
import shutil
import sys
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import pytest  # noqa: E402

SAMPLE = Path(__file__).resolve().parent.parent / "data" / "sample"
# A tiny model that trains in well under a second per epoch on two CPU cores.
TINY_FLAGS = ["--image-size", "32", "--width", "4", "--latent-dim", "8", "--batch-size", "16"]


# The files that take longest, longest first. The two workers take whole files in collection order (pyproject's
# --dist loadfile --no-loadscope-reorder): the long ones start at once and the short ones even out the end.
LONGEST_FIRST = ("test_fit.py", "test_distribute.py", "test_variants.py", "test_notebooks.py", "test_bench.py",
                 "test_demo.py", "test_quality.py", "test_precision.py", "test_resnets.py", "test_packaging.py")


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    rank = {name: i for i, name in enumerate(LONGEST_FIRST)}
    items.sort(key=lambda item: rank.get(item.path.name, len(rank)))  # stable: each file's tests keep their order


@pytest.hookimpl(trylast=True)
def pytest_unconfigure(config: pytest.Config) -> None:
    """A pytest-xdist worker, its results sent, ends at once: the interpreter's teardown of what TensorFlow holds
    after hundreds of tests takes seconds, for nothing (fit's own process ends the same way)."""
    if os.environ.get("PYTEST_XDIST_WORKER"):
        sys.stdout.flush()
        sys.stderr.flush()
        os._exit(0)


def copy_faces(folder: Path, count: int) -> Path:
    """`count` of the bundled sample faces copied into `folder`."""
    folder.mkdir(parents=True, exist_ok=True)
    for path in sorted(SAMPLE.glob("*.png"))[:count]:
        shutil.copy(path, folder / path.name)
    return folder


@functools.cache
def first_batch(batch_size: int, image_size: int = 32):
    """The first shuffled batch of the bundled sample, as the training pipeline delivers it (made once a process)."""
    from anime_dcgan import data

    dataset, _ = data.make_dataset(SAMPLE, image_size=image_size, batch_size=batch_size, seed=0)
    return next(iter(dataset))


def tiny_gan(loss="bce", optimizer=None, lr=2e-4, seed=0, discriminator_options=None, augment="", ema=None,
             penalties=(), **compile_options):
    """A 32 px GAN with 4-channel networks and an 8-d latent: the loss named `loss` with `penalties`, DiffAugment's
    `augment` policy and a weight average of decay `ema` (if given), compiled with `compile_options`."""
    import keras

    from anime_dcgan import losses, models
    from anime_dcgan.augment import DiffAugment
    from anime_dcgan.averaging import WeightAverage
    from anime_dcgan.gan import GAN

    optimizer = optimizer or keras.optimizers.Adam
    keras.utils.set_random_seed(seed)
    discriminator = models.build_discriminator(32, 4, **(discriminator_options or {}))
    generator = models.build_generator(8, 32, 4)
    average = WeightAverage(generator, ema) if ema else None
    gan = GAN(generator, discriminator, augment=DiffAugment(augment), ema=average, seed=seed)
    gan.compile(optimizer(lr), optimizer(lr), loss=losses.get(loss, penalties=list(penalties)), **compile_options)
    return gan


@pytest.fixture
def built(monkeypatch) -> list:
    """Every GAN the runs of a test build (training.build_gan), in order: the last trained the last run."""
    from anime_dcgan import training

    gans, build = [], training.build_gan
    monkeypatch.setattr(training, "build_gan", lambda config: gans.append(build(config)) or gans[-1])
    return gans


def checkpointed_state(gan) -> list:
    """What a checkpoint restores of `gan`: both networks, both optimizers and its parts' variables, as arrays."""
    import numpy as np

    parts = [gan.generator, gan.discriminator, gan.d_optimizer, gan.g_optimizer, gan.gan_loss, gan.augment]
    parts += [gan.ema.model] if gan.ema else []
    return [np.array(variable) for part in parts for variable in part.variables]


@pytest.fixture
def untrained(monkeypatch) -> list:
    """Runs stop where training would start, for tests of what a run resolves and writes before its first step: the
    list gets each such run (training.Run), in order."""
    from anime_dcgan import training

    started = []
    monkeypatch.setattr(training.Run, "fit_epochs", lambda self, until, callbacks: started.append(self))
    return started


def resumed_as_trained(request, argv: list[str], trained):
    """Resume the run of fit's `argv` up to its first step (conftest's untrained) and check that it holds all that
    the GAN `trained` ended with: the run (training.Run)."""
    import numpy as np

    from anime_dcgan.commands import fit

    started = request.getfixturevalue("untrained")
    assert fit.main(argv) == 0
    for mine, theirs in zip(checkpointed_state(started[-1].gan), checkpointed_state(trained), strict=True):
        np.testing.assert_array_equal(mine, theirs)
    return started[-1]


@pytest.fixture
def faces(tmp_path) -> Path:
    """A folder of 48 real faces: three batches of 16."""
    return copy_faces(tmp_path / "faces", 48)


@pytest.fixture(scope="session")
def trained_run(tmp_path_factory, worker_id) -> Path:
    """A run folder after two epochs of the tiny model, trained once for the session: the first pytest-xdist worker
    to ask trains it, the other waits for it. Copy it before changing it."""
    from anime_dcgan.commands import fit

    # Each worker's temporary folders are in one of the session's own; without workers, in the session's.
    root = tmp_path_factory.getbasetemp() if worker_id == "master" else tmp_path_factory.getbasetemp().parent
    run = root / "trained" / "run"
    with open(root / "trained.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)  # released when the file closes
        done = root / "trained" / "done"
        if not done.exists():
            data = copy_faces(root / "trained" / "faces", 48)
            assert fit.main(["--data", str(data), "--out", str(run), "--epochs", "2", *TINY_FLAGS]) == 0
            done.touch()
    return run


@pytest.fixture
def run_copy(trained_run, tmp_path) -> Path:
    """A private copy of the tiny trained run that a test may resume or damage."""
    return Path(shutil.copytree(trained_run, tmp_path / "run"))

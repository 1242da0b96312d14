"""The generator that ships with the package: it loads by name, draws 64 px faces in [-1, 1], and a fixed seed
draws a fixed picture (tests/data/pretrained-seed0.png; after retraining it, write that picture again with
`python -m anime_dcgan.generate --n 8 --seed 0 --columns 8 --out tests/data/pretrained-seed0.png`)."""

from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from anime_dcgan import sampling
from anime_dcgan.commands import generate
from anime_dcgan.images import make_grid

REFERENCE = Path(__file__).resolve().parent / "data" / "pretrained-seed0.png"


@pytest.fixture(scope="module")
def pretrained():
    return sampling.load_generator()


def test_it_ships_in_the_package_at_most_15_mb():
    assert sampling.PRETRAINED_FILE.is_file()
    assert sampling.PRETRAINED_FILE.stat().st_size <= 15 * 2**20


def test_it_computes_in_float32_so_every_cpu_draws_the_same(pretrained):
    assert {layer.dtype_policy.name for layer in pretrained.layers} == {"float32"}


def test_it_draws_64_px_rgb_faces_in_the_tanh_range(pretrained):
    assert tuple(pretrained.output_shape) == (None, 64, 64, 3)
    images = np.asarray(pretrained(sampling.latent_noise(16, pretrained.input_shape[-1], seed=5), training=False))
    assert images.min() >= -1.0 and images.max() <= 1.0
    assert images.std() > 0.2  # faces, not a flat colour
    assert len({face.tobytes() for face in sampling.generate_faces(pretrained, 16, seed=5)}) == 16


def test_a_fixed_seed_draws_the_reference_picture(pretrained):
    drawn = make_grid(sampling.generate_faces(pretrained, 8, seed=0), columns=8).astype(int)
    reference = np.asarray(Image.open(REFERENCE).convert("RGB")).astype(int)
    assert drawn.shape == reference.shape
    assert np.abs(drawn - reference).max() <= 2  # float rounding differs a little between CPUs


def test_generate_uses_it_when_no_model_is_named(tmp_path, capsys):
    assert generate.main(["--n", "8", "--seed", "0", "--columns", "8", "--out", str(tmp_path / "faces.png")]) == 0
    assert "Wrote 8 faces" in capsys.readouterr().out
    by_name = tmp_path / "by-name.png"
    assert generate.main(["--model", "pretrained", "--n", "8", "--columns", "8", "--out", str(by_name)]) == 0
    assert Image.open(by_name).tobytes() == Image.open(tmp_path / "faces.png").tobytes()

"""The Dockerfile and packaging metadata refer only to files the repository has."""

import importlib.util
import json
import os
import shutil
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest
from PIL import Image

ROOT = Path(__file__).resolve().parent.parent


def test_every_file_the_dockerfile_copies_exists():
    copies = [line.split()[1:-1] for line in (ROOT / "Dockerfile").read_text().splitlines() if line.startswith("COPY ")]
    sources = [source for sources in copies for source in sources]
    assert "anime_dcgan/" in sources and "data/" in sources
    missing = [source for source in sources if not (ROOT / source).exists()]
    assert not missing, f"Dockerfile copies files that do not exist: {missing}"


def test_package_metadata_points_at_real_files():
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())
    assert (ROOT / project["project"]["readme"]).exists()
    for requirements in project["tool"]["setuptools"]["dynamic"]["dependencies"]["file"]:
        lines = [line for line in (ROOT / requirements).read_text().splitlines() if line and not line.startswith("#")]
        assert any(line.startswith("tensorflow") for line in lines)
        assert not any(line.startswith("-") for line in lines), "pip options cannot become package dependencies"
    package_dirs = project["tool"]["setuptools"]["package-dir"]
    for package in project["tool"]["setuptools"]["packages"]:
        assert (ROOT / package_dirs.get(package, package.replace(".", "/"))).is_dir()
    for target in project["project"]["scripts"].values():
        module = target.split(":")[0]
        assert (ROOT / (module.replace(".", "/") + ".py")).exists()


@pytest.mark.skipif(importlib.util.find_spec("setuptools") is None, reason="building the package needs setuptools")
def test_installed_package_finds_its_bundled_faces_outside_the_repository(tmp_path):
    source, target = tmp_path / "source", tmp_path / "site-packages"  # built from a copy: no build/ in the clone
    shutil.copytree(ROOT / "anime_dcgan", source / "anime_dcgan", ignore=shutil.ignore_patterns("__pycache__"))
    shutil.copytree(ROOT / "data" / "sample", source / "data" / "sample")
    for name in ("pyproject.toml", "README.md", "requirements.txt"):
        shutil.copy(ROOT / name, source / name)
    subprocess.run(
        [sys.executable, "-m", "pip", "install", "--quiet", "--no-deps", "--no-build-isolation", "--target", str(target),
         str(source)],
        check=True, capture_output=True, cwd=tmp_path,
    )  # fmt: skip
    # Both commands in one process (each would import TensorFlow again): a run on the bundled faces, then faces
    # from the generator that ships with the package: no --model, another folder, nothing downloaded.
    tiny = ["--image-size", "32", "--width", "4", "--latent-dim", "8", "--batch-size", "250"]
    code = (
        "import sys\nfrom anime_dcgan.commands import fit, generate\n"
        f"assert fit.main(['--epochs', '1', '--out', 'run', '--verbose', '0', *{tiny!r}]) == 0\n"
        "sys.exit(generate.main(['--n', '16', '--out', 'faces.png']))\n"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=tmp_path,
                            env={"PYTHONPATH": str(target)})  # fmt: skip
    assert result.returncode == 0, result.stderr
    count = len(list((ROOT / "data" / "sample").glob("*.png")))  # every bundled face, found in the installed copy
    assert f"Found {count} images in {target / 'anime_dcgan' / 'sample'}" in result.stdout
    assert (tmp_path / "run" / "generator.keras").is_file()
    assert json.loads((tmp_path / "run" / "config.json").read_text())["data"] == ""  # no path of this machine
    assert (target / "anime_dcgan" / "pretrained" / "anime-faces-64.keras").is_file()
    assert Image.open(tmp_path / "faces.png").size == (4 * 64 + 5 * 2, 4 * 64 + 5 * 2)  # 4 x 4 faces, 2 px apart


@pytest.mark.parametrize("module", ["fit", "generate", "evaluate", "compare", "download", "bench", "project"])
def test_help_and_argument_errors_come_before_tensorflow_is_imported(module):
    code = (
        "import sys\n"
        f"from anime_dcgan import {module}\n"
        "for argv in (['--help'], ['--no-such-flag']):\n"
        "    try:\n"
        f"        {module}.main(argv)\n"
        "    except SystemExit:\n"
        "        pass\n"
        "print('tensorflow' in sys.modules)\n"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT)
    assert "usage:" in result.stdout and ": error: " in result.stderr
    assert result.stdout.strip().splitlines()[-1] == "False"


def test_tensorflow_start_up_lines_are_silenced(trained_run, tmp_path):
    result = subprocess.run(
        [sys.executable, "-m", "anime_dcgan.generate", "--model", str(trained_run), "--n", "1", "--out",
         str(tmp_path / "face.png")],
        capture_output=True, text=True, cwd=ROOT, env={k: v for k, v in os.environ.items() if k != "TF_CPP_MIN_LOG_LEVEL"},
    )  # fmt: skip
    assert result.returncode == 0
    assert result.stderr == ""  # no oneDNN, CUDA-probing or cuInit lines

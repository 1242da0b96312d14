"""The Dockerfile and packaging metadata refer only to files the repository has."""

import importlib.util
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest

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
        assert (ROOT / package_dirs.get(package, package)).is_dir()
    for target in project["project"]["scripts"].values():
        module = target.split(":")[0]
        assert (ROOT / (module.replace(".", "/") + ".py")).exists()


@pytest.mark.skipif(importlib.util.find_spec("setuptools") is None, reason="building the package needs setuptools")
def test_installed_package_finds_its_bundled_faces_outside_the_repository(tmp_path):
    target = tmp_path / "site-packages"
    subprocess.run(
        [sys.executable, "-m", "pip", "install", "--quiet", "--no-deps", "--no-build-isolation", "--target", str(target),
         str(ROOT)],
        check=True, capture_output=True, cwd=tmp_path,
    )  # fmt: skip
    code = "from anime_dcgan import data; print(data.BUNDLED_SAMPLE); print(len(data.find_image_files(data.BUNDLED_SAMPLE)))"
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, cwd=tmp_path, env={"PYTHONPATH": str(target)}
    )
    assert result.returncode == 0, result.stderr
    sample, count = result.stdout.split()
    assert Path(sample) == target / "anime_dcgan" / "sample"
    assert int(count) == len(list((ROOT / "data" / "sample").glob("*.png")))

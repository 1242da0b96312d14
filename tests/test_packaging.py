"""The Dockerfile and packaging metadata refer only to files the repository has."""

import tomllib
from pathlib import Path

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
    for package in project["tool"]["setuptools"]["packages"]:
        assert (ROOT / package / "__init__.py").exists()
    for target in project["project"]["scripts"].values():
        module = target.split(":")[0]
        assert (ROOT / (module.replace(".", "/") + ".py")).exists()

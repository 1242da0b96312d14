"""Kaggle downloads without Kaggle: credentials lookup, a fake fetch of a Kaggle-like zip, and the CLI."""

from __future__ import annotations

import io
import json
import sys
import types
import zipfile
from pathlib import Path

import pytest
from conftest import SAMPLE
from PIL import Image

from anime_dcgan.commands import download as download_cli
from anime_dcgan import kaggle
from anime_dcgan.kaggle import COMPLETE_MARKER, KaggleError

FACES = 5


@pytest.fixture(autouse=True)
def no_credentials(tmp_path, monkeypatch):
    """No Kaggle credentials anywhere: an empty home and config folder, no env variables, not in Colab."""
    home = tmp_path / "home"
    home.mkdir()
    for name in ("KAGGLE_USERNAME", "KAGGLE_KEY", "KAGGLE_API_TOKEN"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("HOME", str(home))
    monkeypatch.setenv("KAGGLE_CONFIG_DIR", str(home / ".kaggle"))
    monkeypatch.setitem(sys.modules, "google.colab", None)  # an import of it fails, as outside Colab
    monkeypatch.chdir(tmp_path)
    return home


@pytest.fixture(scope="module")
def good_zip() -> bytes:
    """A zip laid out like Kaggle's splcher/animefacedataset: images/<id>_<year>.jpg."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as zipped:
        for i, path in enumerate(sorted(SAMPLE.glob("*.png"))[:FACES]):
            jpeg = io.BytesIO()
            Image.open(path).convert("RGB").save(jpeg, "JPEG")
            zipped.writestr(f"images/{i}_{2000 + i}.jpg", jpeg.getvalue())
    return buffer.getvalue()


class FakeFetch:
    """A fetch(dataset, archive_dir) that writes `payload` as <name>.zip and counts its calls."""

    def __init__(self, payload: bytes):
        self.payload, self.calls = payload, []

    def __call__(self, dataset: str, archive_dir: Path) -> Path:
        self.calls.append(dataset)
        archive_dir.mkdir(parents=True, exist_ok=True)
        archive = archive_dir / f"{dataset.split('/')[1]}.zip"
        archive.write_bytes(self.payload)
        return archive


def set_credentials(monkeypatch) -> None:
    monkeypatch.setenv("KAGGLE_USERNAME", "someone")
    monkeypatch.setenv("KAGGLE_KEY", "secret")


def test_without_credentials_download_says_what_to_do(tmp_path):
    with pytest.raises(KaggleError) as caught:
        kaggle.download("splcher/animefacedataset", tmp_path / "faces")
    message = str(caught.value)
    assert "kaggle.json" in message and "--data" in message and "KAGGLE_KEY" in message
    assert "\n" not in message
    assert not (tmp_path / "faces").exists()  # nothing touched before the credentials check


def test_credentials_from_env(monkeypatch):
    assert kaggle.find_credentials() is None
    set_credentials(monkeypatch)
    assert kaggle.find_credentials() == ("someone", "secret")


def test_credentials_from_kaggle_json(no_credentials, monkeypatch):
    monkeypatch.delenv("KAGGLE_CONFIG_DIR")
    (no_credentials / ".kaggle").mkdir()
    (no_credentials / ".kaggle" / "kaggle.json").write_text(json.dumps({"username": "me", "key": "k1"}))
    assert kaggle.find_credentials() == ("me", "k1")


def test_credentials_from_kaggle_config_dir(tmp_path, monkeypatch):
    config = tmp_path / "elsewhere"
    config.mkdir()
    (config / "kaggle.json").write_text(json.dumps({"username": "you", "key": "k2"}))
    monkeypatch.setenv("KAGGLE_CONFIG_DIR", str(config))
    assert kaggle.find_credentials() == ("you", "k2")
    (config / "kaggle.json").write_text("{not json")
    with pytest.raises(KaggleError, match="not a valid Kaggle token"):
        kaggle.find_credentials()


def test_credentials_from_colab_secrets(monkeypatch):
    secrets = {"KAGGLE_USERNAME": "colab", "KAGGLE_KEY": "k3"}
    colab = types.ModuleType("google.colab")
    colab.userdata = types.SimpleNamespace(get=secrets.__getitem__)  # a missing secret raises, as in Colab
    monkeypatch.setitem(sys.modules, "google.colab", colab)
    assert kaggle.find_credentials() == ("colab", "k3")
    del secrets["KAGGLE_KEY"]
    assert kaggle.find_credentials() is None


def test_download_extracts_once_and_reuses(tmp_path, good_zip):
    from anime_dcgan.data import find_image_files

    fetch = FakeFetch(good_zip)
    folder = kaggle.download("splcher/animefacedataset", tmp_path / "faces", fetch=fetch)
    assert len(find_image_files(folder)) == FACES
    assert kaggle.complete_count(folder) == FACES
    assert sorted(p.name for p in folder.iterdir()) == [COMPLETE_MARKER, "images"]  # archive removed
    assert kaggle.download("splcher/animefacedataset", tmp_path / "faces", fetch=fetch) == folder
    assert fetch.calls == ["splcher/animefacedataset"]


def test_default_dest_is_data_name(good_zip):
    folder = kaggle.download("soumikrakshit/anime-faces", fetch=FakeFetch(good_zip))
    assert folder == Path("data") / "anime-faces"
    assert kaggle.complete_count(folder) == FACES


def test_truncated_archive_leaves_no_marker_and_is_redone(tmp_path, good_zip):
    dest = tmp_path / "faces"
    with pytest.raises(KaggleError, match="incomplete or corrupt") as caught:
        kaggle.download(dest=dest, fetch=FakeFetch(good_zip[: len(good_zip) // 2]))
    assert "\n" not in str(caught.value)
    assert not (dest / COMPLETE_MARKER).exists()
    fetch = FakeFetch(good_zip)
    assert kaggle.complete_count(kaggle.download(dest=dest, fetch=fetch)) == FACES
    assert len(fetch.calls) == 1


def test_corrupt_member_is_caught(tmp_path, good_zip):
    damaged = bytearray(good_zip)
    start = good_zip.index(b"\xff\xd8")  # the first JPEG's data, stored uncompressed
    damaged[start + 100 : start + 110] = bytes(10)
    archive = tmp_path / "damaged.zip"
    archive.write_bytes(damaged)
    with pytest.raises(KaggleError, match="incomplete or corrupt"):
        kaggle.extract_archive(archive, tmp_path / "out")
    assert not (tmp_path / "out" / COMPLETE_MARKER).exists()


def test_half_extracted_folder_is_redone(tmp_path, good_zip):
    dest = tmp_path / "faces"
    (dest / "images").mkdir(parents=True)
    (dest / kaggle.STARTED_MARKER).write_text("splcher/animefacedataset\n")  # killed during extraction
    (dest / "images" / "0_2000.jpg").write_bytes(b"half a file")
    (dest / "images" / "stale_1999.jpg").write_bytes(b"not in the archive")
    fetch = FakeFetch(good_zip)
    folder = kaggle.download(dest=dest, fetch=fetch)
    assert len(fetch.calls) == 1
    assert not (folder / "images" / "stale_1999.jpg").exists()
    assert (folder / "images" / "0_2000.jpg").read_bytes()[:2] == b"\xff\xd8"
    assert kaggle.complete_count(folder) == FACES


def test_a_folder_of_other_files_is_never_cleared(tmp_path, good_zip):
    dest = tmp_path / "mine"
    dest.mkdir()
    (dest / "precious.png").write_bytes(b"keep me")
    with pytest.raises(KaggleError, match="another --dest"):
        kaggle.download(dest=dest, fetch=FakeFetch(good_zip))
    assert (dest / "precious.png").read_bytes() == b"keep me"


def test_unsafe_members_are_rejected(tmp_path):
    for name in ("../evil.jpg", "/abs/evil.jpg", "images/../../evil.jpg"):
        archive = tmp_path / "unsafe.zip"
        with zipfile.ZipFile(archive, "w") as zipped:
            zipped.writestr(name, b"x")
        with pytest.raises(KaggleError, match="unsafe"):
            kaggle.extract_archive(archive, tmp_path / "out")
    assert not (tmp_path / "evil.jpg").exists() and not (tmp_path / "out" / COMPLETE_MARKER).exists()


def test_dataset_names():
    assert kaggle.dataset_name("https://www.kaggle.com/datasets/splcher/animefacedataset") == kaggle.DEFAULT_DATASET
    for bad in ("animefacedataset", "a/b/c", "/name", "owner/"):
        with pytest.raises(KaggleError, match="owner/name"):
            kaggle.dataset_name(bad)


def fake_kaggle_package(monkeypatch, error: Exception | None = None) -> list:
    """Install a stand-in for kaggle.api.kaggle_api_extended; returns the list of its recorded calls."""
    calls = []

    class KaggleApi:
        def authenticate(self):
            calls.append(("authenticate", kaggle.os.environ["KAGGLE_USERNAME"], kaggle.os.environ["KAGGLE_KEY"]))

        def dataset_download_files(self, dataset, path, unzip, quiet):
            calls.append(("download", dataset, unzip))
            if error is not None:
                raise error
            (Path(path) / f"{dataset.split('/')[1]}.zip").write_bytes(b"zip")

    module = types.ModuleType("kaggle.api.kaggle_api_extended")
    module.KaggleApi = KaggleApi
    for name in ("kaggle", "kaggle.api"):
        monkeypatch.setitem(sys.modules, name, types.ModuleType(name))
    monkeypatch.setitem(sys.modules, "kaggle.api.kaggle_api_extended", module)
    return calls


def test_kaggle_fetch_uses_the_kaggle_api(no_credentials, tmp_path, monkeypatch):
    (no_credentials / ".kaggle").mkdir()
    (no_credentials / ".kaggle" / "kaggle.json").write_text(json.dumps({"username": "me", "key": "k1"}))
    calls = fake_kaggle_package(monkeypatch)
    archive = kaggle.kaggle_fetch("splcher/animefacedataset", tmp_path / "archive")
    assert archive == tmp_path / "archive" / "animefacedataset.zip"
    assert calls == [("authenticate", "me", "k1"), ("download", "splcher/animefacedataset", False)]


def test_kaggle_fetch_reports_unknown_dataset_and_network_errors(tmp_path, monkeypatch):
    set_credentials(monkeypatch)
    missing = RuntimeError("Not Found")
    missing.status = 404
    fake_kaggle_package(monkeypatch, missing)
    with pytest.raises(KaggleError, match="no dataset nobody/nothing.*--data"):
        kaggle.kaggle_fetch("nobody/nothing", tmp_path / "archive")
    fake_kaggle_package(monkeypatch, ConnectionError("Max retries exceeded\nwith url"))
    with pytest.raises(KaggleError, match="could not download.*network.*--data") as caught:
        kaggle.kaggle_fetch("splcher/animefacedataset", tmp_path / "archive")
    assert "\n" not in str(caught.value)


def test_kaggle_fetch_without_the_kaggle_package(tmp_path, monkeypatch):
    set_credentials(monkeypatch)
    monkeypatch.setitem(sys.modules, "kaggle.api.kaggle_api_extended", None)  # as if not installed
    with pytest.raises(KaggleError, match="pip install kaggle, or pass --data"):
        kaggle.kaggle_fetch("splcher/animefacedataset", tmp_path / "archive")


def test_resolve_data(monkeypatch):
    calls = []
    monkeypatch.setattr(kaggle, "download", lambda dataset: calls.append(dataset) or Path("data") / "x")
    assert kaggle.resolve_data("data/sample") == "data/sample"
    assert kaggle.resolve_data("/some/kaggle/folder") == "/some/kaggle/folder"
    assert kaggle.resolve_data("kaggle:soumikrakshit/anime-faces") == str(Path("data") / "x")
    assert kaggle.resolve_data("kaggle") == str(Path("data") / "x")
    assert calls == ["soumikrakshit/anime-faces", kaggle.DEFAULT_DATASET]


def test_cli_without_credentials_prints_one_error_line(capsys):
    assert download_cli.main(["--dest", "faces"]) == 2
    err = capsys.readouterr().err
    assert err.startswith("error: no Kaggle credentials") and err.count("\n") == 1


def test_cli_downloads_and_prints_the_next_command(monkeypatch, capsys, good_zip):
    set_credentials(monkeypatch)
    fetch = FakeFetch(good_zip)
    monkeypatch.setattr(kaggle, "kaggle_fetch", fetch)
    assert download_cli.main(["soumikrakshit/anime-faces"]) == 0
    out = capsys.readouterr().out
    folder = Path("data") / "anime-faces"
    assert f"{FACES} images of soumikrakshit/anime-faces downloaded in {folder}" in out
    assert f"python -m anime_dcgan.fit --data {folder}" in out
    assert download_cli.main(["soumikrakshit/anime-faces"]) == 0
    assert "already downloaded" in capsys.readouterr().out and len(fetch.calls) == 1

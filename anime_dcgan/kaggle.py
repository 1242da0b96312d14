"""Download a face data set from Kaggle once, verify it, and reuse it: `download("splcher/animefacedataset")`.

A download lives in one folder (default `data/<name>`). A `.complete` marker, holding the number of images, is
written only after the whole archive was verified and extracted; a download cut short is redone from scratch.
"""

from __future__ import annotations

import json
import os
import shutil
import zipfile
import zlib
from collections.abc import Callable
from pathlib import Path, PurePosixPath

from anime_dcgan.errors import UserError
from anime_dcgan.config import IMAGE_EXTENSIONS

DEFAULT_DATASET = "splcher/animefacedataset"  # "Anime Face Dataset": 63,632 faces in images/<id>_<year>.jpg
COMPLETE_MARKER = ".complete"  # written last: the download is whole; holds the number of images
STARTED_MARKER = ".downloading"  # written first: the folder is ours to clear if the download is cut short
ARCHIVE_DIR = ".archive"  # where the .zip is fetched to; removed after extraction
DATA_HINT = "or pass --data with a folder of images"

Fetch = Callable[[str, Path], Path]


class KaggleError(UserError, RuntimeError):
    """A Kaggle download cannot be done; the one-line message says what to do."""


def dataset_name(dataset: str) -> str:
    """`owner/name` from `owner/name` or a kaggle.com dataset URL; raises KaggleError for anything else."""
    slug = dataset.strip().rstrip("/")
    for prefix in ("https://", "http://", "www.", "kaggle.com/", "datasets/"):
        slug = slug.removeprefix(prefix)
    parts = slug.split("/")
    if len(parts) != 2 or not all(parts) or any(c.isspace() or c in "\\:" for c in slug):
        raise KaggleError(f"{dataset!r} is not a Kaggle dataset: name it owner/name, e.g. {DEFAULT_DATASET}")
    return slug


def default_dest(dataset: str) -> Path:
    """`data/<name>` (relative to the current folder) for the dataset `owner/name`."""
    return Path("data") / dataset_name(dataset).split("/")[1]


def config_dir() -> Path:
    """The folder of kaggle.json: $KAGGLE_CONFIG_DIR, else ~/.kaggle."""
    return Path(os.environ.get("KAGGLE_CONFIG_DIR") or Path.home() / ".kaggle").expanduser()


def _colab_credentials() -> tuple[str, str] | None:
    """KAGGLE_USERNAME and KAGGLE_KEY from Colab's secrets, when running in Colab and both are granted."""
    try:
        from google.colab import userdata  # type: ignore[import-not-found]
    except ImportError:
        return None
    try:
        username, key = userdata.get("KAGGLE_USERNAME"), userdata.get("KAGGLE_KEY")
    except Exception:  # SecretNotFoundError, NotebookAccessError, TimeoutException, ...
        return None
    return (username, key) if username and key else None


def find_credentials() -> tuple[str, str] | None:
    """(username, key) from $KAGGLE_USERNAME/$KAGGLE_KEY, else kaggle.json, else Colab secrets; None if none.

    Raises KaggleError if kaggle.json exists but is not a valid token file.
    """
    username, key = os.environ.get("KAGGLE_USERNAME"), os.environ.get("KAGGLE_KEY")
    if username and key:
        return username, key
    path = config_dir() / "kaggle.json"
    if path.is_file():
        try:
            token = json.loads(path.read_text())
            return str(token["username"]), str(token["key"])
        except (OSError, ValueError, KeyError, TypeError):
            raise KaggleError(
                f"{path} is not a valid Kaggle token: replace it with a new one "
                "(kaggle.com > Settings > API > Create New Token)"
            ) from None
    return _colab_credentials()


def require_credentials() -> tuple[str, str]:
    """find_credentials(), or a KaggleError that says how to provide them."""
    credentials = find_credentials()
    if credentials is None:
        raise KaggleError(
            "no Kaggle credentials: put kaggle.json in ~/.kaggle/ (kaggle.com > Settings > API > Create New Token), "
            "or set KAGGLE_USERNAME and KAGGLE_KEY (Colab: add them as secrets), or pass --data with a folder of images"
        )
    return credentials


def _one_line(error: BaseException) -> str:
    text = " ".join(str(error).split())
    text = text if len(text) <= 200 else text[:199] + "…"
    return f"{type(error).__name__}: {text}" if text else type(error).__name__


def _http_status(error: BaseException) -> int | None:
    """The HTTP status of a kaggle (ApiException.status) or requests (HTTPError.response) error, if any."""
    status = getattr(error, "status", None) or getattr(getattr(error, "response", None), "status_code", None)
    return status if isinstance(status, int) else None


def kaggle_fetch(dataset: str, archive_dir: Path) -> Path:
    """Download the dataset's .zip into `archive_dir` with the `kaggle` package; returns the archive's path."""
    username, key = require_credentials()  # before importing kaggle, which authenticates on import
    os.environ["KAGGLE_USERNAME"], os.environ["KAGGLE_KEY"] = username, key  # so Colab secrets work too
    try:
        from kaggle.api.kaggle_api_extended import KaggleApi
    except ImportError as error:
        missing = getattr(error, "name", None) or "kaggle"  # kaggle 2.2 imports six without requiring it
        package = "kaggle" if missing.split(".")[0] == "kaggle" else missing
        raise KaggleError(
            f"cannot import the kaggle package ({_one_line(error)}): pip install {package}, {DATA_HINT}"
        ) from None
    except (Exception, SystemExit) as error:  # old versions fail the import when authentication fails
        raise KaggleError(f"Kaggle refused the credentials ({_one_line(error)}): check them, {DATA_HINT}") from None
    archive_dir.mkdir(parents=True, exist_ok=True)
    try:
        api = KaggleApi()
        api.authenticate()
        api.dataset_download_files(dataset, path=str(archive_dir), unzip=False, quiet=False)
    except (Exception, SystemExit) as error:  # authenticate() calls exit(1); HTTP and network errors vary by version
        if _http_status(error) in (403, 404):
            raise KaggleError(
                f"Kaggle has no dataset {dataset} that you may download (HTTP {_http_status(error)}): "
                f"check the name owner/name and accept its rules on kaggle.com, {DATA_HINT}"
            ) from None
        raise KaggleError(
            f"could not download {dataset} from Kaggle ({_one_line(error)}): check the network and run again, "
            f"{DATA_HINT}"
        ) from None
    archives = sorted(archive_dir.glob("*.zip"))
    if not archives:
        raise KaggleError(f"Kaggle sent no .zip archive for {dataset}: run again, {DATA_HINT}")
    expected = archive_dir / f"{dataset.split('/')[1]}.zip"
    return expected if expected in archives else archives[0]


def complete_count(dest: str | Path) -> int | None:
    """The number of images of the complete download in `dest`, or None if it is not complete."""
    try:
        return int((Path(dest) / COMPLETE_MARKER).read_text().strip())
    except (OSError, ValueError):
        return None


def _safe_member(name: str) -> bool:
    """Whether an archive member stays inside the extraction folder (no absolute path, drive or `..`)."""
    path = PurePosixPath(name.replace("\\", "/"))
    return bool(name) and not path.is_absolute() and ".." not in path.parts and ":" not in name


def extract_archive(archive: Path, dest: Path) -> int:
    """Verify the zip `archive`, extract it into `dest`, then write the `.complete` marker; returns the image count.

    A truncated or corrupt archive, or one whose members would land outside `dest`, raises KaggleError and
    leaves no marker.
    """
    archive, dest = Path(archive), Path(dest)
    (dest / COMPLETE_MARKER).unlink(missing_ok=True)
    try:
        with zipfile.ZipFile(archive) as zipped:
            bad = zipped.testzip()
            if bad is not None:
                raise zipfile.BadZipFile(f"bad CRC in {bad}")
            members = zipped.infolist()
            unsafe = [m.filename for m in members if not _safe_member(m.filename)]
            if unsafe:
                raise KaggleError(f"{archive.name} holds unsafe paths such as {unsafe[0]!r}: it was not extracted")
            zipped.extractall(dest)
    except (zipfile.BadZipFile, EOFError, zlib.error) as error:
        raise KaggleError(
            f"the download of {archive.name} is incomplete or corrupt ({_one_line(error)}): "
            "run again to download it anew"
        ) from None
    except OSError as error:
        raise KaggleError(f"could not extract {archive} into {dest} ({_one_line(error)}): check the disk") from None
    suffixes = (PurePosixPath(m.filename).suffix.lower() for m in members if not m.is_dir())
    images = sum(suffix in IMAGE_EXTENSIONS for suffix in suffixes)
    if images == 0:
        raise KaggleError(f"{archive.name} holds no images: choose an image dataset, {DATA_HINT}")
    (dest / COMPLETE_MARKER).write_text(f"{images}\n")
    return images


def _start_fresh(dest: Path, dataset: str) -> None:
    """Make `dest` an empty folder marked as ours, clearing a download that was cut short.

    Refuses (KaggleError) a folder that holds other files, so that a wrong --dest never deletes anything else.
    """
    if dest.exists() and not dest.is_dir():
        raise KaggleError(f"{dest} is a file: pass --dest with a folder for the download")
    if dest.is_dir():
        if any(dest.iterdir()) and not (dest / STARTED_MARKER).exists():
            raise KaggleError(
                f"{dest} already holds files that are not a download of this tool: pass another --dest, or pass it "
                "as --data if it holds images"
            )
        shutil.rmtree(dest)
    dest.mkdir(parents=True)
    (dest / STARTED_MARKER).write_text(f"{dataset}\n")


def _tidy(dest: Path) -> None:
    """Remove the archive and the started marker of a complete download."""
    shutil.rmtree(dest / ARCHIVE_DIR, ignore_errors=True)
    (dest / STARTED_MARKER).unlink(missing_ok=True)


def download(dataset: str = DEFAULT_DATASET, dest: str | Path | None = None, fetch: Fetch | None = None) -> Path:
    """Download and extract the Kaggle dataset `owner/name` into `dest` (default data/<name>); returns `dest`.

    The returned folder is `dest` itself: images sit in dataset-specific subfolders (images/ for
    splcher/animefacedataset), which the data pipeline finds because it searches recursively. A complete
    download is reused without any network call; a partial one is cleared and redone. `fetch(dataset,
    archive_dir) -> zip path` does the transfer (default: kaggle_fetch, which needs Kaggle credentials).
    """
    dataset = dataset_name(dataset)
    dest = Path(dest).expanduser() if dest is not None else default_dest(dataset)
    if complete_count(dest) is not None:
        _tidy(dest)  # leftovers if it was stopped just after extraction
        return dest
    if fetch is None:
        require_credentials()  # fail before touching any folder
        fetch = kaggle_fetch
    _start_fresh(dest, dataset)
    archive = fetch(dataset, dest / ARCHIVE_DIR)
    extract_archive(archive, dest)
    _tidy(dest)
    return dest


def resolve_data(spec: str) -> str:
    """The folder for a --data value: `kaggle` or `kaggle:owner/name` downloads (once); a path is returned as is."""
    if spec == "kaggle":
        return str(download(DEFAULT_DATASET))
    if spec.startswith("kaggle:"):
        return str(download(spec.removeprefix("kaggle:")))
    return spec

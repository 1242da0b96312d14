"""The Colab notebooks in notebooks/: committed clean, and each one runs end to end (quick mode) with papermill."""

from __future__ import annotations

import contextlib
import json
import re
import sys
from collections.abc import Iterator
from pathlib import Path

import papermill
import pytest
from jupyter_client import KernelManager

NOTEBOOKS = Path(__file__).resolve().parent.parent / "notebooks"
NAMES = ["01_data", "02_train", "03_generate"]
COLAB = "https://colab.research.google.com/github/anime-dcgan/anime-dcgan/blob/main/notebooks/{}.ipynb"
BADGE = "https://colab.research.google.com/assets/colab-badge.svg"
QUICK = {"quick": True, "epochs": 1}


@pytest.fixture(autouse=True)
def this_environments_kernel(monkeypatch):
    """Find the "python3" kernel of this environment first (ipykernel installs it under sys.prefix), not one a user
    registered elsewhere for another Python; its `python` command then runs as this interpreter."""
    monkeypatch.setenv("JUPYTER_PATH", str(Path(sys.prefix) / "share" / "jupyter"))


def load(path: Path) -> dict:
    return json.loads(path.read_text())


def source(cell: dict) -> str:
    text = cell["source"]
    return text if isinstance(text, str) else "".join(text)


def execute(name: str, output: Path, kernel: KernelManager | None = None, **parameters) -> dict:
    """Run notebooks/<name>.ipynb in quick mode with `parameters`, in a kernel of its own or in `kernel`; returns the
    executed notebook."""
    papermill.execute_notebook(
        str(NOTEBOOKS / f"{name}.ipynb"),
        str(output),
        parameters={**QUICK, **parameters},
        cwd=str(NOTEBOOKS),  # as in Jupyter: the notebook's folder, so the setup cell finds the checkout
        kernel_name="python3",
        progress_bar=False,
        execution_timeout=300,
        **({"km": kernel} if kernel else {}),
    )
    return load(output)


@contextlib.contextmanager
def running_kernel() -> Iterator[KernelManager]:
    """A python3 kernel started in notebooks/, as Jupyter starts one, for notebooks run in it one after another."""
    kernel = KernelManager(kernel_name="python3")
    kernel.start_kernel(cwd=str(NOTEBOOKS))
    try:
        yield kernel
    finally:
        kernel.shutdown_kernel(now=True)


def outputs(notebook: dict) -> list[dict]:
    return [output for cell in notebook["cells"] for output in cell.get("outputs", [])]


def mime_count(notebook: dict, mime: str) -> int:
    return sum(mime in output.get("data", {}) for output in outputs(notebook))


def stdout(notebook: dict) -> str:
    return "".join(
        source({"source": output["text"]}) for output in outputs(notebook) if output.get("name") == "stdout"
    )


@pytest.mark.parametrize("name", NAMES)
def test_committed_notebook_is_clean_and_colab_ready(name):
    notebook = load(NOTEBOOKS / f"{name}.ipynb")
    assert notebook["nbformat"] == 4
    assert notebook["metadata"]["kernelspec"]["name"] == "python3"
    cells = notebook["cells"]
    code = [cell for cell in cells if cell["cell_type"] == "code"]
    assert all(cell["outputs"] == [] and cell["execution_count"] is None for cell in code), "clear the outputs"

    title = source(cells[0])
    assert cells[0]["cell_type"] == "markdown" and title.startswith("# ")
    assert BADGE in title and COLAB.format(name) in title

    setup = source(code[0])
    assert '"google.colab" in sys.modules' in setup and "sys.path.insert" in setup

    tagged = [cell for cell in cells if "parameters" in cell.get("metadata", {}).get("tags", [])]
    assert len(tagged) == 1 and tagged[0]["cell_type"] == "code"
    parameters = source(tagged[0])
    if name != "03_generate":  # which trains nothing: it draws with the package's own generator
        assert re.search(r"^epochs = \d+", parameters, re.M)
        assert re.search(r"^quick = False\b", parameters, re.M)


def test_data_notebook_shows_faces_and_times_the_pipeline(tmp_path):
    out = tmp_path / "figures"
    notebook = execute("01_data", tmp_path / "01_data.ipynb", out_dir=str(out))
    assert mime_count(notebook, "image/png") >= 2  # the real faces and one batch
    assert re.search(r"pass 1: 992 images in .* images/s", stdout(notebook))  # 62 batches of 16
    assert (out / "real_faces.png").is_file() and (out / "batch.png").is_file()


def test_train_notebook_trains_shows_the_run_and_resumes(tmp_path):
    run = tmp_path / "run"
    with running_kernel() as kernel:
        notebook = execute("02_train", tmp_path / "02_train.ipynb", kernel, run_dir=str(run))
        # As its last cell says: set epochs higher and run the cells again.
        again = execute("02_train", tmp_path / "02_train_resumed.ipynb", kernel, run_dir=str(run), epochs=2)
    for name in ("samples/epoch_0001.png", "progress.gif", "losses.png", "history.csv", "generator.keras", "config.json"):
        assert (run / name).is_file(), name
    assert mime_count(notebook, "image/png") >= 2  # the latest grid and losses.png
    assert mime_count(notebook, "image/gif") == 1  # progress.gif
    assert "Writing the run to" in stdout(notebook)
    assert "Resuming" in stdout(again)
    assert (run / "samples" / "epoch_0002.png").is_file()
    assert json.loads((run / "config.json").read_text())["width"] == 8  # quick's tiny model


def test_generate_notebook_works_standalone(tmp_path):
    out = tmp_path / "generate"
    notebook = execute("03_generate", tmp_path / "03_generate.ipynb", out_dir=str(out), projection_steps=40)
    assert "Generator from pretrained: z of 100 numbers -> 64x64 RGB" in stdout(notebook)  # the package's own
    for name in ("faces.png", "walk.png", "walk.gif", "seed_7.png", "truncation.png", "projection.png", "latent.npy"):
        assert (out / name).is_file(), name
    assert mime_count(notebook, "image/png") >= 6  # grid, walk strip, seed grid, seed twice, truncation, projection
    projected, random_best = (float(db) for db in re.findall(r"PSNR ([\d.]+) dB", stdout(notebook)))
    assert projected > random_best  # the projection draws the real face closer than any of 100 random faces
    assert mime_count(notebook, "image/gif") == 1
    assert "the same face: True" in stdout(notebook)

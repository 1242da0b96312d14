"""README.md as a guide: short, with the two set-up commands near its top exactly as CI runs them, naming only modules
and commands that exist, and with its cheap commands working as written."""

from __future__ import annotations

import importlib
import re
import shlex
import tomllib
from pathlib import Path

import pytest
from PIL import Image

ROOT = Path(__file__).resolve().parent.parent
README = ROOT / "README.md"
MAX_LINES = 250
# README.md, "Quick start", commands 1 and 2 (command 2 is what .ci/run runs; command 1 trains the sample run).
COMMAND_1 = (
    "python3 -m venv .venv && .venv/bin/pip install -r requirements.txt && "
    ".venv/bin/python -m anime_dcgan.fit --epochs 10 --out runs/sample && "
    ".venv/bin/python -m anime_dcgan.compare runs/sample pretrained --out runs/sample/compare.png"
)
COMMAND_2 = ".venv/bin/pip install -r requirements-dev.txt && .venv/bin/python -m pytest -q"
PYTHON = re.compile(r"^(?:\S*/)?python3?$")  # python, python3, .venv/bin/python
TINY_FLAGS = ["--image-size", "32", "--width", "4", "--latent-dim", "8", "--batch-size", "16", "--verbose", "2"]


def readme_lines() -> list[str]:
    return README.read_text(encoding="utf-8").splitlines()


def shell_lines(section: str) -> list[str]:
    """The command lines of the ```bash blocks in the README section whose heading starts with `section`, without
    comment lines and trailing comments."""
    text = README.read_text(encoding="utf-8")
    match = re.search(rf"^## {re.escape(section)}.*?$(.*?)(?=^## |\Z)", text, re.MULTILINE | re.DOTALL)
    assert match, f"README.md has no section '## {section}'"
    commands = []
    for block in re.findall(r"^```bash\n(.*?)^```", match.group(1), re.MULTILINE | re.DOTALL):
        for line in block.splitlines():
            line = re.sub(r"\s+#.*$", "", line).strip()
            if line and not line.startswith("#"):
                commands.append(line)
    return commands


def run_as_written(command: list[str], cwd: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """`command` (`python -m anime_dcgan.NAME ARGS`) as the command NAME's main(ARGS), in `cwd`: the same arguments
    in this process (tests/test_packaging.py starts the commands as processes)."""
    assert PYTHON.match(command[0]) and command[1] == "-m" and command[2].startswith("anime_dcgan."), command
    name = command[2].removeprefix("anime_dcgan.")
    main = importlib.import_module(f"anime_dcgan.commands.{name}").main
    with monkeypatch.context() as patch:
        patch.chdir(cwd)
        assert main(command[3:]) == 0, f"{shlex.join(command)} failed"


def test_the_readme_is_at_most_250_lines():
    count = len(readme_lines())
    assert count <= MAX_LINES, f"README.md has {count} lines; it is a guide of at most {MAX_LINES}: move detail to docs/"


@pytest.mark.parametrize("command", [COMMAND_1, COMMAND_2], ids=["command 1", "command 2"])
def test_the_two_set_up_commands_are_verbatim_in_the_first_80_lines(command):
    assert command in [line.strip() for line in readme_lines()[:80]], (
        f"README.md's first 80 lines must hold, as a line of its own, the Quick start command\n{command}"
    )


def test_ci_runs_the_readmes_command_2():
    ci = [line.strip() for line in (ROOT / ".ci" / "run").read_text().splitlines()]
    commands = [line for line in ci if line and not line.startswith("#")]
    assert "python3 -m venv .venv" in commands  # the virtual environment command 1 makes
    # CI may quieten pip (-q); otherwise it runs command 2 as the README writes it.
    assert COMMAND_2 in [line.replace("pip install -q ", "pip install ") for line in commands], (
        f".ci/run does not run the README's command 2: {COMMAND_2}"
    )


def test_every_module_and_console_command_the_readme_names_exists():
    text = README.read_text(encoding="utf-8")
    modules = set(re.findall(r"python3? -m anime_dcgan\.([A-Za-z_]\w*)", text))
    scripts = set(re.findall(r"\b(anime-dcgan-[a-z][a-z-]*[a-z])\b", text))
    assert {"fit", "generate", "evaluate", "compare", "download", "bench"} <= modules | {
        name.removeprefix("anime-dcgan-") for name in scripts
    }
    missing = sorted(
        module
        for module in modules
        if not (ROOT / "anime_dcgan" / f"{module}.py").is_file()
        and not (ROOT / "anime_dcgan" / module / "__main__.py").is_file()
    )
    assert not missing, f"README.md runs modules that do not exist: {missing}"

    declared = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["scripts"]
    assert sorted(scripts - set(declared)) == [], "README.md names console commands pyproject.toml does not declare"
    assert set(declared) <= scripts, f"README.md should list every console command: {sorted(set(declared) - scripts)}"
    for name in scripts:
        module = declared[name].split(":")[0]
        assert (ROOT / Path(*module.split("."))).with_suffix(".py").is_file(), f"{name} -> {module}: no such module"


def test_faces_in_a_minute_and_the_quick_start_run_as_written(tmp_path, monkeypatch):
    drawn = shell_lines("Faces in a minute")
    assert any(line.endswith("python -m anime_dcgan.generate --n 64 --out faces.png") for line in drawn), drawn
    for line in drawn:
        run_as_written(shlex.split(line), tmp_path, monkeypatch)
    assert Image.open(tmp_path / "faces.png").size == (8 * 64 + 9 * 2, 8 * 64 + 9 * 2)  # 8 x 8 faces, 2 px apart
    assert len(list((tmp_path / "faces").glob("*.png"))) == 16

    # Command 1's training, tiny and for one epoch: the run folder holds what "What a run writes" says.
    fit, compare = (shlex.split(part) for part in COMMAND_1.split(" && ")[-2:])
    fit[fit.index("--epochs") + 1] = "1"
    run_as_written(fit + TINY_FLAGS, tmp_path, monkeypatch)
    run = tmp_path / "runs" / "sample"
    for name in ("samples/epoch_0001.png", "progress.gif", "history.csv", "losses.png", "generator.keras",
                 "config.json"):  # fmt: skip
        assert (run / name).exists(), name
    run_as_written(compare, tmp_path, monkeypatch)  # the run's faces above the pretrained generator's
    assert Image.open(run / "compare.png").size[1] == 2 * (64 + 2 * 2)

"""The documentation's links and the experiment scripts' usage lines: README.md and docs/*.md link only to files
that exist, and every script in experiments/ says at its top how to run it from the repository's root."""

from __future__ import annotations

import re
from pathlib import Path
from urllib.parse import unquote

import pytest

ROOT = Path(__file__).resolve().parent.parent
MARKDOWN = [ROOT / "README.md", *sorted((ROOT / "docs").rglob("*.md"))]
SCRIPTS = sorted(path for pattern in ("*.py", "*.sh") for path in (ROOT / "experiments").glob(pattern))

FENCE = re.compile(r"^(```|~~~).*?^\1", re.MULTILINE | re.DOTALL)  # fenced code blocks
CODE_SPAN = re.compile(r"(`+)(?:(?!\1).)+?\1", re.DOTALL)  # inline code: `...` or ``...``
# The target of [text](target) and ![alt](target), optionally in <...> and with a "title" after it.
LINK = re.compile(r"\]\(\s*<?([^)\s>]+)>?(?:\s+(?:\"[^\"]*\"|'[^']*'))?\s*\)")
SCHEME = re.compile(r"^[A-Za-z][A-Za-z0-9+.-]*:")  # http:, https:, mailto: ...


def relative_targets(markdown: str) -> list[str]:
    """The file paths that the links and images of `markdown` point to, without web links, pure #anchors and
    #fragments; what sits in code is not a link."""
    text = CODE_SPAN.sub("", FENCE.sub("", markdown))
    targets = []
    for target in LINK.findall(text):
        if SCHEME.match(target) or target.startswith("#"):
            continue
        targets.append(unquote(target.split("#", 1)[0].split("?", 1)[0]))
    return targets


def test_relative_targets_finds_links_and_images_but_not_web_links_anchors_or_code():
    markdown = (
        "See [the results](docs/results.md#appendix) and ![grid](samples.png \"a grid\"), "
        "[the web](https://example.com/x.md), [a section](#speed), `[not](code.md)`.\n"
        "```\n[nor](fenced.md)\n```\n"
    )
    assert relative_targets(markdown) == ["docs/results.md", "samples.png"]


@pytest.mark.parametrize("markdown", MARKDOWN, ids=lambda path: str(path.relative_to(ROOT)))
def test_markdown_links_and_images_resolve_to_files(markdown):
    missing = [
        target
        for target in relative_targets(markdown.read_text(encoding="utf-8"))
        if not (markdown.parent / target).is_file()
    ]
    assert not missing, f"{markdown.relative_to(ROOT)} links to files that do not exist: {missing}"


def test_experiment_scripts_exist_and_docs_holds_none():
    assert SCRIPTS, "experiments/ holds no *.py or *.sh scripts"
    left = sorted(path.name for pattern in ("*.py", "*.sh") for path in (ROOT / "docs").glob(pattern))
    assert not left, f"scripts belong in experiments/, not docs/: {left}"


@pytest.mark.parametrize("script", SCRIPTS, ids=lambda path: path.name)
def test_experiment_script_has_a_usage_line_naming_its_path(script):
    head = script.read_text(encoding="utf-8").splitlines()[:15]
    own_path = f"experiments/{script.name}"
    assert any("Usage:" in line and own_path in line for line in head), (
        f"{own_path} needs a line with 'Usage:' and '{own_path}' in its first 15 lines"
    )

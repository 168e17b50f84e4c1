"""The documentation holds together: a short README that leads to every page of the manual,
each page with a table of contents that matches its headings, and no link that goes nowhere."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

ROOT = Path(__file__).parent.parent
PAGES = sorted((ROOT / "docs").glob("*.md"))
LINK = re.compile(r"\]\(([^)\s]+)\)")


def headings(text: str) -> list[tuple[int, str]]:
    """(level, title) of each ``##``/``###`` heading outside code blocks."""
    found, fenced = [], False
    for line in text.splitlines():
        if line.startswith("```"):
            fenced = not fenced
        elif not fenced and (match := re.match(r"^(#{2,3}) (.*)$", line)):
            found.append((len(match.group(1)), match.group(2)))
    return found


def slug(title: str) -> str:
    """The anchor a Markdown renderer (GitHub's) gives a heading."""
    plain = re.sub(r"[^\w\- ]", "", title.strip().lower().replace("`", ""))
    return plain.replace(" ", "-")


def test_the_readme_is_a_front_door() -> None:
    """Short, with the two set-up commands, and a link to every page of the manual."""
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    assert len(readme.encode()) < 12_000
    assert "pip install . && .venv/bin/watcher run" in readme
    assert "pip install -e '.[test]' && .venv/bin/python -m pytest" in readme
    for page in PAGES:
        assert f"(docs/{page.name})" in readme, page.name


@pytest.mark.parametrize("page", PAGES, ids=lambda page: page.name)
def test_each_page_has_a_table_of_contents_that_matches_its_headings(page: Path) -> None:
    """Each page of the manual opens with a contents table that lists its headings, in order."""
    text = page.read_text(encoding="utf-8")
    listed = re.findall(r"^ *- \[(.*)\]\(#([\w\-]+)\)$", text, flags=re.M)
    sections = [(title, slug(title)) for _, title in headings(text) if title != "Contents"]
    assert listed == sections


@pytest.mark.parametrize("page", [ROOT / "README.md", *PAGES], ids=lambda page: page.name)
def test_every_relative_link_and_anchor_exists(page: Path) -> None:
    """Every link within the repository leads to a file that exists, and to a heading of it."""
    text = page.read_text(encoding="utf-8")
    for target in LINK.findall(text):
        if target.startswith(("http://", "https://", "mailto:")):
            continue
        path, _, anchor = target.partition("#")
        linked = (page.parent / path).resolve() if path else page
        assert linked.exists(), f"{page.name}: {target}"
        if anchor and linked.suffix == ".md":
            anchors = {slug(title) for _, title in headings(linked.read_text(encoding="utf-8"))}
            assert anchor in anchors, f"{page.name}: {target}"


def test_every_test_says_what_it_proves() -> None:
    """Each test function has a docstring saying which behaviour it proves."""
    import ast

    bare = [
        f"{path.relative_to(ROOT)}::{node.name}"
        for path in sorted((ROOT / "tests").rglob("test_*.py"))
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8")))
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef)
        and node.name.startswith("test_")
        and not ast.get_docstring(node)
    ]
    assert bare == []


def test_the_tests_mirror_the_tree() -> None:
    """Tests live beside what they prove: a folder per room of the package (core, parsing,
    render, config, adapters, service) and one for whole processes; at the top only the
    checks of the repository itself (architecture, docs, systemd units)."""
    top = sorted(path.name for path in (ROOT / "tests").glob("test_*.py"))
    assert top == ["test_architecture.py", "test_docs.py", "test_systemd_units.py"]
    rooms = {"core", "parsing", "render", "config", "adapters", "service"}
    folders = {path.parent.name for path in (ROOT / "tests").rglob("test_*.py")} - {"tests"}
    assert folders == rooms | {"processes"}
    assert all((ROOT / "watcher" / room).is_dir() for room in rooms)

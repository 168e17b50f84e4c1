"""The core stays pure: it never imports the adapters or the I/O libraries they wrap."""

from __future__ import annotations

import ast
import tomllib
from pathlib import Path

import pytest

PACKAGE = Path(__file__).parent.parent / "watcher"
CORE = [
    "model",
    "errors",
    "config",
    "durations",
    "matching/fold",
    "matching/query",
    "matching/matcher",
    "identity",
    "clustering",
    "diff",
    "triage",
    "templates",
    "schedule",
    "render",
    "parse",
    "fastparse",
    "analysis",
    "normalise",
    "text",
    "redact",
    "ports",
    "service",
    "locations",
    "xmlsafe",
    "opml",
]
FORBIDDEN = (
    "httpx",
    "sqlalchemy",
    "alembic",
    "apprise",
    "watcher.adapters",
    "watcher.app",
    "watcher.cli",
    "watcher.daemon",
    "rich",
    "click",
)


def imports(module: str) -> set[str]:
    tree = ast.parse((PACKAGE / f"{module}.py").read_text(encoding="utf-8"))
    found: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module:
            found.add(node.module)
    return found


@pytest.mark.parametrize("module", CORE)
def test_core_imports_point_inward(module: str) -> None:
    bad = {name for name in imports(module) if name.startswith(FORBIDDEN)}
    assert bad == set(), f"watcher/{module}.py imports {sorted(bad)}"


@pytest.mark.parametrize(
    ("library", "home"),
    [("sqlalchemy", "adapters/"), ("alembic", "adapters/"), ("pydantic", "config.py")],
)
def test_each_library_has_one_home(library: str, home: str) -> None:
    """SQLAlchemy and alembic stay in the adapters (which raise the project's own errors:
    nothing above them catches a SQLAlchemy exception); pydantic stays in the config loader."""
    users = {
        path.relative_to(PACKAGE).as_posix()
        for path in PACKAGE.rglob("*.py")
        if library in {name.split(".")[0] for name in imports(str(path.relative_to(PACKAGE))[:-3])}
    }
    assert users and all(user.startswith(home) for user in users), sorted(users)


def test_only_the_notify_adapter_imports_apprise() -> None:
    users = {
        path.relative_to(PACKAGE).as_posix()
        for path in PACKAGE.rglob("*.py")
        if "apprise"
        in {name.split(".")[0] for name in imports(str(path.relative_to(PACKAGE))[:-3])}
    }
    assert users == {"adapters/notify.py"}


def test_the_wheel_ships_the_package() -> None:
    """A non-editable install gets the code, not just the shipped config (a stray edit once
    left the wheel holding only watcher/_data)."""
    project = tomllib.loads((PACKAGE.parent / "pyproject.toml").read_text(encoding="utf-8"))
    wheel = project["tool"]["hatch"]["build"]["targets"]["wheel"]
    assert wheel["packages"] == ["watcher"]
    assert wheel["force-include"] == {"config/watcher.toml": "watcher/_data/watcher.toml"}

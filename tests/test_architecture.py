"""Imports point one way (cli and daemon → app → adapters → core), the core stays pure, and
each library has one home. Layers are read from a table of paths, so a new module is covered
without editing a list; reachability is followed through the package's own imports."""

from __future__ import annotations

import ast
import fnmatch
import sys
import tomllib
from pathlib import Path

import pytest

PACKAGE = Path(__file__).parent.parent / "watcher"
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


# Every module of the package is in the first layer whose pattern its path matches.
LAYERS = [
    ("cli/*", "cli"),
    ("__main__.py", "cli"),
    ("daemon.py", "daemon"),
    ("app.py", "app"),
    ("adapters/*", "adapters"),
    ("*", "core"),
]
MAY_IMPORT = {
    "cli": {"cli", "daemon", "app", "core"},
    "daemon": {"daemon", "app", "core"},
    "app": {"app", "adapters", "core"},
    "adapters": {"adapters", "core"},
    "core": {"core"},
}
# Edges that break the table today, each to be removed by the restructuring (issue 17). The
# test fails when one is no longer there, so this list only ever shrinks.
KNOWN_EXCEPTIONS = {
    ("watcher.cli.check_config", "watcher.adapters.store"),
    ("watcher.cli.common", "watcher.adapters.dblock"),
    ("watcher.cli.common", "watcher.adapters.store"),
    ("watcher.cli.database", "watcher.adapters.store"),
    ("watcher.daemon", "watcher.adapters.metrics"),
    ("watcher.daemon", "watcher.adapters.systemd"),
}
# What the core may reach, through any chain of the package's own imports, besides the
# standard library: the parsers, the query engine, templates and the config schema.
CORE_LIBRARIES = {"regex", "lxml", "feedparser", "jinja2", "markupsafe", "pydantic"}


def module_name(path: Path) -> str:
    parts = list(path.relative_to(PACKAGE.parent).with_suffix("").parts)
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


MODULES = {
    module_name(path): path for path in PACKAGE.rglob("*.py") if "migrations" not in path.parts
}


def layer_of(module: str) -> str:
    path = MODULES[module].relative_to(PACKAGE).as_posix()
    return next(layer for pattern, layer in LAYERS if fnmatch.fnmatch(path, pattern))


def imports(module: str) -> set[str]:
    tree = ast.parse((PACKAGE / f"{module}.py").read_text(encoding="utf-8"))
    found: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module:
            found.add(node.module)
    return found


def core_modules() -> list[str]:
    """Every core module, as a path under watcher/ without .py (read from the layer table)."""
    return sorted(
        str(MODULES[m].relative_to(PACKAGE).with_suffix("").as_posix())
        for m in MODULES
        if layer_of(m) == "core" and MODULES[m].name != "__init__.py"
    )


@pytest.mark.parametrize("module", core_modules())
def test_core_imports_point_inward(module: str) -> None:
    """No core module imports an adapter, the app, the daemon, the CLI or an I/O library."""
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
    """apprise has one home: the notify adapter."""
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


def graph() -> dict[str, set[str]]:
    """Each module → what it imports (the package's modules by name, and third-party top-level
    packages), anywhere in its body: a lazy import counts as much as one at the top."""
    edges: dict[str, set[str]] = {}
    for module, path in MODULES.items():
        found: set[str] = set()
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            names = []
            if isinstance(node, ast.Import):
                names = [alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
                names = [node.module] + [f"{node.module}.{alias.name}" for alias in node.names]
            for name in names:
                if name.split(".")[0] != "watcher":
                    found.add(name.split(".")[0])
                    continue
                while name not in MODULES and "." in name:
                    name = name.rsplit(".", 1)[0]
                if name in MODULES and name != module:
                    found.add(name)
        edges[module] = found
    return edges


def layer_violations(edges: dict[str, set[str]]) -> set[tuple[str, str]]:
    """The imports of one module by another that the table does not allow."""
    return {
        (module, target)
        for module, targets in edges.items()
        for target in targets
        if target in MODULES and layer_of(target) not in MAY_IMPORT[layer_of(module)]
    }


def reachable_libraries(edges: dict[str, set[str]], start: str) -> set[str]:
    """Third-party packages reached from ``start`` through any chain of the package's own
    imports."""
    seen, stack, libraries = {start}, [start], set()
    while stack:
        for target in edges.get(stack.pop(), ()):
            if target in MODULES:
                if target not in seen:
                    seen.add(target)
                    stack.append(target)
            elif target not in sys.stdlib_module_names:
                libraries.add(target)
    return libraries


def test_imports_point_one_way() -> None:
    """Every import between modules follows the table, but for the known exceptions, which
    must all still exist (remove one from the list when the code no longer needs it)."""
    found = layer_violations(graph())
    assert found - KNOWN_EXCEPTIONS == set(), sorted(found - KNOWN_EXCEPTIONS)
    assert KNOWN_EXCEPTIONS - found == set(), sorted(KNOWN_EXCEPTIONS - found)


def test_the_core_reaches_no_io_library() -> None:
    """Through any chain of imports, a core module reaches only the standard library and
    the core's own libraries: never httpx, SQLAlchemy, apprise, rich or click."""
    edges = graph()
    for module in MODULES:
        if layer_of(module) == "core":
            extra = reachable_libraries(edges, module) - CORE_LIBRARIES
            assert extra == set(), f"{module} reaches {sorted(extra)}"


def test_the_checks_catch_a_wrong_import() -> None:
    """The checks fail on what the rules forbid: the CLI importing the SQL adapter, and the
    core reaching httpx through a module it imports (clustering imports matching.fold)."""
    edges = graph()
    edges["watcher.cli.digest"] = edges["watcher.cli.digest"] | {"watcher.adapters.store"}
    assert ("watcher.cli.digest", "watcher.adapters.store") in layer_violations(edges)
    edges = graph()
    assert "watcher.matching.fold" in edges["watcher.clustering"]
    edges["watcher.matching.fold"] = edges["watcher.matching.fold"] | {"httpx"}
    assert "httpx" in reachable_libraries(edges, "watcher.clustering")

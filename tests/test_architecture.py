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

# Every module of the package is in the first layer whose pattern its path matches.
LAYERS = [
    ("cli/*", "cli"),
    ("__main__.py", "cli"),
    ("daemon/*", "daemon"),
    ("app.py", "app"),
    ("service/*", "service"),
    ("adapters/*", "adapters"),
    ("ports.py", "ports"),
    ("parsing/*", "parsing"),
    ("render/*", "render"),
    ("config/*", "config"),
    ("core/*", "core"),
    ("__init__.py", "core"),
]
# Imports point one way: cli and daemon → app → service and adapters → ports → core; parsing,
# render and config import only the core. A layer may import its own modules.
MAY_IMPORT = {
    "cli": {"cli", "daemon", "app", "ports", "parsing", "render", "config", "core"},
    "daemon": {"daemon", "app", "ports", "render", "config", "core"},
    "app": {"app", "service", "adapters", "ports", "parsing", "render", "config", "core"},
    "service": {"service", "ports", "render", "core"},
    "adapters": {"adapters", "ports", "parsing", "render", "core"},
    "ports": {"ports", "core"},
    "parsing": {"parsing", "core"},
    "render": {"render", "core"},
    "config": {"config", "core"},
    "core": {"core"},
}
# Each third-party library has one home: the only folder (or module) whose code imports it.
HOMES = {
    "httpx": ("adapters/http.py",),
    "httpx_aiohttp": ("adapters/http.py",),
    "aiohttp": ("adapters/http.py",),
    "sqlalchemy": ("adapters/sql/",),
    "alembic": ("adapters/sql/",),
    "apprise": ("adapters/notify.py",),
    "prometheus_client": ("adapters/metrics.py",),
    "feedparser": ("parsing/",),
    "lxml": ("parsing/", "render/"),
    "pydantic": ("config/", "parsing/jsonfeed.py"),  # the config file, and JSON Feeds
    "jinja2": ("render/",),
    "markupsafe": ("render/",),
    "click": ("cli/",),
    "rich": ("cli/",),
    "regex": ("core/matching/",),
    "rensa": ("core/clustering.py",),  # MinHash in Rust: computation, no I/O
}
# What each pure layer may reach, through any chain of the package's own imports, besides the
# standard library.
REACHABLE = {
    "core": {"regex", "rensa"},
    "parsing": {"regex", "feedparser", "lxml", "pydantic"},
    "render": {"regex", "jinja2", "markupsafe", "lxml"},
    "config": {"regex", "pydantic"},
    "ports": {"regex"},
}


def module_name(path: Path) -> str:
    parts = list(path.relative_to(PACKAGE.parent).with_suffix("").parts)
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


MODULES = {
    module_name(path): path for path in PACKAGE.rglob("*.py") if "migrations" not in path.parts
}


def layer_of(module: str) -> str:
    path = MODULES[module].relative_to(PACKAGE).as_posix()
    return next(layer for pattern, layer in LAYERS if fnmatch.fnmatch(path, pattern))


def libraries_of(path: Path) -> set[str]:
    """The third-party top-level packages one file imports, anywhere in its body."""
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            found.update(alias.name.split(".")[0] for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            found.add(node.module.split(".")[0])
    return {name for name in found if name != "watcher" and name not in sys.stdlib_module_names}


def layered_modules() -> list[str]:
    """Every module but the packages' __init__ files, as a path under watcher/ without .py."""
    return sorted(
        str(MODULES[m].relative_to(PACKAGE).with_suffix("").as_posix())
        for m in MODULES
        if MODULES[m].name != "__init__.py"
    )


@pytest.mark.parametrize("module", layered_modules())
def test_each_module_imports_what_its_layer_may(module: str) -> None:
    """A module imports only modules of the layers its own layer may use (the table above):
    the core nothing but the core, the CLI never an adapter, the service never the app."""
    name = "watcher." + module.replace("/", ".")
    edges = graph()
    bad = {target for target in edges[name] if target in MODULES and target not in allowed(name)}
    assert bad == set(), f"watcher/{module}.py ({layer_of(name)}) imports {sorted(bad)}"


def allowed(module: str) -> set[str]:
    return {m for m in MODULES if layer_of(m) in MAY_IMPORT[layer_of(module)]}


@pytest.mark.parametrize("library", sorted(HOMES))
def test_each_library_has_one_home(library: str) -> None:
    """A library is imported only in its home (SQLAlchemy in adapters/sql, which raises the
    project's own errors, so nothing above it catches a SQLAlchemy exception)."""
    users = {
        path.relative_to(PACKAGE).as_posix()
        for path in PACKAGE.rglob("*.py")
        if library in libraries_of(path)
    }
    assert users, f"nothing imports {library}: drop it from HOMES"
    strays = {user for user in users if not user.startswith(HOMES[library])}
    assert strays == set(), f"{library} is imported outside {HOMES[library]}: {sorted(strays)}"


def test_every_library_has_a_home() -> None:
    """A library new to the package gets a home in the table before it is used."""
    used = set().union(*(libraries_of(path) for path in PACKAGE.rglob("*.py")))
    assert used - set(HOMES) == set(), sorted(used - set(HOMES))


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
    """Every import between modules follows the table, with no exceptions left."""
    assert layer_violations(graph()) == set()


def test_the_pure_layers_reach_no_io_library() -> None:
    """Through any chain of imports, the core, the parsers, the renderers, the config loader and
    the ports reach only the standard library and their own libraries: never httpx,
    SQLAlchemy, apprise, rich or click."""
    edges = graph()
    for module in MODULES:
        if layer_of(module) in REACHABLE:
            extra = reachable_libraries(edges, module) - REACHABLE[layer_of(module)]
            assert extra == set(), f"{module} reaches {sorted(extra)}"


def test_the_checks_catch_a_wrong_import() -> None:
    """The checks fail on what the rules forbid: the CLI importing the SQL adapter, and the
    core reaching httpx through a module it imports (clustering imports matching.fold)."""
    edges = graph()
    edges["watcher.cli.digest"] = edges["watcher.cli.digest"] | {"watcher.adapters.sql.store"}
    assert ("watcher.cli.digest", "watcher.adapters.sql.store") in layer_violations(edges)
    edges = graph()
    assert "watcher.core.matching.fold" in edges["watcher.core.clustering"]
    edges["watcher.core.matching.fold"] = edges["watcher.core.matching.fold"] | {"httpx"}
    assert "httpx" in reachable_libraries(edges, "watcher.core.clustering")


MAX_LINES = 400


def test_no_module_is_over_400_lines() -> None:
    """A module that grows past 400 lines holds two concerns: split it (a section comment
    inside a module is the signal)."""
    long = {
        path.relative_to(PACKAGE).as_posix(): lines
        for path in PACKAGE.rglob("*.py")
        if (lines := len(path.read_text(encoding="utf-8").splitlines())) > MAX_LINES
    }
    assert long == {}, long


def test_no_section_comments_inside_modules() -> None:
    """``# --- feeds ---`` dividers were how one module held several: none are left."""
    divided = sorted(
        path.relative_to(PACKAGE).as_posix()
        for path in PACKAGE.rglob("*.py")
        if any(line.lstrip().startswith("# ---") for line in path.read_text().splitlines())
    )
    assert divided == []

"""Where the config file and the default database live.

Config: ``--config PATH``, else ``$WATCHER_CONFIG``, else
``$XDG_CONFIG_HOME/feed-watcher/watcher.toml`` (``~/.config`` when unset), else
``/etc/feed-watcher/watcher.toml``, else the config shipped with the package.

Database: ``$STATE_DIRECTORY/watcher.db`` (set by systemd's ``StateDirectory=``), else
``$XDG_STATE_HOME/feed-watcher/watcher.db`` (``~/.local/state`` when unset).
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from importlib import resources
from pathlib import Path

SYSTEM_CONFIG = Path("/etc/feed-watcher/watcher.toml")


def shipped_config() -> Path:
    """The default config: inside the installed package, or in ``config/`` of a checkout."""
    packaged = resources.files("watcher") / "_data" / "watcher.toml"
    if packaged.is_file():
        return Path(str(packaged))
    return Path(__file__).resolve().parents[2] / "config" / "watcher.toml"


def find_config(explicit: str | None, environ: Mapping[str, str] | None = None) -> Path:
    """The config file to use, by the precedence in the module docstring."""
    env = os.environ if environ is None else environ
    if explicit:
        return Path(explicit)
    if env.get("WATCHER_CONFIG"):
        return Path(env["WATCHER_CONFIG"])
    xdg = Path(env.get("XDG_CONFIG_HOME") or Path.home() / ".config")
    for candidate in (xdg / "feed-watcher" / "watcher.toml", SYSTEM_CONFIG):
        if candidate.is_file():
            return candidate
    return shipped_config()


def default_database_url(environ: Mapping[str, str] | None = None) -> str:
    """An SQLite URL in the state directory, creating the directory if needed."""
    env = os.environ if environ is None else environ
    if env.get("STATE_DIRECTORY"):
        # systemd may pass several colon-separated directories; the first is ours.
        directory = Path(env["STATE_DIRECTORY"].split(":")[0])
    else:
        state = Path(env.get("XDG_STATE_HOME") or Path.home() / ".local" / "state")
        directory = state / "feed-watcher"
    directory.mkdir(parents=True, exist_ok=True)
    return f"sqlite:///{directory / 'watcher.db'}"

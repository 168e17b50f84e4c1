"""The ``watcher`` command: thin commands that parse options, call the library and print.

Exit status: 0 success; 1 a feed or a delivery failed (``run --once``, ``notify-test``), a dry
run matched nothing, or the database could not be used; 2 the config or the command line is
invalid.
"""

from __future__ import annotations

import gc
import importlib

import click

from watcher import __version__

# Each command's module, imported only when that command runs (or is listed): a one-shot
# ``run`` from a timer no longer imports what only the other commands use (the digest's
# renderers, the feeds' OPML, the status views).
COMMANDS = {
    "run": "run:run",
    "status": "status:status",
    "digest": "digest:digest",
    "show": "show:show",
    "feeds": "feeds:feeds",
    "rules": "rules:rules",
    "deliveries": "deliveries:deliveries",
    "prune": "prune:prune",
    "check-config": "check_config:check_config",
    "notify-test": "notify_test:notify_test",
    "completion": "completion:completion",
    "db": "database:db",
}


class _Commands(click.Group):
    """The group whose commands are loaded by name, as click's documentation shows
    ("Lazily Loading Subcommands")."""

    def list_commands(self, ctx: click.Context) -> list[str]:
        return sorted(COMMANDS)

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        if cmd_name not in COMMANDS:
            return None
        module, name = COMMANDS[cmd_name].split(":")
        command = getattr(importlib.import_module(f"watcher.cli.{module}"), name)
        assert isinstance(command, click.Command) and command.name == cmd_name
        return command


@click.group(cls=_Commands, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="feed-watcher")
def cli() -> None:
    """Watch news feeds for the stories you care about, and be told once."""
    # Called once the command is imported (click resolves it first).
    if not gc.isenabled():
        gc.freeze()
        gc.enable()


def main() -> None:
    # Importing a command makes some 140,000 objects that live as long as the process; the
    # cyclic collector walked them again and again, found nothing to free, and cost a tenth of
    # a one-shot run's CPU. Off while importing, then they are set aside (frozen) for good.
    gc.disable()
    cli(prog_name="watcher")

"""The ``watcher`` command: thin commands that parse options, call the library and print.

Exit status: 0 success; 1 a feed or a delivery failed (``run --once``, ``notify-test``), a dry
run matched nothing, or the database could not be used; 2 the config or the command line is
invalid.
"""

from __future__ import annotations

import click

from watcher import __version__
from watcher.cli.check_config import check_config
from watcher.cli.completion import completion
from watcher.cli.database import db
from watcher.cli.deliveries import deliveries
from watcher.cli.digest import digest
from watcher.cli.feeds import feeds
from watcher.cli.notify_test import notify_test
from watcher.cli.prune import prune
from watcher.cli.rules import rules
from watcher.cli.run import run
from watcher.cli.show import show
from watcher.cli.status import status


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="feed-watcher")
def cli() -> None:
    """Watch news feeds for the stories you care about, and be told once."""


for command in (
    run, status, digest, show, feeds, rules, deliveries, prune, check_config, notify_test,
    completion, db,
):  # fmt: skip
    cli.add_command(command)


def main() -> None:
    cli(prog_name="watcher")

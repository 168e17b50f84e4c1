"""``watcher completion SHELL``: the shell's completion script, from click."""

from __future__ import annotations

import click
from click.shell_completion import get_completion_class

SHELLS = ("bash", "zsh", "fish")


@click.command()
@click.argument("shell", type=click.Choice(SHELLS))
@click.pass_context
def completion(ctx: click.Context, shell: str) -> None:
    """Print the completion script for SHELL (bash, zsh or fish), for commands, options and
    their choices. Load it from your shell's startup file, e.g. in ~/.bashrc:
    eval "$(watcher completion bash)"."""
    root = ctx.find_root()
    assert isinstance(root.command, click.Group)
    completer = get_completion_class(shell)
    assert completer is not None  # every SHELLS entry is one click knows
    script = completer(root.command, {}, "watcher", "_WATCHER_COMPLETE").source()
    click.echo(script)

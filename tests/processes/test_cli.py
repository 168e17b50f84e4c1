"""The command line itself: config errors, help for every command, and a manual that documents
every command and option."""

from __future__ import annotations

import gc
import re
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import click
import pytest
from click.testing import Result

from tests.conftest import write_config
from watcher.cli import cli, main

CLI_DOC = (Path(__file__).parents[2] / "docs" / "cli.md").read_text(encoding="utf-8")
Cli = Callable[..., Result]


def walk(group: click.Group, prefix: str = "") -> dict[str, click.Command]:
    """Every command by its full name ("rules test"), groups included, as the group lists and
    loads them (the top level's are imported by name)."""
    found: dict[str, click.Command] = {}
    context = click.Context(group)
    for name in group.list_commands(context):
        command = group.get_command(context, name)
        assert command is not None, name
        found[prefix + name] = command
        if isinstance(command, click.Group):
            found.update(walk(command, f"{prefix}{name} "))
    return found


ALL = walk(cli)
COMMANDS = sorted(ALL)


@pytest.mark.parametrize("command", ["run", "digest", "feeds", "check-config", "notify-test"])
def test_broken_config_exits_2_and_writes_nothing(
    tmp_path: Path, run_cli: Cli, command: str
) -> None:
    """Every command refuses an invalid config with file, key and problem, before any write."""
    config = tmp_path / "w.toml"
    config.write_text(
        f'[watcher]\ndatabase = "sqlite:///{tmp_path / "w.db"}"\n'
        '[[rules]]\nname = "a"\nkeywords = ["x"]\n[[rules]]\nname = "b"\nkeywords = []\n'
    )
    args = [command, "--config", str(config)] + (["--once"] if command == "run" else [])
    result = run_cli(*args)
    assert result.exit_code == 2
    assert f"{config}: rules[1].keywords: must not be empty" in result.stderr
    assert list(tmp_path.iterdir()) == [config]


def test_missing_config_file(tmp_path: Path, run_cli: Cli) -> None:
    """A config path that does not exist: exit 2, naming the file."""
    result = run_cli("check-config", "--config", str(tmp_path / "nope.toml"))
    assert result.exit_code == 2 and "nope.toml: file not found" in result.stderr


def test_config_from_environment(tmp_path: Path, run_cli: Cli) -> None:
    """$WATCHER_CONFIG is used when --config is not given."""
    config = write_config(tmp_path / "env.toml", ["https://a.example/rss"])
    result = run_cli("check-config", env={"WATCHER_CONFIG": str(config)})
    assert result.exit_code == 0 and f"config:      {config}" in result.stdout


def test_check_config_prints_the_effective_config(tmp_path: Path, run_cli: Cli) -> None:
    """check-config shows the database URL with its password masked, and each rule
    with its targets."""
    config = write_config(
        tmp_path / "w.toml",
        ["https://a.example/rss"],
        database="postgresql+psycopg://watcher:dbsecret@db.example/watcher",
    )
    result = run_cli("check-config", "--config", str(config))
    assert result.exit_code == 0
    assert "database:    postgresql+psycopg://watcher:***@db.example/watcher" in result.stdout
    assert '  - tiktok: "TikTok" OR "ByteDance" -> console' in result.stdout
    assert "dbsecret" not in result.stdout


def test_unreachable_database_is_a_clear_error(tmp_path: Path, run_cli: Cli) -> None:
    """A database nobody answers for: exit 1 with a one-line reason, and never its password."""
    config = write_config(
        tmp_path / "w.toml", [], database="postgresql+psycopg://u:pw1234@127.0.0.1:1/none"
    )
    result = run_cli("feeds", "--config", str(config))
    assert result.exit_code == 1
    assert result.stderr.startswith("database error:") and "pw1234" not in result.stderr


@pytest.mark.parametrize("command", COMMANDS)
def test_every_command_and_option_has_help(command: str) -> None:
    """Each command has help text, and so does each of its options."""
    cmd = ALL[command]
    assert cmd.help and cmd.help.strip()
    for param in cmd.params:
        if isinstance(param, click.Option):
            assert param.help, f"{command} {param.opts} has no help"


@pytest.mark.parametrize("command", COMMANDS)
def test_the_manual_documents_every_command_and_option(command: str) -> None:
    """The CLI reference (docs/cli.md) names each command and each of its options."""
    assert re.search(rf"`watcher {re.escape(command)}\b", CLI_DOC), command
    for param in ALL[command].params:
        if isinstance(param, click.Option):
            long = max(param.opts, key=len)
            assert long in CLI_DOC, f"{command} {long} is not in docs/cli.md"


def test_every_command_and_option_has_help_text() -> None:
    """The same over every command at once, subcommands included."""
    for name, command in ALL.items():
        assert command.help, name
        for param in command.params:
            if isinstance(param, click.Option):
                assert param.help, f"{name} {param.opts}"


def test_module_entry_point() -> None:
    """``python -m watcher`` is the same command."""
    result = subprocess.run(
        [sys.executable, "-m", "watcher", "--version"], capture_output=True, text=True, check=True
    )
    assert result.stdout.startswith("feed-watcher, version ")


def test_a_command_is_imported_only_when_it_runs() -> None:
    """``watcher run`` imports no other command's module."""
    code = (
        "import sys; sys.argv = ['watcher', 'run', '--help']\n"
        "from watcher.cli import main\n"
        "try:\n    main()\nexcept SystemExit:\n    pass\n"
        "print(sorted(m for m in sys.modules if m.startswith('watcher.cli.')))"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    )
    assert result.stdout.splitlines()[-1] == "['watcher.cli.common', 'watcher.cli.run']"


def test_what_a_command_imports_is_frozen_out_of_the_collector(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The entry point keeps the cyclic collector off while a command is imported, then sets
    what exists aside (frozen) and turns it back on before the command runs."""
    config = write_config(tmp_path / "w.toml", [])
    seen: list[tuple[bool, int]] = []
    monkeypatch.setattr("sys.argv", ["watcher", "check-config", "--config", str(config)])

    def echo(*args: object, **options: object) -> None:
        seen.append((gc.isenabled(), gc.get_freeze_count()))

    monkeypatch.setattr("watcher.cli.check_config.click.echo", echo)
    try:
        with pytest.raises(SystemExit) as ended:
            main()
    finally:
        gc.unfreeze()
        gc.enable()
    assert ended.value.code == 0
    assert seen and all(enabled and frozen > 10_000 for enabled, frozen in seen)


def test_bad_query_in_config_points_at_the_column(tmp_path: Path, run_cli: Cli) -> None:
    """check-config on a bad query names the rule, shows the query and a caret under the
    problem, says what is wrong, and exits 2."""
    config = tmp_path / "w.toml"
    config.write_text('[[rules]]\nname = "tiktok"\nquery = "titel:TikTok AND ban"\n')
    result = run_cli("check-config", "--config", str(config))
    assert result.exit_code == 2
    assert result.stderr == (
        f'{config}: rules[0].query: unknown field "titel:" — did you mean "title:"?\n'
        "    rule 'tiktok': titel:TikTok AND ban\n"
        "                   ^\n"
    )


def test_bad_exclude_is_reported_under_its_own_key(tmp_path: Path, run_cli: Cli) -> None:
    """A broken ``exclude`` query is reported at ``rules[N].exclude``, not at ``query``."""
    config = tmp_path / "w.toml"
    config.write_text('[[rules]]\nname = "t"\nquery = "TikTok"\nexclude = "dance AND"\n')
    result = run_cli("check-config", "--config", str(config))
    assert result.exit_code == 2
    assert "rules[0].exclude: AND needs a right-hand side" in result.stderr

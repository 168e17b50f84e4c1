"""The ``watcher`` command with faults injected, for the tests that need a real process to
misbehave at a chosen point (killed between sending and recording, a hung loop):

    python -m tests.faulty --pause-after-send 5 run --config w.toml
    python -m tests.faulty --stall-after 3 run --config w.toml

It sets ``watcher.app.HOOKS`` and hands the rest of the command line to the real CLI."""

from __future__ import annotations

import argparse
import sys
import time

import watcher.app
from watcher.app import FaultHooks
from watcher.cli import main


def hooks(pause_after_send: float, stall_after: int) -> FaultHooks:
    def pause(alert: object) -> None:
        time.sleep(pause_after_send)

    return FaultHooks(
        after_send=pause if pause_after_send > 0 else None, stall_after_passes=stall_after
    )


if __name__ == "__main__":
    parser = argparse.ArgumentParser(add_help=False)
    parser.add_argument("--pause-after-send", type=float, default=0.0)
    parser.add_argument("--stall-after", type=int, default=0)
    faults, rest = parser.parse_known_args()
    watcher.app.HOOKS = hooks(faults.pause_after_send, faults.stall_after)
    sys.argv = ["watcher", *rest]
    main()

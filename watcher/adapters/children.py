"""What a child Python process of the watcher is started with."""

from __future__ import annotations

import os
import sys


def child_environment() -> dict[str, str]:
    """This process's environment, with its ``sys.path`` as the child's PYTHONPATH: the child
    imports the same watcher (and, under pytest, the same tests) as its parent."""
    return {**os.environ, "PYTHONPATH": os.pathsep.join(p for p in sys.path if p)}

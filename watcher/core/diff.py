"""Word-level differences between two versions of a text (pure)."""

from __future__ import annotations

import difflib
import re
from typing import Literal

Op = Literal["same", "deleted", "added"]
_TOKENS = re.compile(r"\s+|[^\s]+")


def word_diff(old: str, new: str) -> list[tuple[Op, str]]:
    """``new`` compared with ``old``, as runs of unchanged, deleted and added text.
    Whitespace is kept so the runs join back into readable text."""
    a, b = _TOKENS.findall(old), _TOKENS.findall(new)
    runs: list[tuple[Op, str]] = []
    matcher = difflib.SequenceMatcher(a=a, b=b, autojunk=False)
    for tag, i1, i2, j1, j2 in matcher.get_opcodes():
        if tag == "equal":
            runs.append(("same", "".join(b[j1:j2])))
            continue
        if tag in ("delete", "replace"):
            runs.append(("deleted", "".join(a[i1:i2])))
        if tag in ("insert", "replace"):
            runs.append(("added", "".join(b[j1:j2])))
    return _merge([run for run in runs if run[1]])


def _merge(runs: list[tuple[Op, str]]) -> list[tuple[Op, str]]:
    """Changes separated only by a space become one change: "[-talks resume-]{+deal
    reached+}" reads better than word-by-word."""
    out: list[tuple[Op, str]] = []
    deleted, added = "", ""
    for index, (op, text) in enumerate(runs):
        between = op == "same" and not text.strip() and (deleted or added)
        if between and index + 1 < len(runs) and runs[index + 1][0] != "same":
            deleted, added = deleted + text, added + text
            continue
        if op == "deleted":
            deleted += text
        elif op == "added":
            added += text
        else:
            out += _flush(deleted, added)
            deleted, added = "", ""
            out.append((op, text))
    return out + _flush(deleted, added)


def _flush(deleted: str, added: str) -> list[tuple[Op, str]]:
    runs: list[tuple[Op, str]] = []
    if deleted.strip():
        runs.append(("deleted", deleted))
    if added.strip():
        runs.append(("added", added))
    return runs


def changed(old: str, new: str) -> bool:
    """Whether two texts differ beyond whitespace."""
    return old.split() != new.split()

"""Pydantic's validation errors as ``KEY: PROBLEM`` lines, and the file with its invalid parts set
aside, so that one run reports every problem."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

from pydantic import (
    ValidationError,
)

from watcher.config.schema import ConfigModel

Positions = dict[str, list[int]]  # "feeds", "rules": each kept item's index in the file


def validate(
    raw: dict[str, Any], template_check: Callable[[str], None] | None = None
) -> tuple[ConfigModel, list[str], Positions]:
    """The model of ``raw``, its structural problems, and where each of its feeds and rules
    stands in the file. With problems, the model is built from what is left once the invalid
    feeds, rules, targets and keys are set aside. ``template_check`` raises ValueError for a
    template that cannot be used."""
    context = {"template_check": template_check}
    try:
        model = ConfigModel.model_validate(raw, context=context)
        return model, [], _positions(raw, {})
    except ValidationError as exc:
        errors = exc.errors()
    problems = [_describe(error) for error in errors]
    kept, dropped = _set_aside(raw, errors)
    try:
        return ConfigModel.model_validate(kept, context=context), problems, _positions(raw, dropped)
    except ValidationError:
        return ConfigModel(), problems, {}


def _positions(raw: dict[str, Any], dropped: dict[str, set[Any]]) -> Positions:
    found: Positions = {}
    for section in ("feeds", "rules"):
        items = raw.get(section)
        count = len(items) if isinstance(items, list) else 0
        found[section] = [i for i in range(count) if i not in dropped.get(section, set())]
    return found


def _set_aside(
    raw: dict[str, Any], errors: Sequence[Any]
) -> tuple[dict[str, Any], dict[str, set[Any]]]:
    """``raw`` without the parts the ``errors`` are about: the whole feed, rule or target,
    or the one key of [watcher] (whose default then stands in); and what was set aside."""
    dropped: dict[str, set[Any]] = {}
    top: set[str] = set()
    for error in errors:
        loc = error["loc"]
        if len(loc) >= 2 and loc[0] in ("feeds", "rules", "targets", "watcher"):
            dropped.setdefault(str(loc[0]), set()).add(loc[1])
        elif loc:
            top.add(str(loc[0]))
    kept: dict[str, Any] = {}
    for key, value in raw.items():
        gone = dropped.get(key, set())
        if key in top:
            continue
        if isinstance(value, list):
            kept[key] = [item for index, item in enumerate(value) if index not in gone]
        elif isinstance(value, dict):
            kept[key] = {name: item for name, item in value.items() if name not in gone}
        else:
            kept[key] = value
    return kept, dropped


def _describe(error: Any) -> str:
    key = _format_loc(error["loc"])
    kind = error["type"]
    if kind == "extra_forbidden":
        problem = "unknown key"
    elif kind == "missing":
        problem = "is required"
    elif kind == "too_short":
        problem = "must not be empty"
    else:
        problem = str(error["msg"]).removeprefix("Value error, ")
    return f"{key}: {problem}" if key else problem


def _format_loc(loc: tuple[Any, ...]) -> str:
    out = ""
    for part in loc:
        if isinstance(part, int):
            out += f"[{part}]"
        elif str(part).startswith("function-"):
            continue
        else:
            out += f".{part}" if out else str(part)
    return out

"""Located configuration problems, and how found values are shown in them."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass

Loc = tuple[str | int, ...]


@dataclass(frozen=True)
class ConfigProblem:
    """One thing wrong with a configuration file, located as precisely as we can."""

    path: str  # "queues[0].channel"; "" when the problem is about the whole file
    line: int | None  # 1-based; None when there is no line to point at (missing file)
    message: str
    source: str

    def __str__(self) -> str:
        where = self.source if self.line is None else f"{self.source}:{self.line}"
        return f"{where}: {self.path}: {self.message}" if self.path else f"{where}: {self.message}"


class ConfigError(Exception):
    """The configuration cannot be used; ``problems`` lists every reason found."""

    def __init__(self, problems: Sequence[ConfigProblem]) -> None:
        self.problems = list(problems)
        super().__init__("\n".join(str(p) for p in self.problems))


class _Refs(ValueError):
    """Several located problems raised from one validator.

    Pydantic reports a validator failure as one error at the validator's
    location; this carries (relative location, message) pairs through it so
    the loader can give each item its own path and line.  Raised outside the
    loader (a model built in code) it reads as one joined message.
    """

    def __init__(self, items: Sequence[tuple[Loc, str]]) -> None:
        self.items = list(items)
        super().__init__("; ".join(f"{format_path(loc) or '<here>'}: {m}" for loc, m in items))


def format_path(loc: Iterable[str | int]) -> str:
    """Render a location as ``queues[0].reps[1]``."""
    out = ""
    for part in loc:
        if isinstance(part, int):
            out += f"[{part}]"
        else:
            out += f".{part}" if out else str(part)
    return out


def _show(value: object) -> str:
    """How a found value appears in messages: YAML words, not Python reprs."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return str(value)
    if isinstance(value, str):
        return repr(value if len(value) <= 60 else value[:57] + "...")
    if isinstance(value, dict):
        return "a mapping"
    if isinstance(value, list | tuple):
        return "a list"
    return f"a {type(value).__name__}"

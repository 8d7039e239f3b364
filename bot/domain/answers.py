"""Reading what people type: numbers as written, choices by label or number, folded text. Pure.

The script engine (`script.py`) decides what an answer means for a question;
this module only turns free text into values, so the rules can be read and
tested apart from the conversation.
"""

from __future__ import annotations

import re
from decimal import Decimal, InvalidOperation

#: Numbers larger than this are read as typos, not answers.
NUMBER_LIMIT = Decimal(10) ** 15

_NUMBER = re.compile(
    r"""
    (?P<sign>[-+])?\s*
    [$€£¥]?\s*
    (?P<digits>\d{1,3}(?:,\d{3})+|\d+)
    (?:\.(?P<fraction>\d+))?
    \s*(?P<scale>[kKmM])?
    \s*\+?
    """,
    re.VERBOSE,
)
_SCALE = {"": 1, "k": 1_000, "m": 1_000_000}


def parse_number(text: str) -> float | None:
    """Read a number as people type it (see the module docstring); None if it is not one."""
    found = _NUMBER.fullmatch(text.strip())
    if found is None:
        return None
    try:
        value = Decimal(found["digits"].replace(",", "") + "." + (found["fraction"] or "0"))
    except InvalidOperation:  # pragma: no cover - the pattern only lets digits through
        return None
    value *= _SCALE[(found["scale"] or "").lower()]
    if found["sign"] == "-":
        value = -value
    if abs(value) > NUMBER_LIMIT:
        return None
    if value == value.to_integral_value():
        return int(value)
    return float(value)


def match_choice(choices: tuple[str, ...], text: str) -> str | None:
    """The label ``text`` picks: the label itself, its 1-based number, or a unique start."""
    said = fold(text)
    if not said:
        return None
    for label in choices:
        if fold(label) == said:
            return label
    if said.isdigit():
        n = int(said)
        return choices[n - 1] if 1 <= n <= len(choices) else None
    starts = [label for label in choices if fold(label).startswith(said)]
    return starts[0] if len(starts) == 1 else None


def fold(text: str) -> str:
    """Case- and spacing-insensitive form for comparing what people type."""
    return " ".join(text.casefold().split())


_NOT_WORD = re.compile(r"[^\w']+")


def words(text: str) -> str:
    """Lowercase words separated by single spaces, punctuation dropped."""
    return " ".join(_NOT_WORD.sub(" ", text.casefold()).split())


def same(got: str | float, wanted: str | float) -> bool:
    if not isinstance(got, str) and not isinstance(wanted, str):
        return got == wanted
    return fold(as_text(got)) == fold(as_text(wanted))


def as_text(value: str | float) -> str:
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)


def is_int(value: object) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def is_number(value: object) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)

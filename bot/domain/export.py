"""The `/leads export` file: lead rows → CSV bytes. Pure.

One row per lead, the columns in `FIXED_COLUMNS` then one `answer_<key>` column
per qualification answer key (sorted), so a spreadsheet filter finds them
together. Times are ISO 8601 in the workspace's timezone. Erased leads keep
their row (counts still add up) with the person's data left out: the contact
fields and the answers, which can hold anything they typed.

A spreadsheet runs a cell that starts with `=`, `+`, `-` or `@` (and, in some,
a tab or carriage return) as a formula, so such text gets a leading `'`
(OWASP's advice for CSV injection). Only text is guarded: the numbers and
times this module writes itself are left as they are, so they stay numbers.

The file is UTF-8 with a byte-order mark, which Excel needs to read non-ASCII
names correctly and every other reader skips. `LeadsCsv` builds it a batch at a
time, so an export of many rows never holds them all as objects at once.
"""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

__all__ = [
    "FIXED_COLUMNS",
    "ExportRow",
    "LeadsCsv",
    "answer_column",
    "answer_keys",
    "guard_cell",
    "leads_csv",
]

FIXED_COLUMNS: tuple[str, ...] = (
    "id",
    "captured_at",
    "state",
    "grade",
    "score",
    "source",
    "intake",
    "queue",
    "owner_id",
    "owner_name",
    "name",
    "email",
    "phone",
    "company",
    "utm_source",
    "utm_medium",
    "utm_campaign",
    "claimed_at",
    "first_contact_at",
    "sla_status",
    "lost_reason",
)
ANSWER_PREFIX = "answer_"
#: What a spreadsheet may read as the start of a formula.
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")
ENCODING = "utf-8-sig"


@dataclass(frozen=True, slots=True)
class ExportRow:
    """One lead as the export shows it (as stored; nothing is blanked yet)."""

    id: int
    captured_at: datetime
    state: str
    grade: str | None
    score: int
    source: str | None
    intake: str
    queue_id: str | None
    owner_id: str | None
    owner_name: str | None
    name: str | None
    email: str | None
    phone: str | None
    company: str | None
    claimed_at: datetime | None
    first_contact_at: datetime | None
    sla_status: str | None
    lost_reason: str | None
    erased: bool = False
    utm: Mapping[str, Any] = field(default_factory=dict)
    answers: Mapping[str, Any] = field(default_factory=dict)

    @property
    def shown_answers(self) -> Mapping[str, Any]:
        """The answers the file may show: none for an erased lead."""
        return {} if self.erased else self.answers


def answer_column(key: str) -> str:
    return ANSWER_PREFIX + key


def answer_keys(answer_sets: Iterable[Mapping[str, Any] | None]) -> list[str]:
    """Every key present in any of the answer sets, sorted (one column each)."""
    keys: set[str] = set()
    for answers in answer_sets:
        if isinstance(answers, Mapping):
            keys.update(str(k) for k in answers)
    return sorted(keys)


def guard_cell(text: str) -> str:
    """Text that a spreadsheet will show, never run: a leading `'` before a formula start."""
    return "'" + text if text.startswith(FORMULA_STARTS) else text


def _text(value: str | None) -> str:
    return "" if value is None else guard_cell(value)


def _answer(value: Any) -> str:
    """An answer as a cell: choices joined with `; `, true/false, plain numbers."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        return str(int(value)) if value.is_integer() else repr(value)
    if isinstance(value, str):
        return guard_cell(value)
    if isinstance(value, list | tuple):
        return guard_cell("; ".join(str(item) for item in value))
    return guard_cell(json.dumps(value, ensure_ascii=False, sort_keys=True, default=str))


class LeadsCsv:
    """The export file, built a batch of rows at a time.

    The answer columns are fixed up front (the header comes first); a row's
    answer under another key is left out rather than shifting the columns.
    """

    def __init__(self, keys: Iterable[str], tz: ZoneInfo) -> None:
        self._keys = list(keys)
        self._tz = tz
        self._buffer = io.BytesIO()
        self._text = io.TextIOWrapper(self._buffer, encoding=ENCODING, newline="")
        self._writer = csv.writer(self._text)
        # `answer_` first: a key can never make its header cell a formula.
        self._writer.writerow([*FIXED_COLUMNS, *(answer_column(k) for k in self._keys)])
        self.rows = 0

    def _time(self, at: datetime | None) -> str:
        return "" if at is None else at.astimezone(self._tz).isoformat(timespec="seconds")

    def _cells(self, row: ExportRow) -> list[str]:
        erased = row.erased
        utm = row.utm if isinstance(row.utm, Mapping) else {}
        answers = row.shown_answers if isinstance(row.answers, Mapping) else {}
        return [
            str(row.id),
            self._time(row.captured_at),
            _text(row.state),
            _text(row.grade),
            str(row.score),
            _text(row.source),
            _text(row.intake),
            _text(row.queue_id),
            _text(row.owner_id),
            _text(row.owner_name),
            "" if erased else _text(row.name),
            "" if erased else _text(row.email),
            "" if erased else _text(row.phone),
            "" if erased else _text(row.company),
            _answer(utm.get("source", utm.get("utm_source"))),
            _answer(utm.get("medium", utm.get("utm_medium"))),
            _answer(utm.get("campaign", utm.get("utm_campaign"))),
            self._time(row.claimed_at),
            self._time(row.first_contact_at),
            _text(row.sla_status),
            _text(row.lost_reason),
            *(_answer(answers.get(key)) for key in self._keys),
        ]

    def add(self, rows: Iterable[ExportRow]) -> None:
        for row in rows:
            self._writer.writerow(self._cells(row))
            self.rows += 1

    def to_bytes(self) -> bytes:
        self._text.flush()
        return self._buffer.getvalue()


def leads_csv(rows: Iterable[ExportRow], tz: ZoneInfo) -> bytes:
    """The whole file for rows already in memory (the answer columns found from them)."""
    listed = list(rows)
    out = LeadsCsv(answer_keys(r.shown_answers for r in listed), tz)
    out.add(listed)
    return out.to_bytes()

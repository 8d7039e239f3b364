"""Reading `/leads remind` times: relative, tomorrow, dates, with or without a time."""

from __future__ import annotations

from datetime import UTC, datetime
from zoneinfo import ZoneInfo

import pytest

from bot.reminders import WhenError, parse_when

LONDON = ZoneInfo("Europe/London")
NOW = datetime(2026, 11, 23, 15, 0, tzinfo=UTC)


@pytest.mark.parametrize(
    ("words", "due", "note"),
    [
        ("30m call back", datetime(2026, 11, 23, 15, 30, tzinfo=UTC), ["call", "back"]),
        ("2h", datetime(2026, 11, 23, 17, 0, tzinfo=UTC), []),
        ("3d send quote", datetime(2026, 11, 26, 15, 0, tzinfo=UTC), ["send", "quote"]),
        ("tomorrow", datetime(2026, 11, 24, 9, 0, tzinfo=LONDON), []),
        ("tomorrow 14:30 demo", datetime(2026, 11, 24, 14, 30, tzinfo=LONDON), ["demo"]),
        ("2026-12-01", datetime(2026, 12, 1, 9, 0, tzinfo=LONDON), []),
        ("2026-12-01 8:05 x", datetime(2026, 12, 1, 8, 5, tzinfo=LONDON), ["x"]),
        # Summer time: 09:00 in London is 08:00 UTC.
        ("2027-07-01", datetime(2027, 7, 1, 8, 0, tzinfo=UTC), []),
        ("2026-12-01 25:00", datetime(2026, 12, 1, 9, 0, tzinfo=LONDON), ["25:00"]),
    ],
)
def test_times_people_write_are_read(words: str, due: datetime, note: list[str]) -> None:
    assert parse_when(words.split(), NOW, LONDON) == (due, note)


@pytest.mark.parametrize(
    ("words", "message"),
    [
        ("", "say when"),
        ("soon", "can't read `soon`"),
        ("2026-11-01", "already passed"),
        ("0m", "already passed"),
        ("400d", "within the next year"),
        ("2026-02-30", "can't read"),
    ],
)
def test_unreadable_or_impossible_times_say_why(words: str, message: str) -> None:
    with pytest.raises(WhenError, match=message):
        parse_when(words.split(), NOW, LONDON)

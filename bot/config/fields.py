"""Field types shared by the sections: checked ids, names, zones, origins.

Each check raises ``PydanticCustomError`` with a message that already says
what was expected and what was found, so the loader passes it on unchanged.
"""

from __future__ import annotations

import ipaddress
import re
import urllib.parse
from collections.abc import Callable, Iterable, Sequence
from datetime import date, datetime, time, timedelta
from typing import Annotated, Any, TypeVar
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import phonenumbers
from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    Discriminator,
    Field,
    PlainValidator,
    Tag,
)
from pydantic_core import PydanticCustomError

from bot.config.problems import _show

#: Error types whose messages are written here in full (see ``loader._message``).
OWN_MESSAGE_TYPES = frozenset(
    {
        "pattern",
        "timezone",
        "region",
        "origin",
        "scalar",
        "clock_time",
        "weekday",
        "domain",
        "duration",
        "date",
    }
)


def _pattern(regex: str, what: str) -> Callable[[str], str]:
    compiled = re.compile(regex)

    def check(value: str) -> str:
        if not compiled.fullmatch(value):
            raise PydanticCustomError(
                "pattern", f"must be {what} (got {{got}})", {"got": _show(value)}
            )
        return value

    return check


def _check_timezone(value: str) -> str:
    try:
        ZoneInfo(value)
    except (ZoneInfoNotFoundError, ValueError, OSError):  # OSError: a directory such as "Europe"
        raise PydanticCustomError(
            "timezone",
            "must be an IANA timezone name like Europe/London or UTC (got {got})",
            {"got": _show(value)},
        ) from None
    return value


def _check_region(value: str) -> str:
    # The region is what phone numbers without a +country prefix are parsed
    # against, so "known to phonenumbers" is the test that matters.
    region = value.upper()
    if region not in phonenumbers.SUPPORTED_REGIONS:
        raise PydanticCustomError(
            "region",
            "must be a two-letter ISO 3166 country code like US or GB (got {got})",
            {"got": _show(value)},
        )
    return region


_LABEL = r"[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?"
_HOST = re.compile(rf"(?:{_LABEL}\.)*{_LABEL}")
_DEFAULT_PORTS = {"http": 80, "https": 443}


def normalize_origin(value: str) -> str | None:
    """``scheme://host[:port]`` as a browser sends it in ``Origin``; None if it is not one.

    Scheme and host are lowercased, a default port is dropped and so is a lone
    trailing ``/``, so the result compares equal to the browser's header.
    """
    try:
        parts = urllib.parse.urlsplit(value.strip())
        port = parts.port
    except ValueError:
        return None
    scheme, host = parts.scheme.lower(), (parts.hostname or "")
    if scheme not in _DEFAULT_PORTS or parts.username is not None or parts.password is not None:
        return None
    if parts.path not in ("", "/") or "?" in value or "#" in value:
        return None
    if ":" in host:
        try:
            host_text = f"[{ipaddress.IPv6Address(host).compressed}]"
        except ValueError:
            return None
    elif _HOST.fullmatch(host):
        host_text = host
    else:
        return None
    if port is None or port == _DEFAULT_PORTS[scheme]:
        return f"{scheme}://{host_text}"
    return f"{scheme}://{host_text}:{port}"


def _check_origin(value: str) -> str:
    origin = normalize_origin(value)
    if origin is None:
        raise PydanticCustomError(
            "origin",
            "must be a web origin: http:// or https://, a host and an optional port, "
            "no path, like https://www.acme.example or http://127.0.0.1:8000 (got {got})",
            {"got": _show(value)},
        )
    return origin


def _check_scalar(value: object) -> str | float:
    # YAML reads `yes`, `no`, `on` and `off` as booleans; a condition on a
    # choice labelled "Yes" would then never match, so say so.
    if isinstance(value, str) and value.strip():
        return value.strip()
    if isinstance(value, int | float) and not isinstance(value, bool):
        return value
    hint = "; put the value in quotes" if isinstance(value, bool) else ""
    raise PydanticCustomError(
        "scalar", "must be text or a number (got {got})" + hint, {"got": _show(value)}
    )


def _clock_time(latest: str) -> Callable[[object], time]:
    """A check for ``"HH:MM"`` from 00:00 to ``latest`` ("23:59" or "24:00")."""

    def check(value: object) -> time:
        if isinstance(value, str):
            text = value.strip()
            found = re.fullmatch(r"([01]?\d|2[0-3]):([0-5]\d)", text)
            if found:
                return time(int(found[1]), int(found[2]))
            if text == "24:00" and latest == "24:00":
                return time(0)  # midnight at the end of the day
        hint = ""
        if isinstance(value, int) and not isinstance(value, bool) and 0 < value < 1440:
            # YAML 1.1 reads an unquoted 17:30 as the base-60 number 1050.
            written = f"{value // 60}:{value % 60:02d}"
            hint = f'; put it in quotes: "{written}" (YAML reads an unquoted {written} as {value})'
        raise PydanticCustomError(
            "clock_time",
            f'must be a time of day from "00:00" to "{latest}", like "09:00" (got {{got}})' + hint,
            {"got": _show(value)},
        )

    return check


WEEKDAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
_WEEKDAY_NAMES = {
    name: i
    for i, full in enumerate(
        ("monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday")
    )
    for name in (full, full[:3])
}


def _check_weekday(value: object) -> int:
    """A day name, ``mon`` or ``monday`` in any case, as 0 (Monday) to 6 (Sunday)."""
    day = _WEEKDAY_NAMES.get(value.strip().lower()) if isinstance(value, str) else None
    if day is None:
        raise PydanticCustomError(
            "weekday",
            f"must be a day of the week: {', '.join(WEEKDAYS)} (got {{got}})",
            {"got": _show(value)},
        )
    return day


def _check_domain(value: str) -> str:
    domain = value.strip().rstrip(".").lower().removeprefix("@")
    if "." not in domain or not _HOST.fullmatch(domain):
        raise PydanticCustomError(
            "domain", "must be an email domain like mail.example (got {got})", {"got": _show(value)}
        )
    return domain


_DURATION = re.compile(r"(?:(\d+)\s*h)?\s*(?:(\d+)\s*m)?\s*(?:(\d+)\s*s)?")


def _duration(longest: timedelta) -> Callable[[object], timedelta]:
    """A check for ``"90s"``, ``"1m"``, ``"1m30s"``, ``"2h"``: above zero, at most ``longest``."""

    def check(value: object) -> timedelta:
        found = _DURATION.fullmatch(value.strip().lower()) if isinstance(value, str) else None
        if found is None or not any(found.groups()):
            hint = ""
            if isinstance(value, int) and not isinstance(value, bool):
                hint = f'; give a unit, like "{value}s" or "{value}m"'
            raise PydanticCustomError(
                "duration",
                'must be a duration like "90s", "1m" or "1m30s" (got {got})' + hint,
                {"got": _show(value)},
            )
        h, m, s = (int(part or 0) for part in found.groups())
        duration = timedelta(hours=h, minutes=m, seconds=s)
        if not timedelta(0) < duration <= longest:
            raise PydanticCustomError(
                "duration",
                f"must be more than 0s and at most {_hours(longest)} (got {{got}})",
                {"got": _show(value)},
            )
        return duration

    return check


def _hours(delta: timedelta) -> str:
    return f"{int(delta.total_seconds()) // 3600}h"


def _check_date(value: object) -> date:
    """A calendar day: YAML's unquoted 2026-12-25, or the same text in quotes."""
    if isinstance(value, date) and not isinstance(value, datetime):
        return value
    if isinstance(value, str):
        try:
            return date.fromisoformat(value.strip())
        except ValueError:
            pass
    raise PydanticCustomError(
        "date", "must be a date like 2026-12-25 (got {got})", {"got": _show(value)}
    )


SlackUserId = Annotated[
    str, AfterValidator(_pattern(r"[UW][A-Z0-9]{2,}", "a Slack user id like U0123ABCD"))
]
SlackChannelId = Annotated[
    str, AfterValidator(_pattern(r"[CG][A-Z0-9]{2,}", "a Slack channel id like C0123ABCD"))
]
Slug = Annotated[
    str,
    AfterValidator(
        _pattern(
            r"[a-z0-9][a-z0-9_-]{0,39}",
            "a short id of lowercase letters, digits, '-' and '_' (at most 40, like 'sales')",
        )
    ),
]
Timezone = Annotated[str, AfterValidator(_check_timezone)]
Region = Annotated[str, AfterValidator(_check_region)]
DisplayName = Annotated[str, Field(min_length=1, max_length=80)]
Origin = Annotated[str, AfterValidator(_check_origin)]
#: A value a skip condition compares with: text or a number, never a YAML boolean.
Scalar = Annotated[str | float, PlainValidator(_check_scalar)]


#: A time of day written "09:00", from "00:00" to "23:59".
StartTime = Annotated[time, PlainValidator(_clock_time("23:59"))]
#: The same, up to "24:00": "24:00" and "00:00" both mean midnight at the end of the day,
#: ``time(0)`` as ``bot.domain.hours`` reads an end.
EndTime = Annotated[time, PlainValidator(_clock_time("24:00"))]
#: A day of the week written mon..sun (or in full), as 0 (Monday) to 6.
Weekday = Annotated[int, PlainValidator(_check_weekday)]
#: A span of time written "90s", "1m", "1m30s" or "2h", from 1s to 24h.
Duration = Annotated[timedelta, PlainValidator(_duration(timedelta(hours=24)))]
#: A calendar day written 2026-12-25.
Day = Annotated[date, PlainValidator(_check_date)]
#: An email domain, lowercased.
Domain = Annotated[str, AfterValidator(_check_domain)]

#: Tags of ``OneOrMany``'s two forms; the loader leaves them out of locations.
ONE, MANY = "<one>", "<many>"
UNION_TAGS = frozenset({ONE, MANY})


def _one_or_many(value: Any) -> str:
    return MANY if isinstance(value, list | tuple) else ONE


T = TypeVar("T")
#: One item, or a list of them: ``intake: api`` or ``intake: [api, widget]``.
OneOrMany = Annotated[
    Annotated[T, Tag(ONE)] | Annotated[tuple[T, ...], Tag(MANY)], Discriminator(_one_or_many)
]


def as_tuple(value: T | tuple[T, ...] | None) -> tuple[T, ...]:
    """A ``OneOrMany`` value as a tuple (None: empty)."""
    if value is None:
        return ()
    return value if isinstance(value, tuple) else (value,)


#: Non-empty text the bot says; surrounding spaces are dropped.
ShortText = Annotated[str, Field(min_length=1, max_length=500)]
LongText = Annotated[str, Field(min_length=1, max_length=1000)]


class _Section(BaseModel):
    """Shared settings: immutable, and a misspelt key is an error, not ignored."""

    model_config = ConfigDict(frozen=True, extra="forbid", str_strip_whitespace=True)


def _duplicates(values: Sequence[object]) -> Iterable[tuple[int, int]]:
    """Yield (index, index of first occurrence) for every repeated value."""
    first: dict[object, int] = {}
    for i, value in enumerate(values):
        if value in first:
            yield i, first[value]
        else:
            first[value] = i

"""Looking things up for people in Slack: a lead (`/leads find`) and the queues'
rotation as it stands (`/leads queue`). Read-only: one reading unit of work each.

What the words of a search mean is decided here (`parse_query`), with the same
normalization capture uses (`bot/domain/contact.py`), so an email typed in any
case or a phone number written any way finds the lead it was captured as. The
queue view asks the rotation itself (`Offers.preview`) who is available and who
would be offered the next lead, so it can never disagree with the next offer.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from zoneinfo import ZoneInfo

from bot.clock import Clock
from bot.config import LeadbotConfig
from bot.domain.contact import ContactError, parse_email, parse_phone
from bot.domain.hours import WeeklyHours, is_open, next_open
from bot.domain.rotation import SkipReason
from bot.offers import Offers
from store import lookup as lookup_store
from store.db import Database
from store.lookup import FoundLead, Matches, Waiting
from store.rotation import MemberState

__all__ = [
    "FoundLead",
    "LeadQuery",
    "Lookup",
    "Matches",
    "MemberStatus",
    "QueryError",
    "QueryKind",
    "QueueStatus",
    "UnknownQueue",
    "Waiting",
    "parse_query",
]

#: Results listed at most; the rest are counted ("and N more").
FIND_LIMIT = 10
#: A name or company search needs this many characters (one would match nearly everyone).
MIN_NAME_LENGTH = 2
MAX_QUERY_LENGTH = 200
#: Lead ids are at most this many digits (any database's integer holds them); a longer
#: run of digits is read as a phone number.
_MAX_ID_DIGITS = 9
_ID = re.compile(r"#?([0-9]+)")
_PHONE_CHARS = re.compile(r"\+?(?=[^0-9]*[0-9])[0-9 ().\-/]+")  # with a digit


class QueryError(ValueError):
    """Search words that cannot be used; the message is for the person who typed them."""


class QueryKind(StrEnum):
    ID = "id"
    EMAIL = "email"
    PHONE = "phone"
    NAME = "name"  # name or company


@dataclass(frozen=True)
class LeadQuery:
    kind: QueryKind
    value: str  # the id's digits, the normalized email, the E.164 phone, or the text


def parse_query(text: str, phone_region: str) -> LeadQuery:
    """What `/leads find TEXT` looks for: a lead id (`123`, `#123`), an email, a phone
    number (read in `phone_region` when it has no +country), else a name or company."""
    text = " ".join(text.split())
    if not text:
        raise QueryError("Tell me what to look for: a lead number, an email, a phone or a name.")
    if len(text) > MAX_QUERY_LENGTH:
        raise QueryError(f"That is too long to search for (at most {MAX_QUERY_LENGTH} characters).")
    number = _ID.fullmatch(text)
    if text.startswith("#"):
        if number is None or len(number.group(1)) > _MAX_ID_DIGITS:
            raise QueryError("A lead number is `#` and digits, like `#123`.")
        return LeadQuery(QueryKind.ID, str(int(number.group(1))))
    if number is not None and len(text) <= _MAX_ID_DIGITS:
        return LeadQuery(QueryKind.ID, str(int(text)))
    if "@" in text:
        try:
            return LeadQuery(QueryKind.EMAIL, parse_email(text).normalized)
        except ContactError:
            raise QueryError("That is not an email address I can look up.") from None
    if _PHONE_CHARS.fullmatch(text):
        try:
            return LeadQuery(QueryKind.PHONE, parse_phone(text, phone_region).e164)
        except ContactError:
            raise QueryError(
                "That is not a phone number I can look up (include the country code, "
                "like +44 20 7946 0958)."
            ) from None
    if len(text) < MIN_NAME_LENGTH:
        raise QueryError(f"Type at least {MIN_NAME_LENGTH} characters of a name or company.")
    return LeadQuery(QueryKind.NAME, text)


@dataclass(frozen=True)
class MemberStatus:
    """One rep of a queue as the rotation sees them now."""

    rep_id: str
    unavailable: SkipReason | None  # None: available for the next lead
    away_since: datetime | None
    working_again_at: datetime | None  # when outside working hours: their next opening
    open_leads: int
    capacity: int


@dataclass(frozen=True)
class QueueStatus:
    id: str
    name: str
    channel_id: str
    exclusivity_seconds: int
    hours: WeeklyHours  # business hours (the SLA clock), in `hours_tz`
    hours_tz: ZoneInfo
    open_now: bool
    members: tuple[MemberStatus, ...]
    next_rep_id: str | None  # who a lead captured now would be offered; None: nobody
    waiting: Waiting
    as_of: datetime  # the moment all of this describes


class UnknownQueue(LookupError):
    """No queue has that id or name; `known` lists (id, name) of those that exist."""

    def __init__(self, known: list[tuple[str, str]]) -> None:
        super().__init__("unknown queue")
        self.known = known


class Lookup:
    def __init__(self, db: Database, clock: Clock, config: LeadbotConfig, offers: Offers) -> None:
        self._db = db
        self._clock = clock
        self._config = config
        self._offers = offers
        self.phone_region = config.workspace.default_phone_region

    async def find(self, query: LeadQuery) -> Matches:
        """The leads `query` finds, newest first (at most `FIND_LIMIT`, the rest counted)."""
        async with self._db.reading() as session:
            if query.kind is QueryKind.ID:
                return await lookup_store.lead_by_id(session, int(query.value))
            if query.kind is QueryKind.EMAIL:
                return await lookup_store.leads_by_email(session, query.value, FIND_LIMIT)
            if query.kind is QueryKind.PHONE:
                return await lookup_store.leads_by_phone(session, query.value, FIND_LIMIT)
            return await lookup_store.leads_by_name(session, query.value, FIND_LIMIT)

    def queue_ids(self, name: str | None) -> list[str]:
        """Every queue (None), or the one whose id or name is `name` in any case.

        UnknownQueue when none is."""
        queues = self._config.queues
        if name is None:
            return [q.id for q in queues]
        wanted = " ".join(name.split()).casefold()
        for q in queues:
            if wanted in (q.id.casefold(), q.name.casefold()):
                return [q.id]
        raise UnknownQueue([(q.id, q.name) for q in queues])

    async def queues(self, name: str | None = None) -> list[QueueStatus]:
        """The status of every queue, or of the one named (see `queue_ids`)."""
        queue_ids = self.queue_ids(name)
        now = self._clock.now()
        async with self._db.reading() as session:
            waiting = await lookup_store.waiting_by_queue(session)
            previews = [await self._offers.preview(session, qid, now) for qid in queue_ids]
            reps = {m.rep_id for members, _ in previews for m in members}
            away = await lookup_store.away_since(session, reps)
        statuses = []
        for queue_id, (members, choice) in zip(queue_ids, previews, strict=True):
            skipped = {s.rep_id: s.reason for s in choice.skipped}
            statuses.append(
                self._status(queue_id, members, choice.rep_id, skipped, away, waiting, now)
            )
        return statuses

    def _status(
        self,
        queue_id: str,
        members: list[MemberState],
        next_rep_id: str | None,
        skipped: dict[str, SkipReason],
        away: dict[str, datetime],
        waiting: dict[str, Waiting],
        now: datetime,
    ) -> QueueStatus:
        queue = self._config.queue(queue_id)
        hours, tz = self._config.queue_hours(queue_id)
        return QueueStatus(
            id=queue.id,
            name=queue.name,
            channel_id=queue.channel,
            exclusivity_seconds=queue.exclusivity_seconds,
            hours=hours,
            hours_tz=tz,
            open_now=is_open(hours, tz, now),
            members=tuple(
                MemberStatus(
                    rep_id=m.rep_id,
                    unavailable=skipped.get(m.rep_id),
                    away_since=away.get(m.rep_id) if m.away else None,
                    working_again_at=(
                        self._working_again(m.rep_id, now)
                        if skipped.get(m.rep_id) is SkipReason.OFF_HOURS
                        else None
                    ),
                    open_leads=m.open_leads,
                    capacity=m.capacity,
                )
                for m in members
            ),
            next_rep_id=next_rep_id,
            waiting=waiting.get(queue_id, Waiting(0, None)),
            as_of=now,
        )

    def _working_again(self, rep_id: str, now: datetime) -> datetime | None:
        try:
            hours, tz = self._config.rep_hours(rep_id), self._config.rep_timezone(rep_id)
        except KeyError:  # in the database but no longer in the configuration
            return None
        return next_open(hours, tz, now)

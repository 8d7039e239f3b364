"""Lead histories as the bot would have written them, for the reports benchmark.

`Histories` simulates a sales team working a stream of leads with the bot's own
decisions: the configured scoring and routing (`bot.qualify.Qualifier`), the
round robin (`bot.domain.rotation.choose_rep`, with its balances kept across
leads), the SLA ladder's due times, conditions and outcome
(`bot.domain.sla`), and the event shapes of `bot/leads.py`, `bot/offers.py`,
`bot/lead_work.py`, `bot/sla.py` and `bot/chat_relay.py`. Only the people are
random: when leads arrive (weekday and office-hour seasonality, growth over
the period), where they come from (sources of different quality), and how fast
and how well the reps answer (log-normal delays, outside office hours only the
odd rep checks their phone).

Each lead's history is simulated to its end and then cut at `now`, so recent
leads are still in flight, exactly as a prefix of what the bot would store.
Simplifications: reps' capacity is not modelled (five reps could not hold two
years of leads open), a re-offer or release is decided when its lead is
simulated rather than interleaved with later leads' offers, and there are no
timers, outbox rows or widget conversations. The bot has no spam action yet:
a lead discarded as spam gets a `spam` event (from its state to `spam`, actor
the rep or manager who discarded it), which is the shape the projection reads.
"""

from __future__ import annotations

import math
import random
import zlib
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from bot.config import LeadbotConfig
from bot.domain import metrics
from bot.domain import sla as ladder_rules
from bot.domain.lead import LeadState
from bot.domain.rotation import Candidate
from bot.domain.rotation import choose_rep as rotation_choice
from bot.qualify import Assessment, Qualifier, lead_facts

INF = math.inf
BUDGETS = ("Under $10k", "$10k to $50k", "Over $50k", "Not sure yet")
TIMELINES = ("This month", "This quarter", "Later this year", "Just researching")
FREE_MAIL = ("gmail.com", "outlook.com", "yahoo.com", "hotmail.com", "icloud.com")
DISPOSABLE = ("mailinator.com", "guerrillamail.com", "yopmail.com")
FIRST = ("Ana", "Ben", "Chloe", "Dan", "Eva", "Finn", "Grace", "Hugo", "Isla", "Jon", "Kim", "Leo")
LAST = ("Smith", "Jones", "Garcia", "Müller", "Rossi", "Novak", "Khan", "Silva", "Dubois", "Lee")
COMPANIES = ("Acme", "Globex", "Initech", "Umbrella", "Hooli", "Vandelay", "Stark", "Wayne")
LOST_REASONS = ("no budget", "went with a competitor", "no response", "not a fit", "timing")
#: Local office hours of a rep, Monday to Friday (the reps' own timezone).
OFFICE = (time(8, 0), time(19, 0))
AWAY_DAYS_PERCENT = 4

# Arrivals by local hour (the workspace's timezone), weekdays and weekends.
WEEKDAY_HOURS = (
    0.1, 0.05, 0.05, 0.05, 0.05, 0.1, 0.2, 0.5, 1.6, 3.2, 3.6, 3.5,
    3.0, 3.2, 3.4, 3.3, 3.0, 2.2, 1.2, 0.8, 0.6, 0.5, 0.3, 0.2,
)  # fmt: skip
WEEKEND_HOURS = (
    0.2, 0.15, 0.1, 0.1, 0.1, 0.1, 0.2, 0.4, 0.7, 1.0, 1.2, 1.2,
    1.1, 1.1, 1.1, 1.0, 0.9, 0.8, 0.8, 0.8, 0.7, 0.6, 0.4, 0.3,
)  # fmt: skip
WEEKDAY_SHARE = (1.0, 1.05, 1.05, 1.0, 0.85, 0.25, 0.2)  # Monday first


@dataclass(frozen=True)
class Source:
    name: str | None
    share: float
    quality: float  # 0..1: better answers, bigger companies, sooner timelines
    intakes: tuple[tuple[str, float], ...]
    spam: float  # probability a lead of this source is junk


SOURCES: tuple[Source, ...] = (
    Source("google-ads", 0.24, 0.40, (("api", 0.35), ("widget", 0.65)), 0.05),
    Source("organic", 0.20, 0.45, (("widget", 0.85), ("api", 0.15)), 0.02),
    Source("linkedin", 0.14, 0.55, (("api", 0.7), ("widget", 0.3)), 0.02),
    Source("referral", 0.08, 0.75, (("widget", 0.6), ("api", 0.4)), 0.005),
    Source("webinar", 0.08, 0.50, (("import", 0.7), ("api", 0.3)), 0.01),
    Source("partner", 0.07, 0.60, (("api", 0.7), ("import", 0.3)), 0.03),
    Source("api", 0.06, 0.50, (("api", 1.0),), 0.06),
    Source("newsletter", 0.05, 0.35, (("widget", 0.6), ("api", 0.4)), 0.02),
    Source("facebook", 0.04, 0.25, (("api", 0.35), ("widget", 0.65)), 0.08),
    Source(None, 0.04, 0.40, (("widget", 0.7), ("api", 0.3)), 0.03),
)
#: Sources with spend recorded (`source_costs`), per month.
MONTHLY_SPEND = {"google-ads": 18000, "linkedin": 9000, "facebook": 3000, "webinar": 2500}


@dataclass(frozen=True)
class EventRow:
    """One `lead_events` row as the bot writes it (without ids)."""

    kind: str
    at: datetime
    actor: str
    from_state: str | None = None
    to_state: str | None = None
    reason: str | None = None
    data: dict[str, Any] = field(default_factory=dict)

    def for_projection(self) -> metrics.Event:
        return metrics.Event(
            self.kind, self.at, self.actor, self.from_state, self.to_state, self.data
        )


@dataclass
class History:
    """One lead: its `leads` row (column → value) and its events, oldest first."""

    lead_id: int
    lead: dict[str, Any]
    events: list[EventRow]


def _at(epoch: float) -> datetime:
    return datetime.fromtimestamp(epoch, UTC)


def _pick(rng: random.Random, weighted: Sequence[tuple[Any, float]]) -> Any:
    roll = rng.random() * sum(w for _, w in weighted)
    for value, weight in weighted:
        roll -= weight
        if roll < 0:
            return value
    return weighted[-1][0]


def _delay(rng: random.Random, median: float, sigma: float) -> float:
    return max(1.0, rng.lognormvariate(math.log(median), sigma))


def capture_times(
    rng: random.Random, count: int, now: datetime, days: int, tz: ZoneInfo, growth: float = 2.5
) -> list[float]:
    """`count` capture moments (epoch seconds, sorted) over the `days` up to `now`: more on
    weekdays and in office hours (local to `tz`), and `growth` times as many at the end."""
    today = now.astimezone(tz).date()
    first = today - timedelta(days=days - 1)
    day_list = [first + timedelta(days=i) for i in range(days)]
    weights = []
    for i, day in enumerate(day_list):
        season = 0.5 if (day.month, day.day) >= (12, 22) or (day.month, day.day) <= (1, 2) else 1
        grown = math.exp(math.log(growth) * i / max(1, days - 1))
        weights.append(grown * WEEKDAY_SHARE[day.weekday()] * season)
    cum_days = list(_cumulative(weights))
    cum_weekday, cum_weekend = list(_cumulative(WEEKDAY_HOURS)), list(_cumulative(WEEKEND_HOURS))
    hour_start: dict[tuple[int, int], float] = {}
    limit = now.timestamp()
    found: list[float] = []
    while len(found) < count:
        for index in rng.choices(range(days), cum_weights=cum_days, k=count - len(found)):
            day = day_list[index]
            hours = cum_weekday if day.weekday() < 5 else cum_weekend
            hour = rng.choices(range(24), cum_weights=hours)[0]
            key = (index, hour)
            if key not in hour_start:
                hour_start[key] = datetime.combine(day, time(hour), tz).timestamp()
            moment = hour_start[key] + rng.random() * 3600
            if moment <= limit:
                found.append(moment)
    found.sort()
    return found


def _cumulative(values: Sequence[float]) -> Iterator[float]:
    total = 0.0
    for value in values:
        total += value
        yield total


class Team:
    """The reps as people (office hours, days away) and each queue's rotation balances."""

    def __init__(self, config: LeadbotConfig, seed: int) -> None:
        self._config = config
        self._seed = seed
        self._zones = {r.id: config.rep_timezone(r.id) for r in config.reps}
        self._weights = {r.id: r.weight for r in config.reps}
        # queue → rep → [earned, offers, last offered]
        self.balances: dict[str, dict[str, list[Any]]] = {
            q.id: {rep: [0.0, 0, None] for rep in q.reps} for q in config.queues
        }
        self._windows: dict[tuple[str, date], tuple[float, float] | None] = {}

    def members(self, queue_id: str) -> tuple[str, ...]:
        return self._config.queue(queue_id).reps

    def _window(self, rep: str, day: date) -> tuple[float, float] | None:
        """The rep's office hours on a local day (epoch seconds), None when off or away."""
        key = (rep, day)
        if key not in self._windows:
            away = zlib.crc32(f"{self._seed}:{rep}:{day}".encode()) % 100 < AWAY_DAYS_PERCENT
            if day.weekday() >= 5 or away:
                self._windows[key] = None
            else:
                tz = self._zones[rep]
                start = datetime.combine(day, OFFICE[0], tz).timestamp()
                self._windows[key] = (start, datetime.combine(day, OFFICE[1], tz).timestamp())
        return self._windows[key]

    def _local_day(self, rep: str, t: float) -> date:
        return datetime.fromtimestamp(t, self._zones[rep]).date()

    def away(self, rep: str, t: float) -> bool:
        """Away all day (holiday, sick): the rotation passes them over."""
        day = self._local_day(rep, t)
        return day.weekday() < 5 and self._window(rep, day) is None

    def at_work(self, rep: str, t: float) -> bool:
        window = self._window(rep, self._local_day(rep, t))
        return window is not None and window[0] <= t < window[1]

    def next_at_work(self, rep: str, t: float) -> float:
        day = self._local_day(rep, t)
        for offset in range(30):
            window = self._window(rep, day + timedelta(days=offset))
            if window is not None and t < window[1]:
                return max(t, window[0])
        return t + 30 * 86400.0  # pragma: no cover - a month away

    def offer(
        self, queue_id: str, t: float, excluded: Sequence[str] = ()
    ) -> tuple[str | None, list[tuple[str, str]]]:
        """The real rotation's choice (balances updated as `record_choice` does):
        (the rep offered or None, [(rep passed over, why)])."""
        balances = self.balances[queue_id]
        candidates = [
            Candidate(
                rep_id=rep,
                position=position,
                weight=self._weights[rep],
                earned=state[0],
                offers=state[1],
                last_offered_at=state[2],
                away=self.away(rep, t),
            )
            for position, (rep, state) in enumerate(balances.items())
        ]
        choice = rotation_choice(candidates, excluded)
        for rep, share in choice.shares.items():
            balances[rep][0] += share
        if choice.rep_id is not None:
            balances[choice.rep_id][1] += 1
            balances[choice.rep_id][2] = _at(t)
        return choice.rep_id, [(s.rep_id, s.reason.value) for s in choice.skipped]

    def respond(
        self, rng: random.Random, rep: str, t: float, median: float, sigma: float = 1.0
    ) -> float:
        """When `rep`, told about a lead at `t`, acts on it: soon in office hours; outside
        them now and then from their phone, else after they start the next working day."""
        if self.at_work(rep, t):
            return t + _delay(rng, median, sigma)
        if rng.random() < 0.5:
            return t + _delay(rng, median * 2, sigma)
        return self.next_at_work(rep, t) + rng.random() * 1800 + _delay(rng, median, sigma)


@dataclass
class _Lead:
    """A lead while its history is simulated: what the bot's rows would say now."""

    lead_id: int
    queue: str | None = None
    state: str = LeadState.NEW.value
    offered_rep: str | None = None
    exclusive_until: float = -INF
    opened_at: float | None = None
    owner: str | None = None
    contacted: bool = False
    sla_status: str | None = None
    posted_at: float | None = None
    closed: bool = False
    dues: tuple[datetime | None, ...] = ()  # each ladder step's due time
    steps: list[tuple[float, int]] = field(default_factory=list)  # (fire time, step index)
    cancelled: set[int] = field(default_factory=set)
    events: list[tuple[float, int, EventRow]] = field(default_factory=list)

    def add(
        self,
        t: float,
        kind: str,
        actor: str,
        *,
        to: str | None = None,
        reason: str | None = None,
        data: dict[str, Any] | None = None,
        from_state: bool = False,
    ) -> None:
        before = self.state if from_state else None
        row = EventRow(kind, _at(t), actor, before, to, reason, data or {})
        self.events.append((t, len(self.events), row))
        if to is not None:
            self.state = to


class Histories:
    """Builds lead histories in capture order (ids 1, 2, …) from one seeded random stream."""

    def __init__(
        self, config: LeadbotConfig, *, seed: int, now: datetime, api_key_id: int | None
    ) -> None:
        self.config = config
        self.rng = random.Random(seed)
        self.now = now
        self.team = Team(config, seed)
        self.qualifier = Qualifier(config)
        self._api_actor = f"api-key:{api_key_id}" if api_key_id is not None else "api"
        self._api_key_id = api_key_id
        self._workspace_tz = ZoneInfo(config.workspace.timezone)
        self._managers = tuple(config.managers)
        self._channels = {q.id: q.channel for q in config.queues}
        self._windows = {q.id: q.exclusivity_seconds for q in config.queues}
        self._ladders = {q.id: config.queue_ladder(q.id) for q in config.queues}
        self._hours = {q.id: config.queue_hours(q.id) for q in config.queues}
        self._source_cum = list(_cumulative([s.share for s in SOURCES]))

    def stream(self, leads: int, days: int) -> Iterator[History]:
        """`leads` histories, ids 1, 2, … in capture order, captured over the `days` to `now`."""
        tz = ZoneInfo(self.config.workspace.timezone)
        for lead_id, captured in enumerate(capture_times(self.rng, leads, self.now, days, tz), 1):
            yield self.build(lead_id, captured)

    # ------------------------------------------------------------------ one lead

    def build(self, lead_id: int, captured: float) -> History:
        rng = self.rng
        source = rng.choices(SOURCES, cum_weights=self._source_cum)[0]
        intake = _pick(rng, source.intakes)
        spam = rng.random() < source.spam
        person = self._person(lead_id, source, intake, spam)
        verdict = self._assess(person, intake, source)
        actor = self._capture_actor(intake)
        lead = _Lead(lead_id)
        route = verdict.route
        lead.add(
            captured,
            "captured",
            actor,
            to=(LeadState.NURTURE if route.nurture else LeadState.NEW).value,
            reason=route.reason,
            data={
                "intake": intake,
                "queue": route.queue_id,
                "rule": route.rule,
                "score": verdict.score.points,
                "grade": _grade(verdict),
            },
        )
        assessments = [(captured, verdict)]
        if route.queue_id is not None:
            self._work(lead, captured, route.queue_id, actor, person, spam)
            self._maybe_merge(lead, captured, person, intake, source, assessments, chance=0.015)
        else:
            self._nurtured(lead, captured, person, intake, source, spam, assessments)
        return self._finish(lead, source, intake, person, assessments)

    def _person(self, lead_id: int, source: Source, intake: str, spam: bool) -> dict[str, Any]:
        rng, q = self.rng, source.quality
        first, last = rng.choice(FIRST), rng.choice(LAST)
        company = f"{rng.choice(COMPANIES)} {rng.choice(('Ltd', 'GmbH', 'Inc', 'SA'))}"
        roll = rng.random()
        if (spam and rng.random() < 0.6) or roll < 0.02:
            domain = rng.choice(DISPOSABLE)
        elif roll < 0.27:
            domain = rng.choice(FREE_MAIL)
        else:
            domain = company.split()[0].lower() + ".example"
        local = f"{first}.{last}".lower().replace("ü", "u")
        email = f"{local}{lead_id}@{domain}"
        answers: dict[str, Any] = {}
        full = intake == "widget" or rng.random() < 0.75
        if full or rng.random() < 0.5:
            size = rng.lognormvariate(math.log(40 * (1 + 2 * q)), 1.5)
            answers["company_size"] = max(1, min(1_000_000, round(size)))
        if full:
            answers["budget"] = _pick(
                rng, list(zip(BUDGETS, (0.35 - 0.2 * q, 0.3, 0.1 + 0.25 * q, 0.25), strict=True))
            )
            answers["timeline"] = _pick(
                rng,
                list(zip(TIMELINES, (0.1 + 0.15 * q, 0.25, 0.25, 0.4 - 0.2 * q), strict=True)),
            )
        phone = f"+4420{rng.randrange(10**7, 10**8)}" if rng.random() < 0.3 else None
        return {
            "name": f"{first} {last}",
            "email": email,
            "company": company,
            "phone": phone,
            "answers": answers,
            "pages": ("/pricing",) if intake == "widget" and rng.random() < 0.3 else (),
            "human": intake == "widget" and rng.random() < 0.06,
            "visits": 1,
            "spam": spam,
        }

    def _assess(self, person: dict[str, Any], intake: str, source: Source) -> Assessment:
        return self.qualifier.assess(
            lead_facts(
                answers=person["answers"],
                email_normalized=person["email"].lower(),
                phone_e164=person["phone"],
                intake=intake,
                source=source.name,
                utm={"source": source.name} if source.name else {},
                pages=person["pages"],
                visits=person["visits"],
                asked_for_human=person["human"],
            )
        )

    def _capture_actor(self, intake: str) -> str:
        if intake == "api":
            return self._api_actor
        if intake == "widget":
            return f"widget:{_uuid(self.rng)}"
        return "import"

    # ------------------------------------------------------------- nurture path

    def _nurtured(
        self,
        lead: _Lead,
        captured: float,
        person: dict[str, Any],
        intake: str,
        source: Source,
        spam: bool,
        assessments: list[tuple[float, Assessment]],
    ) -> None:
        """A nurtured lead: discarded by a manager if junk; otherwise now and then the
        person comes back (merged), and is then sometimes sales-ready (routed and worked)."""
        rng = self.rng
        if spam:
            if rng.random() < 0.9:
                discard = captured + _delay(rng, 86400, 1.2)
                manager = rng.choice(self._managers)
                lead.add(discard, "spam", manager, to="spam", reason="spam", from_state=True)
                lead.closed = True
        elif rng.random() < 0.045:
            back = captured + _delay(rng, 6 * 86400, 1.3)
            self._merge(
                lead, back, person, intake, source, assessments, improve=0.5, may_route=True
            )

    def _merge(
        self,
        lead: _Lead,
        t: float,
        person: dict[str, Any],
        intake: str,
        source: Source,
        assessments: list[tuple[float, Assessment]],
        *,
        improve: float,
        may_route: bool,
    ) -> None:
        """The person comes back: merged into their lead, rescored (a return visit counts);
        a nurtured lead nobody owns that is now sales-ready is routed and offered (`may_route`)."""
        rng = self.rng
        via = "widget" if rng.random() < 0.6 else "api"
        actor = self._capture_actor(via)
        person["visits"] += 1
        changed: list[str] = []
        if rng.random() < improve:
            person["answers"]["budget"] = rng.choice(("$10k to $50k", "Over $50k"))
            person["answers"]["timeline"] = rng.choice(("This month", "This quarter"))
            changed = ["budget", "timeline"]
        verdict = self._assess(person, intake, source)
        assessments.append((t, verdict))
        lead.add(
            t,
            "merged",
            actor,
            data={
                "matched": ["email"],
                "via": via,
                "filled": [],
                "differing": [],
                "answers": changed,
                "score": verdict.score.points,
                "grade": _grade(verdict),
            },
        )
        route = verdict.route
        if not may_route or route.queue_id is None:
            return
        lead.add(
            t,
            "routed",
            actor,
            to=LeadState.NEW.value,
            reason=route.reason,
            data={"queue": route.queue_id, "rule": route.rule, "score": verdict.score.points},
            from_state=True,
        )
        self._work(lead, t, route.queue_id, actor, person, spam=False)

    def _maybe_merge(
        self,
        lead: _Lead,
        captured: float,
        person: dict[str, Any],
        intake: str,
        source: Source,
        assessments: list[tuple[float, Assessment]],
        *,
        chance: float,
    ) -> None:
        """A posted lead's person comes back while the lead is still open."""
        if self.rng.random() >= chance:
            return
        back = captured + _delay(self.rng, 4 * 86400, 1.3)
        if _state_at(lead, back) in ("won", "lost", "spam"):
            return  # closed by then: the bot would have made them a new lead
        self._merge(lead, back, person, intake, source, assessments, improve=0.3, may_route=False)

    # --------------------------------------------------------------- posted path

    def _work(
        self,
        lead: _Lead,
        posted: float,
        queue: str,
        actor: str,
        person: dict[str, Any],
        spam: bool,
    ) -> None:
        """Posted to `queue` at `posted`: offered, chased by the ladder, claimed, contacted
        and worked to an outcome (or not)."""
        rng = self.rng
        lead.queue, lead.posted_at, lead.sla_status = queue, posted, "pending"
        hours, tz = self._hours[queue]
        ladder = self._ladders[queue]
        dues = ladder_rules.due_times(ladder, hours, tz, _at(posted))
        lead.dues = dues
        lead.steps = [
            (due.timestamp() + rng.uniform(0.02, 0.5), i)
            for i, due in enumerate(dues)
            if due is not None
        ]
        self._offer(lead, posted, actor)
        never_claimed = rng.random() < 0.025
        released = False
        while True:
            claimed = self._claim_phase(lead, never_claimed)
            if claimed is None:
                return
            t, owner = claimed
            if spam:
                discard = t + _delay(rng, 120, 1.0)
                self._run_steps(lead, discard)
                lead.add(discard, "spam", owner, to="spam", reason="spam", from_state=True)
                self._close(lead)
                return
            if not released and rng.random() < 0.05:
                release = t + _delay(rng, 240, 1.0)
                self._run_steps(lead, release)
                self._release(lead, release, owner)
                released = True
                continue
            break
        if rng.random() < 0.045:  # claimed, never contacted
            self._run_steps(lead, INF)
            if rng.random() < 0.5:
                self._close_as(lead, t + _delay(rng, 3 * 86400, 1.0), "lost", owner)
            return
        contact = t + _delay(rng, 45, 1.1)
        self._run_steps(lead, contact)
        self._first_contact(lead, contact, owner, person)
        self._outcome(lead, contact, owner)

    def _offer(self, lead: _Lead, t: float, actor: str, excluded: Sequence[str] = ()) -> None:
        """`Offers.offer`: the rotation's choice, `passed` per rep skipped, then `offered`
        (exclusive for the queue's window) or `opened` when nobody could take it."""
        assert lead.queue is not None
        rep, skipped = self.team.offer(lead.queue, t, excluded)
        for passed, why in skipped:
            lead.add(t, "passed", actor, reason=why, data={"rep": passed, "queue": lead.queue})
        skipped_note = [{"rep": r, "reason": why} for r, why in skipped]
        lead.offered_rep = rep
        if rep is None:
            lead.exclusive_until = -INF
            lead.add(
                t,
                "opened",
                actor,
                reason="nobody available",
                data={"queue": lead.queue, "skipped": skipped_note},
            )
            lead.state = LeadState.NEW.value
            return
        window = self._windows[lead.queue]
        lead.exclusive_until = t + window if window else -INF
        lead.add(
            t,
            "offered",
            actor,
            to=LeadState.OFFERED.value,
            data={
                "rep": rep,
                "queue": lead.queue,
                "exclusive_seconds": float(window),
                "skipped": skipped_note,
            },
        )

    def _claim_phase(self, lead: _Lead, never: bool) -> tuple[float, str] | None:
        """Steps fire until someone claims: the offered rep, or once the offer's window is
        over (or the lead is opened to the channel) another rep of the queue."""
        assert lead.queue is not None
        # Each rep's reaction to one prompt (an offer, the window's end, the channel call) is
        # drawn once, so a step firing in between never moves a claim before it.
        reactions: dict[tuple[str, float, float], float] = {}

        def react(rep: str, told: float, median: float, sigma: float = 1.0) -> float:
            key = (rep, told, median)
            if key not in reactions:
                reactions[key] = self.team.respond(self.rng, rep, told, median, sigma)
            return reactions[key]

        while True:
            offered, since = lead.offered_rep, self._last_offer_time(lead)
            candidates: list[tuple[float, str]] = []
            if not never:
                if offered is not None:
                    candidates.append((react(offered, since, 30, 0.9), offered))
                open_from = max(lead.exclusive_until, since)
                if lead.opened_at is not None:
                    open_from = min(open_from, lead.opened_at)
                median = 60.0 if lead.opened_at is not None else 180.0
                for rep in self.team.members(lead.queue):
                    if rep != offered and not self.team.away(rep, open_from):
                        candidates.append((react(rep, open_from, median), rep))
            claim_at, owner = min(candidates, default=(INF, ""))
            step_at = self._next_step(lead)
            if step_at < claim_at:
                self._fire_next(lead)
                continue
            if claim_at == INF:
                return None
            self._claim(lead, claim_at, owner)
            return claim_at, owner

    def _last_offer_time(self, lead: _Lead) -> float:
        for t, _, row in reversed(lead.events):
            if row.kind in ("offered", "opened", "released", "captured", "routed"):
                return t
        return lead.events[-1][0]  # pragma: no cover

    def _claim(self, lead: _Lead, t: float, owner: str) -> None:
        captured = lead.events[0][0]
        lead.add(
            t,
            "claimed",
            owner,
            to=LeadState.CLAIMED.value,
            data={
                "seconds_to_claim": t - captured,
                "offered_rep": lead.offered_rep,
                "queue": lead.queue,
            },
            from_state=True,
        )
        lead.owner = owner
        self._on_change(lead)

    def _release(self, lead: _Lead, t: float, owner: str) -> None:
        lead.add(
            t,
            "released",
            owner,
            to=LeadState.NEW.value,
            data={"rep": owner, "queue": lead.queue},
            from_state=True,
        )
        lead.owner = None
        lead.opened_at = None
        self._offer(lead, t, owner, excluded=(owner,))

    def _first_contact(self, lead: _Lead, t: float, owner: str, person: dict[str, Any]) -> None:
        """Contacted (the button: `contacted` then `first_contact`), or for a chat lead often
        a reply in its thread first (`first_contact`, the Contacted click maybe later)."""
        thread = lead.events[0][2].data.get("intake") == "widget" and self.rng.random() < 0.55
        if not thread:
            lead.add(t, "contacted", owner, to=LeadState.CONTACTED.value, from_state=True)
        via = "thread_reply" if thread else "contacted_button"
        lead.add(t, "first_contact", owner, data={"via": via})
        lead.contacted = True
        self._on_change(lead, contact=t)
        if thread and self.rng.random() < 0.6:
            later = t + _delay(self.rng, 600, 1.0)
            lead.add(later, "contacted", owner, to=LeadState.CONTACTED.value, from_state=True)

    def _outcome(self, lead: _Lead, t: float, owner: str) -> None:
        rng = self.rng
        roll = rng.random()
        if roll < 0.27:
            t = _latest(lead) + _delay(rng, 2 * 86400, 1.0)
            lead.add(t, "qualified", owner, to=LeadState.QUALIFIED.value, from_state=True)
            roll = rng.random()
            if roll < 0.36:
                self._close_as(lead, t + _delay(rng, 12 * 86400, 0.8), "won", owner)
            elif roll < 0.80:
                self._close_as(lead, t + _delay(rng, 10 * 86400, 1.0), "lost", owner)
            elif roll < 0.85:
                self._close_as(lead, t + _delay(rng, 7 * 86400, 1.0), "nurture", owner)
        elif roll < 0.65:
            self._close_as(lead, _latest(lead) + _delay(rng, 4 * 86400, 1.2), "lost", owner)
        elif roll < 0.77:
            self._close_as(lead, _latest(lead) + _delay(rng, 3 * 86400, 1.0), "nurture", owner)
        elif roll < 0.782:
            self._close_as(lead, _latest(lead) + _delay(rng, 6 * 86400, 1.0), "won", owner)

    def _close_as(self, lead: _Lead, t: float, kind: str, owner: str) -> None:
        """`LeadWork.act` for Won, Lost or Nurture (by the owner, now and then a manager)."""
        rng = self.rng
        actor = rng.choice(self._managers) if rng.random() < 0.03 else owner
        data: dict[str, Any] = {}
        reason = None
        if kind == "lost":
            reason = data["reason"] = rng.choice(LOST_REASONS)
        elif kind == "nurture" and rng.random() < 0.7:
            follow = (_at(t) + timedelta(days=rng.choice((14, 30, 60, 90)))).date()
            data["follow_up"] = follow.isoformat()
        self._run_steps(lead, t)
        lead.add(t, kind, actor, to=kind, reason=reason, data=data, from_state=True)
        self._close(lead)

    def _close(self, lead: _Lead) -> None:
        """Won, lost, nurture or spam: no step acts on the lead any more."""
        lead.closed = True
        self._on_change(lead)

    # ---------------------------------------------------------------- the ladder

    def _next_step(self, lead: _Lead) -> float:
        for t, i in lead.steps:
            if i not in lead.cancelled:
                return t
        return INF

    def _run_steps(self, lead: _Lead, until: float) -> None:
        """Fire every step due before `until` that is still scheduled."""
        while self._next_step(lead) < until:
            self._fire_next(lead)

    def _fire_next(self, lead: _Lead) -> None:
        """`SlaClock._fire` for the next scheduled step: it acts if its condition holds."""
        index = next(k for k, (_, i) in enumerate(lead.steps) if i not in lead.cancelled)
        t, i = lead.steps.pop(index)
        assert lead.queue is not None and lead.posted_at is not None
        ladder = self._ladders[lead.queue]
        step = ladder.steps[i]
        view = ladder_rules.LeadClock(
            _at(lead.posted_at),
            owner=lead.owner,
            first_contact_at=_at(t) if lead.contacted else None,
            closed=lead.closed,
        )
        if not ladder_rules.applies(step, view):
            return  # the bot's timer fires and does nothing
        due = lead.dues[i]
        assert due is not None
        lead.add(
            t,
            "sla_step",
            "sla",
            reason=step.action.value,
            data={"step": i, "due": due.isoformat(), "late_seconds": t - due.timestamp()},
        )
        action = step.action
        if action is ladder_rules.Action.REOFFER:
            previous = lead.offered_rep
            if previous:
                lead.add(t, "offer_timeout", "sla", data={"rep": previous, "queue": lead.queue})
            self._offer(lead, t, "sla", excluded=(previous,) if previous else ())
        elif action is ladder_rules.Action.OPEN_TO_CHANNEL:
            lead.exclusive_until = -INF
            lead.opened_at = t
            lead.add(t, "opened", "sla", reason="unclaimed", data={"queue": lead.queue, "step": i})
        elif action is ladder_rules.Action.MARK_MISSED:
            lead.sla_status = "missed"
            lead.add(
                t,
                "sla_missed",
                "sla",
                data={
                    "target_seconds": ladder.target.total_seconds(),
                    "queue": lead.queue,
                    "claimed": lead.owner is not None,
                },
            )

    def _on_change(self, lead: _Lead, contact: float | None = None) -> None:
        """`SlaClock.on_change`: cancel what no longer applies; at first contact the outcome."""
        assert lead.queue is not None and lead.posted_at is not None
        ladder = self._ladders[lead.queue]
        view = ladder_rules.LeadClock(
            _at(lead.posted_at),
            owner=lead.owner,
            first_contact_at=_at(contact) if contact is not None else None,
            closed=lead.closed,
        )
        lead.cancelled.update(ladder_rules.steps_to_cancel(ladder, view))
        if contact is None or lead.sla_status not in ("pending", "missed"):
            return
        hours, tz = self._hours[lead.queue]
        outcome = ladder_rules.sla_outcome(ladder, hours, tz, _at(lead.posted_at), _at(contact))
        data = {
            "elapsed_seconds": outcome.elapsed.total_seconds(),
            "margin_seconds": outcome.margin.total_seconds(),
            "target_seconds": ladder.target.total_seconds(),
            "queue": lead.queue,
        }
        if lead.sla_status == "pending":
            kind, lead.sla_status = ("sla_met", "met") if outcome.met else ("sla_missed", "missed")
        else:
            kind, lead.sla_status = "sla_contact_late", "missed_contacted"
        lead.add(contact, kind, "sla", data=data)

    # ------------------------------------------------------------------ the row

    def _finish(
        self,
        lead: _Lead,
        source: Source,
        intake: str,
        person: dict[str, Any],
        assessments: list[tuple[float, Assessment]],
    ) -> History:
        """The history cut at `now` (a prefix of what the bot would store) and the lead's
        row as those events leave it."""
        limit = self.now.timestamp()
        ordered = sorted(lead.events, key=lambda e: (e[0], e[1]))
        events = [row for t, _, row in ordered if t <= limit]
        row = self._lead_row(lead.lead_id, events, source, intake, person, assessments)
        return History(lead.lead_id, row, events)

    def _lead_row(
        self,
        lead_id: int,
        events: list[EventRow],
        source: Source,
        intake: str,
        person: dict[str, Any],
        assessments: list[tuple[float, Assessment]],
    ) -> dict[str, Any]:
        captured = events[0].at
        verdict = [a for t, a in assessments if _at(t) <= events[-1].at][-1]
        state = next(e.to_state for e in reversed(events) if e.to_state)
        row: dict[str, Any] = {
            "id": lead_id,
            "state": state,
            "grade": _grade(verdict),
            "score": verdict.score.points,
            "score_reasons": self.qualifier.stored_reasons(verdict.score),
            "name": person["name"],
            "email": person["email"],
            "email_normalized": person["email"].lower(),
            "phone": person["phone"],
            "phone_e164": person["phone"],
            "company": person["company"],
            "answers": dict(person["answers"]),
            "intake": intake,
            "source": source.name,
            "utm": {"source": source.name, "medium": "cpc"} if source.name else {},
            "first_touch": {"at": captured.isoformat(), "via": intake},
            "last_touch": {"at": captured.isoformat(), "via": intake},
            "api_key_id": self._api_key_id if intake == "api" else None,
            "queue_id": None,
            "offered_rep_id": None,
            "offered_at": None,
            "exclusive_until": None,
            "owner_id": None,
            "claimed_at": None,
            "first_contact_at": None,
            "asked_for_human": person["human"],
            "lost_reason": None,
            "follow_up_at": None,
            "sla_status": None,
            "routing": {
                "route": {
                    "queue": verdict.route.queue_id,
                    "rule": verdict.route.rule,
                    "reason": verdict.route.reason,
                },
                "score": {"base": verdict.score.points, "at": captured.isoformat()},
            },
            "slack_channel_id": None,
            "slack_ts": None,
            "captured_at": captured,
            "updated_at": events[-1].at,
            "last_activity_at": events[-1].at,
            "merged_count": 0,
            "erased_at": None,
        }
        for event in events:
            data = event.data
            kind = event.kind
            if kind in ("captured", "routed") and data.get("queue"):
                row["queue_id"] = data["queue"]
                row["sla_status"] = "pending"
                row["slack_channel_id"] = self._channels[data["queue"]]
                row["slack_ts"] = f"{event.at.timestamp():.6f}"
                row["routing"]["sla"] = {"start": event.at.isoformat(), "queue": data["queue"]}
            elif kind == "offered":
                window = data["exclusive_seconds"]
                row["offered_rep_id"], row["offered_at"] = data["rep"], event.at
                row["exclusive_until"] = event.at + timedelta(seconds=window) if window else None
                row["routing"]["offer"] = {
                    "rep": data["rep"],
                    "skipped": data["skipped"],
                    "at": event.at.isoformat(),
                }
            elif kind == "opened":
                row["exclusive_until"] = None
                if event.reason == "nobody available":
                    row["offered_rep_id"] = row["offered_at"] = None
            elif kind == "claimed":
                row["owner_id"], row["claimed_at"] = event.actor, event.at
            elif kind == "released":
                row["owner_id"] = row["claimed_at"] = None
            elif kind == "first_contact" and row["first_contact_at"] is None:
                row["first_contact_at"] = event.at
            elif kind in ("sla_met", "sla_missed", "sla_contact_late"):
                row["sla_status"] = {
                    "sla_met": "met",
                    "sla_missed": "missed",
                    "sla_contact_late": "missed_contacted",
                }[kind]
            elif kind == "lost":
                row["lost_reason"] = event.reason
            elif kind == "nurture" and "follow_up" in data:
                day = date.fromisoformat(data["follow_up"])
                row["follow_up_at"] = datetime.combine(day, time(9), self._workspace_tz)
            elif kind == "merged":
                row["merged_count"] += 1
        return row


def _latest(lead: _Lead) -> float:
    """The time of the lead's latest event so far."""
    return max(t for t, _, _ in lead.events)


def _state_at(lead: _Lead, t: float) -> str:
    state = LeadState.NEW.value
    for at, _, row in sorted(lead.events, key=lambda e: (e[0], e[1])):
        if at > t:
            break
        if row.to_state:
            state = row.to_state
    return state


def _grade(verdict: Assessment) -> str | None:
    return verdict.score.grade.value if verdict.score.grade else None


def _uuid(rng: random.Random) -> str:
    h = f"{rng.getrandbits(128):032x}"
    return f"{h[:8]}-{h[8:12]}-4{h[13:16]}-a{h[17:20]}-{h[20:]}"


def monthly_costs(now: datetime, days: int) -> Iterator[tuple[str, datetime, datetime, int]]:
    """(source, start, end, amount) per calendar month (UTC) overlapping the period."""
    first = (now - timedelta(days=days)).date().replace(day=1)
    month = first
    while month <= now.date():
        following = (month + timedelta(days=32)).replace(day=1)
        start = datetime.combine(month, time(0), UTC)
        end = datetime.combine(following, time(0), UTC)
        for source, amount in MONTHLY_SPEND.items():
            yield source, start, end, amount
        month = following

"""Use cases on leads. Each opens exactly one unit of work."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from bot.clock import Clock
from bot.domain.contact import Email, Phone
from bot.domain.lead import CLAIMABLE_STATES, LeadState, format_duration
from bot.domain.merge import Contact, plan_merge
from bot.offers import Offers
from bot.offers import record as record_offer
from bot.qualify import Assessment, Qualifier, lead_facts
from bot.sla import SlaClock, SlaPlan, with_sla
from store import leads as lead_store
from store import outbox as outbox_store
from store.db import Database
from store.leads import event_values
from store.models import Lead

POST_CARD = "post_card"
UPDATE_CARD = "update_card"
#: A message in the lead's card thread (a returning person), once the card is posted.
POST_THREAD_NOTE = "post_thread_note"


def channel_key(channel_id: str) -> str:
    """Outbox ordering key: everything for one channel goes out in order."""
    return f"channel:{channel_id}"


@dataclass(frozen=True)
class LeadIntake:
    """A validated, normalized lead as it arrives from any intake surface.

    ``chat_id`` names the widget conversation it came from (its page views
    count towards the score); ``asked_for_human`` is the visitor's request.
    """

    intake: str
    email: Email | None = None
    phone: Phone | None = None
    name: str | None = None
    company: str | None = None
    source: str | None = None
    answers: dict[str, Any] = field(default_factory=dict)
    utm: dict[str, str] = field(default_factory=dict)
    api_key_id: int | None = None
    page: str | None = None
    referrer: str | None = None
    asked_for_human: bool = False
    chat_id: str | None = None


def _touch(intake: LeadIntake, now: datetime) -> dict[str, Any]:
    """Where this visit came from: stored as first touch (on create) and last touch (always)."""
    return {
        "at": now.isoformat(),
        "intake": intake.intake,
        "source": intake.source,
        "utm": dict(intake.utm),
        "page": intake.page,
        "referrer": intake.referrer,
    }


def stored_contact(lead: Lead) -> Contact:
    return Contact(
        name=lead.name,
        company=lead.company,
        email=Email(lead.email or "", lead.email_normalized) if lead.email_normalized else None,
        phone=Phone(lead.phone or "", lead.phone_e164) if lead.phone_e164 else None,
        source=lead.source,
    )


@dataclass(frozen=True)
class Captured:
    """What a capture did: a new lead, or a returning person merged into their open one."""

    lead_id: int
    state: LeadState
    merged: bool


#: Runs inside a capture's transaction with the lead id and its state; raising undoes it.
Then = Callable[[AsyncSession, int, LeadState], Awaitable[None]]


@dataclass(frozen=True)
class CaptureRequest:
    intake: LeadIntake
    actor: str
    then: Then | None = None


@dataclass(frozen=True)
class _Posting:
    """What posting a lead to a queue writes (`Leads._place`): the lead's columns, its
    events, its outbox rows and its SLA ladder, each without the lead id."""

    lead_values: dict[str, Any]
    events: list[dict[str, Any]]
    outbox: list[dict[str, Any]]
    plan: SlaPlan


class _RequestFailed(Exception):
    """A lone capture's own failure, carried out of its transaction to roll it back."""

    def __init__(self, error: Exception) -> None:
        super().__init__(str(error))
        self.error = error


@dataclass(frozen=True)
class QueueTarget:
    id: str
    channel_id: str


@dataclass(frozen=True)
class ClaimResult:
    """Outcome of a claim click: `won`, or who holds the lead instead, or why not."""

    won: bool
    owner_id: str | None
    found: bool = True
    refusal: str | None = None  # the reason when the clicker may not claim it (yet)


class Leads:
    """Capture and claim: the lead's path from intake to an owner."""

    def __init__(
        self,
        db: Database,
        clock: Clock,
        wake_outbox: Callable[[], None],
        qualifier: Qualifier,
        offers: Offers,
        sla: SlaClock,
    ) -> None:
        self._db = db
        self._clock = clock
        self._wake_outbox = wake_outbox
        self._qualifier = qualifier
        self._offers = offers
        self._sla = sla

    async def capture(self, intake: LeadIntake, actor: str, *, then: Then | None = None) -> int:
        """`capture_lead`, for callers that need only the lead id."""
        return (await self.capture_lead(intake, actor, then=then)).lead_id

    async def capture_lead(
        self, intake: LeadIntake, actor: str, *, then: Then | None = None
    ) -> Captured:
        """Store the lead, its first events and the intents to post and offer it, atomically.

        The lead is scored and routed (SPEC §4, §5): under the SQL threshold it
        goes to nurture and no card is posted, unless the person asked for a
        human; otherwise its card goes to the queue's channel and it is offered
        to the queue's next available rep.
        A returning person (same normalized email or E.164 phone as an open lead)
        is merged into that lead instead: its id is returned, its card updated and
        its owner told in the thread — never a second card (SPEC §3).
        `then` runs inside the same transaction with the lead id and its state (the
        widget links its conversation there and says its closing); if it raises,
        nothing is stored.
        """
        [result] = await self.capture_all([CaptureRequest(intake, actor, then)])
        if isinstance(result, Exception):
            raise result
        return result

    async def capture_all(self, requests: Sequence[CaptureRequest]) -> list[Captured | Exception]:
        """Each request as `capture_lead` would, all in ONE transaction, in order.

        On SQLite every capture waits for the single writer and pays its own
        commit; a burst of finished conversations captured one transaction each
        queues its cards behind that. Each request runs in a savepoint, so one
        that fails (its `then` refuses, an engine bug) stores nothing and is
        returned as its exception, while the others commit. If the transaction
        itself fails, this raises and nothing is stored.
        """
        if len(requests) == 1:  # the transaction's own rollback undoes it: no savepoint
            try:
                async with self._db.transaction() as session:
                    try:
                        captured = await self._capture_in(session, requests[0])
                    except Exception as exc:
                        raise _RequestFailed(exc) from exc
            except _RequestFailed as failed:
                return [failed.error]
            self._wake_outbox()
            return [captured]
        results: list[Captured | Exception] = []
        async with self._db.transaction() as session:
            for request in requests:
                try:
                    async with session.begin_nested():
                        results.append(await self._capture_in(session, request))
                except Exception as exc:  # this request's failure stays its own
                    results.append(exc)
        self._wake_outbox()
        return results

    async def _capture_in(self, session: AsyncSession, request: CaptureRequest) -> Captured:
        intake, actor = request.intake, request.actor
        now = self._clock.now()
        touch = _touch(intake, now)
        email = intake.email.normalized if intake.email else None
        phone = intake.phone.e164 if intake.phone else None
        # Two captures of one new person must not both miss each other and both insert.
        keys = [f"email:{email}"] if email else []
        await lead_store.lock_contacts(session, keys + ([f"phone:{phone}"] if phone else []))
        found = await lead_store.open_leads_for_contact(
            session, email_normalized=email, phone_e164=phone
        )
        if found:
            # Email on one open lead and phone on another: the oldest one is the person's.
            oldest, *others = found
            lead_id, state = await self._merge(session, oldest, others, intake, touch, actor)
        else:
            lead_id, state = await self._insert(session, intake, touch, actor)
        if request.then is not None:
            await request.then(session, lead_id, state)
        return Captured(lead_id, state, merged=bool(found))

    async def _insert(
        self,
        session: AsyncSession,
        intake: LeadIntake,
        touch: dict[str, Any],
        actor: str,
    ) -> tuple[int, LeadState]:
        now = self._clock.now()
        pages = (
            await lead_store.viewed_paths(session, chat_id=intake.chat_id) if intake.chat_id else ()
        )
        facts = lead_facts(
            answers=intake.answers,
            email_normalized=intake.email.normalized if intake.email else None,
            phone_e164=intake.phone.e164 if intake.phone else None,
            intake=intake.intake,
            source=intake.source,
            utm=intake.utm,
            pages=pages,
            asked_for_human=intake.asked_for_human,
        )
        verdict = self._qualifier.assess(facts)
        score, route = verdict.score, verdict.route
        state = LeadState.NURTURE if route.nurture else LeadState.NEW
        routing = _routing_note(verdict, now)
        captured = event_values(
            "captured",
            actor,
            now,
            to_state=state.value,
            reason=route.reason,
            data={
                "intake": intake.intake,
                "queue": route.queue_id,
                "rule": route.rule,
                "score": score.points,
                "grade": score.grade.value if score.grade else None,
            },
        )
        # A sales-ready lead is inserted already offered, with its SLA clock: the queue
        # is chosen first, so the lead, its events, outbox rows and timers are one
        # statement each, not a row written and then rewritten.
        placed: dict[str, Any] = {
            "state": state.value,
            "queue_id": route.queue_id,
            "routing": routing,
        }
        posted = None
        if route.queue_id is not None:
            posted = await self._place(session, route.queue_id, routing, actor, now)
            placed = posted.lead_values
        lead_id = await lead_store.add_lead(
            session,
            now=now,
            intake=intake.intake,
            name=intake.name,
            company=intake.company,
            email=intake.email.given if intake.email else None,
            email_normalized=intake.email.normalized if intake.email else None,
            phone=intake.phone.given if intake.phone else None,
            phone_e164=intake.phone.e164 if intake.phone else None,
            source=intake.source,
            answers=intake.answers,
            utm=intake.utm,
            first_touch=touch,
            last_touch=touch,
            api_key_id=intake.api_key_id,
            score=score.points,
            grade=score.grade.value if score.grade else None,
            score_reasons=self._qualifier.stored_reasons(score),
            asked_for_human=intake.asked_for_human,
            **placed,
        )
        if posted is None:
            await lead_store.add_events(session, lead_id, [captured])
        else:
            await self._post(session, lead_id, posted, earlier=[captured])
        return lead_id, LeadState(placed["state"])

    async def _place(
        self,
        session: AsyncSession,
        queue_id: str,
        routing: dict[str, Any],
        actor: str,
        now: datetime,
    ) -> _Posting:
        """A lead posted to `queue_id` now, as values: the queue's next rep chosen (its lock
        held), the offer and the SLA clock on the lead's columns, its events, its card and
        DM, its ladder."""
        queue, choice = await self._offers.choose(session, queue_id=queue_id, now=now)
        offer = record_offer(queue, choice, now=now, actor=actor, routing=routing)
        plan = self._sla.plan(queue_id, now)
        lead_values = {
            **offer.lead_values,
            "routing": with_sla(offer.lead_values["routing"], plan.clock),
            "sla_status": "pending",
        }
        outbox = [_card_row(queue.channel_id, now)] + ([offer.dm] if offer.dm else [])
        return _Posting(lead_values, offer.events, outbox, plan)

    async def _post(
        self,
        session: AsyncSession,
        lead_id: int,
        posted: _Posting,
        *,
        earlier: list[dict[str, Any]] | None = None,
    ) -> None:
        """Store a posting's events (after `earlier` ones, in the same statement), outbox
        rows and SLA timers for the lead."""
        await lead_store.add_events(session, lead_id, (earlier or []) + posted.events)
        await outbox_store.enqueue_many(session, [{**r, "lead_id": lead_id} for r in posted.outbox])
        await self._sla.schedule(session, lead_id, posted.plan)

    async def _post_and_offer(
        self,
        session: AsyncSession,
        lead_id: int,
        queue_id: str,
        routing: dict[str, Any],
        actor: str,
    ) -> None:
        """Post and offer a stored lead (a nurtured one now sales-ready); its clock starts
        afresh, so earlier steps are cancelled."""
        now = self._clock.now()
        posted = await self._place(session, queue_id, routing, actor, now)
        await lead_store.set_lead(session, lead_id, **posted.lead_values, updated_at=now)
        await self._sla.cancel(session, lead_id)
        await self._post(session, lead_id, posted)

    async def _merge(
        self,
        session: AsyncSession,
        lead: Lead,
        others: list[Lead],
        intake: LeadIntake,
        touch: dict[str, Any],
        actor: str,
    ) -> tuple[int, LeadState]:
        now = self._clock.now()
        merge = plan_merge(
            stored_contact(lead),
            Contact(intake.name, intake.company, intake.email, intake.phone, intake.source),
            lead.answers or {},
            intake.answers,
            via=intake.intake,
        )
        values: dict[str, Any] = {"last_touch": touch}
        for name in merge.filled:
            if name == "email" and intake.email:
                values.update(email=intake.email.given, email_normalized=intake.email.normalized)
            elif name == "phone" and intake.phone:
                values.update(phone=intake.phone.given, phone_e164=intake.phone.e164)
            else:
                values[name] = merge.filled[name]
        answers = {**(lead.answers or {}), **intake.answers}
        if merge.answers:
            values["answers"] = answers
        if intake.utm and not lead.utm:
            values["utm"] = intake.utm
        asked = lead.asked_for_human or intake.asked_for_human
        pages = await lead_store.viewed_paths(session, lead_id=lead.id, chat_id=intake.chat_id)
        verdict = self._qualifier.assess(
            lead_facts(
                answers=answers,
                email_normalized=values.get("email_normalized", lead.email_normalized),
                phone_e164=values.get("phone_e164", lead.phone_e164),
                intake=lead.intake,
                source=values.get("source", lead.source),
                utm=values.get("utm", lead.utm or {}),
                pages=pages,
                visits=lead.merged_count + 2,
                asked_for_human=asked,
            )
        )
        score = verdict.score
        routing = {**(lead.routing or {}), "score": _score_note(score.points, now)}
        values.update(
            score=score.points,
            grade=score.grade.value if score.grade else None,
            score_reasons=self._qualifier.stored_reasons(score),
            asked_for_human=asked,
            routing=routing,
        )
        await lead_store.merge_into(session, lead_id=lead.id, now=now, **values)
        data = merge.summary()
        data.update(score=score.points, grade=score.grade.value if score.grade else None)
        if others:
            data["also_matched"] = [other.id for other in others]
        await lead_store.add_event(
            session, lead_id=lead.id, kind="merged", actor=actor, at=now, data=data
        )
        state = LeadState(lead.state)
        route = verdict.route
        if state is LeadState.NURTURE and lead.owner_id is None and route.queue_id is not None:
            # Nurtured at capture, sales-ready now: its first card, offered like a new lead.
            routing["route"] = _routing_note(verdict, now)["route"]
            await lead_store.add_event(
                session,
                lead_id=lead.id,
                kind="routed",
                actor=actor,
                at=now,
                from_state=state.value,
                to_state=LeadState.NEW.value,
                reason=route.reason,
                data={"queue": route.queue_id, "rule": route.rule, "score": score.points},
            )
            await self._post_and_offer(session, lead.id, route.queue_id, routing, actor)
            return lead.id, LeadState.OFFERED
        ordering = channel_key(await lead_store.card_channel(session, lead.id) or "none")
        await outbox_store.enqueue(
            session, kind=UPDATE_CARD, ordering_key=ordering, lead_id=lead.id, now=now
        )
        await outbox_store.enqueue(
            session,
            kind=POST_THREAD_NOTE,
            ordering_key=ordering,
            lead_id=lead.id,
            payload={"merge": merge.to_payload()},
            now=now,
        )
        return lead.id, state

    async def claim(self, lead_id: int, rep_id: str) -> ClaimResult:
        """Decide the owner with one conditional update; the card update rides the outbox.

        During the offer's exclusivity window only the offered rep may claim;
        after it (or when nobody was offered) any rep of the queue, or a manager.
        """
        now = self._clock.now()
        async with self._db.transaction() as session:
            lead = await lead_store.get_lead(session, lead_id)
            if lead is None:
                return ClaimResult(won=False, owner_id=None, found=False)
            if LeadState(lead.state) in CLAIMABLE_STATES:
                refusal = await self._claim_refusal(session, lead, rep_id, now)
                if refusal is not None:
                    return ClaimResult(won=False, owner_id=None, refusal=refusal)
            from_state = await lead_store.try_claim(
                session, lead_id=lead_id, rep_id=rep_id, now=now
            )
            if from_state is None:
                return ClaimResult(won=False, owner_id=await lead_store.owner_of(session, lead_id))
            await lead_store.add_event(
                session,
                lead_id=lead_id,
                kind="claimed",
                actor=rep_id,
                at=now,
                from_state=from_state,
                to_state=LeadState.CLAIMED.value,
                data={
                    "seconds_to_claim": (now - lead.captured_at).total_seconds(),
                    "offered_rep": lead.offered_rep_id,
                    "queue": lead.queue_id,
                },
            )
            await self._sla.on_change(session, lead_id, now)
            await self._update_card(session, lead_id, now)
        self._wake_outbox()
        return ClaimResult(won=True, owner_id=rep_id)

    async def _claim_refusal(
        self, session: AsyncSession, lead: Lead, rep_id: str, now: datetime
    ) -> str | None:
        exclusive = lead.exclusive_until
        if exclusive is not None and now < exclusive and lead.offered_rep_id not in (None, rep_id):
            left = format_duration(exclusive - now)
            return (
                f"This lead is offered to {slack_mention(lead.offered_rep_id or '')} for "
                f"{left} more (until {exclusive:%H:%M:%S} UTC); after that anyone in the queue "
                "can claim it."
            )
        if not await self._offers.may_claim(session, lead.queue_id, rep_id):
            return "Only reps of this lead's queue (or a manager) can claim it."
        return None

    async def _update_card(self, session: AsyncSession, lead_id: int, now: datetime) -> None:
        await outbox_store.enqueue(
            session,
            kind=UPDATE_CARD,
            ordering_key=channel_key(await lead_store.card_channel(session, lead_id) or "none"),
            lead_id=lead_id,
            now=now,
        )


def _card_row(channel: str, now: datetime) -> dict[str, Any]:
    """The outbox row posting a lead's card to its queue's channel (without the lead id)."""
    return outbox_store.pending_values(
        kind=POST_CARD, ordering_key=channel_key(channel), now=now, payload={"channel": channel}
    )


def slack_mention(user_id: str) -> str:
    return f"<@{user_id}>"


def _score_note(points: int, now: datetime) -> dict[str, Any]:
    """The points when the lead was last active: what score decay starts from."""
    return {"base": points, "at": now.isoformat()}


def _routing_note(verdict: Assessment, now: datetime) -> dict[str, Any]:
    route = verdict.route
    return {
        "route": {"queue": route.queue_id, "rule": route.rule, "reason": route.reason},
        "score": _score_note(verdict.score.points, now),
    }

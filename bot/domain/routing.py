"""Routing: which queue a scored lead goes to, or nurture, and why. Pure.

Rules are configuration (``bot/config/routing.py``), tried in order; the first
whose tests all hold names the queue, and the default queue catches the rest
(SPEC §5).  A lead below SQL goes to nurture instead, unless the person asked
for a human (SPEC §2).  The ``Route`` carries a short line for the card's
context saying which of these happened.

Attributes a test may name:

- ``country``: the explicit country, else the phone's region (ISO, upper case);
- ``region``: a region named in configuration that lists the country;
- ``score`` (points) and ``grade``; ``source`` (the lead's, else its UTM
  source); ``intake`` (api, widget, import);
- anything else (``industry``, ``company_size``, ...): the answer with that id.

A test on an attribute the lead does not have fails, so a rule that needs it
does not match; ``not_in`` too (an unknown country is not "outside Europe").
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from bot.domain.answers import as_text, same
from bot.domain.scoring import Grade, LeadFacts, Score, lead_source
from bot.domain.script import Condition, Operator

__all__ = [
    "BUILT_IN_ATTRIBUTES",
    "AttributeTest",
    "Route",
    "RouteRule",
    "attribute_value",
    "route_lead",
]

#: Attributes that are not answers; any other name is an answer id.
BUILT_IN_ATTRIBUTES = ("country", "region", "score", "grade", "source", "intake")

_SYMBOLS = {
    Operator.EQUALS: "=",
    Operator.IN: "in",
    Operator.NOT_IN: "not in",
    Operator.LESS_THAN: "<",
    Operator.AT_LEAST: "≥",
}


@dataclass(frozen=True)
class AttributeTest:
    """One test of a routing rule: an attribute compared like a skip condition."""

    attribute: str
    operator: Operator
    values: tuple[str | float, ...]

    def holds(self, facts: LeadFacts, score: Score, regions: Mapping[str, frozenset[str]]) -> bool:
        if self.attribute == "region":
            return self._region_holds(facts, regions)
        value = attribute_value(self.attribute, facts, score)
        if value is None:
            return False
        test = Condition(self.attribute, self.operator, self.values)
        return test.holds({self.attribute: value}) is True

    def _region_holds(self, facts: LeadFacts, regions: Mapping[str, frozenset[str]]) -> bool:
        country = attribute_value("country", facts, None)
        if country is None:
            return False
        # A country may lie in several regions ("emea" and "europe"): any of them counts.
        names = [name for name, countries in regions.items() if country in countries]
        hit = any(same(name, wanted) for name in names for wanted in self.values)
        return not hit if self.operator is Operator.NOT_IN else hit

    def __str__(self) -> str:
        shown = [as_text(v) for v in self.values]
        if self.operator in (Operator.IN, Operator.NOT_IN):
            target = "(" + ", ".join(shown) + ")"
        else:
            target = shown[0]
        return f"{self.attribute} {_SYMBOLS[self.operator]} {target}"


def attribute_value(name: str, facts: LeadFacts, score: Score | None) -> str | float | None:
    """The lead's value for a routing attribute; None when it has none (not ``region``)."""
    if name == "country":
        country = facts.country or facts.phone_region
        return country.strip().upper() if country and country.strip() else None
    if name == "score":
        return None if score is None else score.points
    if name == "grade":
        return None if score is None or score.grade is None else score.grade.value
    if name == "source":
        return lead_source(facts)
    if name == "intake":
        return facts.intake
    return facts.answers.get(name)


@dataclass(frozen=True)
class RouteRule:
    """Send a lead to ``queue_id`` when every test holds (no tests: always)."""

    name: str
    queue_id: str
    conditions: tuple[AttributeTest, ...]

    def matches(
        self, facts: LeadFacts, score: Score, regions: Mapping[str, frozenset[str]]
    ) -> bool:
        return all(test.holds(facts, score, regions) for test in self.conditions)

    def describe(self) -> str:
        tests = ", ".join(str(test) for test in self.conditions) or "every lead"
        return f"rule “{self.name}”: {tests}"


@dataclass(frozen=True)
class Route:
    """Where a lead goes: a queue, or nurture (``queue_id`` None), and a line saying why."""

    queue_id: str | None
    rule: str | None  # the rule that matched; None for the default queue or nurture
    nurture: bool
    reason: str


def route_lead(
    rules: tuple[RouteRule, ...],
    default_queue_id: str,
    regions: Mapping[str, frozenset[str]],
    facts: LeadFacts,
    score: Score,
    sql: int,
) -> Route:
    """Nurture below SQL (unless they asked for a human), else the first matching rule's queue.

    ``sql`` is the threshold, only to say in the reason how far short a lead fell.
    """
    short = None
    if score.grade is not Grade.SQL:
        grade = score.grade.value if score.grade is not None else "no grade"
        short = f"{grade}, {score.points} points < SQL {sql}"
        if not facts.asked_for_human:
            return Route(None, None, nurture=True, reason=f"nurture: {short}")
    rule = next((r for r in rules if r.matches(facts, score, regions)), None)
    if rule is None:
        queue_id, name, reason = default_queue_id, None, "default queue (no rule matched)"
    else:
        queue_id, name, reason = rule.queue_id, rule.name, rule.describe()
    if short is not None:
        reason = f"asked for a human ({short}); {reason}"
    return Route(queue_id, name, nurture=False, reason=reason)

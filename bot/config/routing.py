"""The ``regions:`` and ``routing:`` sections: which queue a sales-ready lead goes to (SPEC §5).

::

    regions:
      emea: [GB, IE, DE, FR]
    routing:
      - name: enterprise
        queue: enterprise
        when:
          - {attribute: company_size, at_least: 500}
          - {attribute: region, in: [emea]}

Rules are tried in order and the first whose tests all hold wins (no
``when``: every lead); the default queue takes the rest.  What each
attribute means is in ``bot/domain/routing.py``; the checks here need the
queues, regions and script, so ``LeadbotConfig`` runs them (``check_routing``).
"""

from __future__ import annotations

from collections.abc import Mapping

import phonenumbers
from pydantic import Field

from bot.config.fields import Slug, _duplicates, _Section
from bot.config.problems import Loc, _show
from bot.config.scoring import answer_problems
from bot.config.script import Comparison, QuestionConfig
from bot.domain.answers import as_text, fold
from bot.domain.routing import BUILT_IN_ATTRIBUTES, AttributeTest, RouteRule
from bot.domain.scoring import INTAKES, Grade
from bot.domain.script import Operator

#: Answers a rule may test even when the script does not ask them (the API may send them).
KNOWN_ANSWERS = ("industry", "company_size")
_SETS = (Operator.EQUALS, Operator.IN, Operator.NOT_IN)


class RouteTestConfig(Comparison):
    """One test of a routing rule: ``{attribute: NAME, <operator>: VALUE}``."""

    attribute: Slug

    def to_test(self) -> AttributeTest:
        values = self.values
        if self.attribute == "country":
            values = tuple(as_text(v).upper() for v in values)
        return AttributeTest(self.attribute, self.operator, values)


class RouteRuleConfig(_Section):
    """Send leads to ``queue`` when every test in ``when`` holds."""

    name: Slug
    queue: Slug
    when: tuple[RouteTestConfig, ...] = Field(default=(), max_length=20)

    def to_rule(self) -> RouteRule:
        return RouteRule(self.name, self.queue, tuple(t.to_test() for t in self.when))


def check_regions(regions: Mapping[str, tuple[str, ...]]) -> list[tuple[Loc, str]]:
    """Each region lists its countries once, and at least one."""
    found: list[tuple[Loc, str]] = []
    for name, countries in regions.items():
        if not countries:
            found.append(((name,), "must list at least one country code"))
        found += [
            ((name, i), f"country {countries[i]!r} is already listed at [{j}]")
            for i, j in _duplicates(countries)
        ]
    return found


def check_routing(
    rules: tuple[RouteRuleConfig, ...],
    queue_ids: tuple[str, ...],
    regions: Mapping[str, tuple[str, ...]],
    questions: tuple[QuestionConfig, ...],
) -> list[tuple[Loc, str]]:
    """Problems across sections: unknown queues, regions, attributes and values."""
    found: list[tuple[Loc, str]] = [
        ((i, "name"), f"rule name {rules[i].name!r} is already used by routing[{j}]")
        for i, j in _duplicates([r.name for r in rules])
    ]
    for i, rule in enumerate(rules):
        if rule.queue not in queue_ids:
            message = f"must be one of the queues defined under 'queues' (got {rule.queue!r})"
            found.append(((i, "queue"), message))
        for k, test in enumerate(rule.when):
            found += _test_problems(test, (i, "when", k), regions, questions)
    return found


def _test_problems(
    test: RouteTestConfig,
    here: Loc,
    regions: Mapping[str, tuple[str, ...]],
    questions: tuple[QuestionConfig, ...],
) -> list[tuple[Loc, str]]:
    name = test.attribute
    if name not in BUILT_IN_ATTRIBUTES:
        if any(q.id == name for q in questions):
            return answer_problems(name, test, questions, here, "attribute")
        if name in KNOWN_ANSWERS:
            return []  # not asked in the chat, but a form or an import may send it
        listed = ", ".join((*BUILT_IN_ATTRIBUTES, *KNOWN_ANSWERS))
        ids = ", ".join(q.id for q in questions if q.field is None)
        message = f"must be one of {listed} or a question id ({ids}) (got {name!r})"
        return [((*here, "attribute"), message)]
    key: Loc = (*here, test.operator.value)
    if name == "score":
        return _numbers(test, key)
    if test.operator not in _SETS:
        return [(key, f"{name!r} is compared with equals, in or not_in, not {test.operator}")]
    allowed: Mapping[str, str]
    if name == "country":
        allowed = {c.casefold(): c for c in phonenumbers.SUPPORTED_REGIONS}
        what = "a two-letter ISO 3166 country code like US or GB"
    elif name == "region":
        allowed = {fold(r): r for r in regions}
        what = "a region defined under 'regions'" + (f" ({', '.join(regions)})" if regions else "")
    elif name == "grade":
        allowed = {fold(g.value): g.value for g in Grade}
        what = "one of IQL, MQL, SQL"
    elif name == "intake":
        allowed = {i: i for i in INTAKES}
        what = "one of " + ", ".join(INTAKES)
    else:  # source: any text
        return []
    many = test.operator is not Operator.EQUALS
    return [
        ((*key, k) if many else key, f"must be {what} (got {_show(value)})")
        for k, value in enumerate(test.values)
        if not isinstance(value, str) or fold(value) not in allowed
    ]


def _numbers(test: RouteTestConfig, key: Loc) -> list[tuple[Loc, str]]:
    many = test.operator in (Operator.IN, Operator.NOT_IN)
    return [
        ((*key, k) if many else key, f"must be a number, as 'score' is points (got {_show(v)})")
        for k, v in enumerate(test.values)
        if isinstance(v, str)
    ]

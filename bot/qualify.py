"""Score a lead and decide where it goes (SPEC §4, §5), from the configuration.

The decisions are pure (`bot/domain/scoring.py`, `bot/domain/routing.py`);
this module only gathers their inputs from what a capture knows and keeps the
configured model, rules and regions together.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import phonenumbers

from bot.config import LeadbotConfig
from bot.domain.contact import is_disposable
from bot.domain.routing import Route, RouteRule, route_lead
from bot.domain.scoring import LeadFacts, Score, ScoringModel, score_lead


def scoring_answers(answers: Mapping[str, Any]) -> dict[str, str | float]:
    """Answers as scoring compares them: numbers as floats, text as text, others as text."""
    out: dict[str, str | float] = {}
    for key, value in answers.items():
        if isinstance(value, bool) or value is None:
            continue
        if isinstance(value, int | float):
            out[str(key)] = float(value)
        elif isinstance(value, str):
            out[str(key)] = value
    return out


def phone_country(e164: str | None) -> str | None:
    if not e164:
        return None
    try:
        return phonenumbers.region_code_for_number(phonenumbers.parse(e164)) or None
    except phonenumbers.NumberParseException:
        return None


def lead_facts(
    *,
    answers: Mapping[str, Any],
    email_normalized: str | None,
    phone_e164: str | None,
    intake: str,
    source: str | None,
    utm: Mapping[str, Any],
    pages: tuple[str, ...] = (),
    visits: int = 1,
    asked_for_human: bool = False,
) -> LeadFacts:
    """What scoring and routing look at, from a lead's stored (or incoming) values."""
    typed = scoring_answers(answers)
    country = typed.get("country")
    return LeadFacts(
        answers=typed,
        has_contact=bool(email_normalized or phone_e164),
        email_domain=email_normalized.rpartition("@")[2] if email_normalized else None,
        email_disposable=bool(email_normalized) and is_disposable(email_normalized or ""),
        intake=intake,
        source=source,
        utm={str(k): str(v) for k, v in utm.items() if v is not None},
        pages=pages,
        visits=visits,
        asked_for_human=asked_for_human,
        phone_region=phone_country(phone_e164),
        country=country.strip().upper() if isinstance(country, str) and country.strip() else None,
    )


@dataclass(frozen=True)
class Assessment:
    score: Score
    route: Route


class Qualifier:
    """The configured scoring model and routing rules, applied to one lead's facts."""

    def __init__(self, config: LeadbotConfig) -> None:
        self.model: ScoringModel = config.scoring_model()
        self._rules: tuple[RouteRule, ...] = config.routing_rules()
        self._regions = config.regions_map()
        self._default_queue = config.default_queue.id

    def assess(self, facts: LeadFacts) -> Assessment:
        score = score_lead(self.model, facts)
        route = route_lead(
            self._rules, self._default_queue, self._regions, facts, score, self.model.sql
        )
        return Assessment(score, route)

    def stored_reasons(self, score: Score) -> list[dict[str, Any]]:
        """The reasons a card shows, as stored on the lead."""
        return [{"points": r.points, "label": r.label} for r in score.top(self.model.top_reasons)]

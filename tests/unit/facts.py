"""``LeadFacts`` for tests: a widget lead with a company email and nothing else, unless told."""

from __future__ import annotations

from typing import Any

from bot.domain.scoring import LeadFacts


def lead_facts(**kw: Any) -> LeadFacts:
    base: dict[str, Any] = {
        "answers": {},
        "has_contact": True,
        "email_domain": "acme.example",
        "email_disposable": False,
        "intake": "widget",
        "source": None,
        "utm": {},
        "pages": (),
    }
    return LeadFacts(**{**base, **kw})

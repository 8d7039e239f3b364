"""Dedup (SPEC §3): deciding what a returning person's new details change. Pure.

"The same person" means the same normalized email or the same E.164 phone
(`bot.domain.contact`). When they come back, their open lead keeps what it
knew: empty contact fields are filled, contact fields already set are kept
(a different value is only reported), and answers are updated, new values
winning and old keys kept.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from bot.domain.contact import Email, Phone

#: Contact fields in the order a note lists them.
CONTACT_FIELDS = ("name", "company", "email", "phone", "source")


@dataclass(frozen=True)
class Contact:
    """Who someone says they are, as given plus normalized (for comparing)."""

    name: str | None = None
    company: str | None = None
    email: Email | None = None
    phone: Phone | None = None
    source: str | None = None

    def given(self, name: str) -> str | None:
        """The value of one of `CONTACT_FIELDS` as the person wrote it."""
        if name == "email":
            return self.email.given if self.email else None
        if name == "phone":
            return self.phone.given if self.phone else None
        value: str | None = getattr(self, name)
        return value

    def same(self, name: str, other: Contact) -> bool:
        """Whether `other` gave the same value for `name` (normalized for email and phone)."""
        if name == "email":
            return (self.email.normalized if self.email else None) == (
                other.email.normalized if other.email else None
            )
        if name == "phone":
            return (self.phone.e164 if self.phone else None) == (
                other.phone.e164 if other.phone else None
            )
        mine, theirs = self.given(name), other.given(name)
        return (mine or "").strip().casefold() == (theirs or "").strip().casefold()


def matched_on(stored: Contact, incoming: Contact) -> tuple[str, ...]:
    """Which contact values make `incoming` the same person as `stored`."""
    matched: list[str] = []
    if stored.email and incoming.email and stored.email.normalized == incoming.email.normalized:
        matched.append("email")
    if stored.phone and incoming.phone and stored.phone.e164 == incoming.phone.e164:
        matched.append("phone")
    return tuple(matched)


@dataclass(frozen=True)
class LeadMerge:
    """What a return changes on the open lead, and how the person was recognized."""

    matched: tuple[str, ...]
    via: str
    #: Contact fields that were empty and are now filled (field → value as given).
    filled: dict[str, str] = field(default_factory=dict)
    #: Contact fields given differently from what is stored; the stored value is kept.
    differing: dict[str, str] = field(default_factory=dict)
    #: Answers that are new or changed (key → new value).
    answers: dict[str, Any] = field(default_factory=dict)

    @property
    def changed(self) -> bool:
        return bool(self.filled or self.answers)

    def summary(self) -> dict[str, Any]:
        """Field names only, never values: safe for events and logs."""
        return {
            "matched": list(self.matched),
            "via": self.via,
            "filled": list(self.filled),
            "differing": list(self.differing),
            "answers": list(self.answers),
        }

    def to_payload(self) -> dict[str, Any]:
        return {
            "matched": list(self.matched),
            "via": self.via,
            "filled": dict(self.filled),
            "differing": dict(self.differing),
            "answers": dict(self.answers),
        }

    @classmethod
    def from_payload(cls, payload: Mapping[str, Any]) -> LeadMerge:
        return cls(
            matched=tuple(str(m) for m in payload.get("matched") or ()),
            via=str(payload.get("via") or ""),
            filled={str(k): str(v) for k, v in (payload.get("filled") or {}).items()},
            differing={str(k): str(v) for k, v in (payload.get("differing") or {}).items()},
            answers=dict(payload.get("answers") or {}),
        )


def plan_merge(
    stored: Contact,
    incoming: Contact,
    stored_answers: Mapping[str, Any],
    new_answers: Mapping[str, Any],
    *,
    via: str,
) -> LeadMerge:
    """What merging `incoming` into the lead that holds `stored` changes."""
    filled: dict[str, str] = {}
    differing: dict[str, str] = {}
    for name in CONTACT_FIELDS:
        value = incoming.given(name)
        if not value:
            continue
        if not stored.given(name):
            filled[name] = value
        elif name != "source" and not stored.same(name, incoming):
            # The source is where this visit came from, not who the person is.
            differing[name] = value
    answers = {
        key: value
        for key, value in new_answers.items()
        if key not in stored_answers or stored_answers[key] != value
    }
    return LeadMerge(
        matched=matched_on(stored, incoming),
        via=via,
        filled=filled,
        differing=differing,
        answers=answers,
    )

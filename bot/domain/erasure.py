"""Erasure (`/leads forget`): who the person is, and what of their rows survives. Pure.

A person is named by an email or a phone number, normalized as capture does
(`bot.domain.contact`). Their contact fields and conversation text are removed
outright; what stays (event rows, outbox and timer payloads, attribution) is
kept for the counts, with every string that mentions the person replaced by
`ERASED` and free-text fields (a lost reason, a reminder's note, a returning
person's given values) replaced whole, since nobody can tell what a rep wrote.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

import phonenumbers

from bot.domain.contact import ContactError, Email, Phone, parse_email, parse_phone

#: What replaces erased text wherever a row must keep a value.
ERASED = "(erased)"

#: Characters a phone number may be written with (spaces too: `+44 20 7946 0958`).
_PHONE_CHARS = re.compile(r"\+?[0-9 ().\-/]+")
#: Slack's link form, in case a client formatted the argument: `<mailto:a@b.c|a@b.c>`.
_SLACK_LINK = re.compile(r"^<(?:mailto:|tel:)?([^|>]*)(?:\|[^>]*)?>$")
#: Shorter names or companies would match far too much of unrelated text.
MIN_TEXT_NEEDLE = 4
#: A phone's national number must be at least this long to be looked for in free text.
MIN_PHONE_DIGITS = 6

#: Attribution kept on an erased lead: campaign-level, says nothing about the person.
KEPT_UTM = frozenset({"source", "medium", "campaign", "utm_source", "utm_medium", "utm_campaign"})
#: Keys of a touch (where a visit came from) kept; `page` and `referrer` are dropped.
KEPT_TOUCH = frozenset({"at", "intake", "source"})
#: Top-level keys of event data and outbox/timer payloads that hold free text.
FREE_TEXT_KEYS = frozenset({"reason", "note", "details"})
#: Events whose `reason` column is a rep's free text rather than a system reason.
FREE_TEXT_EVENT_KINDS = frozenset({"lost", "nurture"})
#: Parts of a returning person's merge (outbox `post_thread_note`) that hold given values.
MERGE_VALUE_KEYS = ("filled", "differing", "answers")


def person_key(text: str, phone_region: str) -> Email | Phone:
    """The email or phone a manager typed, normalized; ContactError says why not."""
    text = " ".join(text.split())
    link = _SLACK_LINK.fullmatch(text)
    if link:
        text = link.group(1).strip()
    if not text:
        raise ContactError("not an email address or phone number")
    if " " in text and not _PHONE_CHARS.fullmatch(text):
        raise ContactError("more than one word: give one email address or phone number")
    if "@" in text:
        return parse_email(text)
    if _PHONE_CHARS.fullmatch(text):
        return parse_phone(text, phone_region)
    raise ContactError("not an email address or phone number")


def national_digits(e164: str) -> str | None:
    """The national significant number of an E.164 phone (what any spelling contains)."""
    try:
        number = phonenumbers.parse(e164, None)
    except phonenumbers.NumberParseException:
        return None
    digits = phonenumbers.national_significant_number(number)
    return digits if len(digits) >= MIN_PHONE_DIGITS else None


@dataclass(frozen=True)
class Needles:
    """What of a person to look for in text that stays: lowercased strings, phone digits."""

    texts: tuple[str, ...] = ()
    digits: tuple[str, ...] = ()

    @classmethod
    def of(
        cls,
        *,
        emails: Iterable[str | None] = (),
        phones: Iterable[str | None] = (),
        texts: Iterable[str | None] = (),
    ) -> Needles:
        """`emails` and `phones` (E.164 or as given) are looked for however short;
        `texts` (names, companies) only from `MIN_TEXT_NEEDLE` characters."""
        found: set[str] = set()
        digits: set[str] = set()
        for email in emails:
            if email and email.strip():
                found.add(email.strip().lower())
        for phone in phones:
            if not phone or not phone.strip():
                continue
            found.add(phone.strip().lower())
            national = national_digits(phone.strip()) if phone.strip().startswith("+") else None
            plain = re.sub(r"\D", "", phone)
            if national:
                digits.add(national)
            elif len(plain) >= MIN_PHONE_DIGITS:
                digits.add(plain.lstrip("0") or plain)
        for text in texts:
            if text and len(text.strip()) >= MIN_TEXT_NEEDLE:
                found.add(text.strip().lower())
        return cls(tuple(sorted(found)), tuple(sorted(digits)))

    def __bool__(self) -> bool:
        return bool(self.texts or self.digits)

    def found_in(self, text: str) -> bool:
        """Whether `text` mentions the person (any case; a phone in any spelling)."""
        lowered = text.lower()
        if any(needle in lowered for needle in self.texts):
            return True
        if self.digits:
            plain = re.sub(r"\D", "", text)
            return any(d in plain for d in self.digits)
        return False


def scrub(value: Any, needles: Needles) -> Any:
    """`value` (JSON-like) with every string that mentions the person replaced by `ERASED`."""
    if isinstance(value, str):
        return ERASED if needles.found_in(value) else value
    if isinstance(value, Mapping):
        return {key: scrub(item, needles) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return [scrub(item, needles) for item in value]
    return value


def scrub_text(value: str | None, needles: Needles) -> str | None:
    """A text column: `ERASED` when it mentions the person, else unchanged."""
    return ERASED if value and needles.found_in(value) else value


def erased_free_text(value: str | None) -> str | None:
    """Free text nobody can vet: `ERASED` if there was any."""
    return ERASED if value else value


def _free_text_keys(data: Mapping[str, Any]) -> dict[str, Any]:
    return {
        key: ERASED if key in FREE_TEXT_KEYS and isinstance(item, str) and item else item
        for key, item in data.items()
    }


def scrub_event(
    kind: str, reason: str | None, data: Mapping[str, Any] | None, needles: Needles
) -> tuple[str | None, dict[str, Any]]:
    """An event's `reason` and `data` with the person taken out; kind, states, actor and
    time are not touched (reports count them)."""
    if kind in FREE_TEXT_EVENT_KINDS:
        reason = erased_free_text(reason)
    return scrub_text(reason, needles), scrub(_free_text_keys(data or {}), needles)


def scrub_payload(payload: Mapping[str, Any] | None, needles: Needles) -> dict[str, Any]:
    """An outbox row's or timer's payload with the person taken out."""
    out = _free_text_keys(payload or {})
    merge = out.get("merge")
    if isinstance(merge, Mapping):
        out["merge"] = {
            key: (
                {name: ERASED for name in item}
                if key in MERGE_VALUE_KEYS and isinstance(item, Mapping)
                else item
            )
            for key, item in merge.items()
        }
    return dict(scrub(out, needles))


def erased_utm(utm: Mapping[str, Any] | None, needles: Needles) -> dict[str, Any]:
    """Campaign-level UTM parameters only, and none that mention the person."""
    return dict(scrub({k: v for k, v in (utm or {}).items() if k in KEPT_UTM}, needles))


def erased_touch(touch: Mapping[str, Any] | None, needles: Needles) -> dict[str, Any]:
    """A touch without its page and referrer (URLs can carry anything, e.g. `?email=`)."""
    if not touch:
        return {}
    kept: dict[str, Any] = {k: v for k, v in touch.items() if k in KEPT_TOUCH}
    if "utm" in touch:
        kept["utm"] = erased_utm(touch.get("utm"), needles)
    return dict(scrub(kept, needles))


def erased_script_state(state: Mapping[str, Any] | None, needles: Needles) -> dict[str, Any]:
    """A conversation's script state without the answers and raw texts it holds.

    The engine's shape is kept (a state with no answers is still a valid state), so a
    resumed conversation reads it like any other."""
    out = dict(state or {})
    engine = out.get("engine")
    if isinstance(engine, Mapping):
        out["engine"] = {**engine, "answers": {}, "given": {}}
    return dict(scrub(out, needles))

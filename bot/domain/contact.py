"""Contact hygiene: email syntax and normal form, phone numbers in E.164. Pure.

Same normalized email or same E.164 phone means the same person (SPEC §3), so
these functions are the single definition of "the same".
"""

from __future__ import annotations

import contextlib
import functools
from dataclasses import dataclass

import phonenumbers
from disposable_email_domains import blocklist
from email_validator import EmailNotValidError, validate_email


class ContactError(ValueError):
    """A contact value that cannot be used; the message is safe to show the person."""


@dataclass(frozen=True)
class Email:
    given: str
    normalized: str


@dataclass(frozen=True)
class Phone:
    given: str
    e164: str


#: Parses are pure and cost tens of microseconds each; a finished conversation's contact
#: is parsed when answered and again when captured, so the recent ones are kept.
_RECENT = 4096


@functools.lru_cache(maxsize=_RECENT)
def parse_email(raw: str) -> Email:
    given = raw.strip()
    try:
        result = validate_email(given, check_deliverability=False)
    except EmailNotValidError as exc:
        raise ContactError(f"not a valid email address: {exc}") from None
    # Local parts are case-sensitive by the RFC but not by any real mailbox provider.
    return Email(given=given, normalized=result.normalized.lower())


def is_disposable(email: str) -> bool:
    """Whether an address is at a throwaway-mailbox domain (or a subdomain of one).

    The list is the maintained ``disposable-email-domains`` package; upgrade it
    to pick up new domains.  ``email`` should already have passed ``parse_email``.
    """
    domain = email.rpartition("@")[2].strip().rstrip(".").lower()
    with contextlib.suppress(UnicodeError):  # the list holds ASCII (punycode) names
        domain = domain.encode("idna").decode("ascii")
    labels = domain.split(".")
    return any(".".join(labels[i:]) in blocklist for i in range(len(labels) - 1))


@functools.lru_cache(maxsize=_RECENT)
def parse_phone(raw: str, default_region: str) -> Phone:
    given = raw.strip()
    try:
        number = phonenumbers.parse(given, default_region)
    except phonenumbers.NumberParseException:
        raise ContactError("not a phone number") from None
    if not phonenumbers.is_possible_number(number) or not phonenumbers.is_valid_number(number):
        raise ContactError(
            "not a valid phone number (include the country code, e.g. +44 20 7946 0958)"
        )
    return Phone(
        given=given, e164=phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)
    )

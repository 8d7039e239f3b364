"""`trigger_id` bookkeeping: Slack's triggers live 3 seconds and work once (contract §2, check 8).

Issuing (clicks, commands, view submissions) and redeeming (`views.open`,
`views.push`) happen in different modules; this one object keeps the rules
in one place. The clock is injected so tests step time instead of sleeping.
"""

from __future__ import annotations

import secrets
from collections.abc import Callable
from dataclasses import dataclass

TRIGGER_LIFETIME = 3.0


class TriggerError(Exception):
    """A trigger Slack would refuse; `code` is the Web API error."""

    def __init__(self, code: str) -> None:
        super().__init__(code)
        self.code = code


@dataclass
class _Issued:
    user_id: str
    at: float
    used: bool = False


class Triggers:
    """Every trigger handed out, who it belongs to, when, and whether it was used."""

    def __init__(self, clock: Callable[[], float], lifetime: float = TRIGGER_LIFETIME) -> None:
        self._clock = clock
        self.lifetime = lifetime
        self._issued: dict[str, _Issued] = {}
        self._seq = 0

    def issue(self, user_id: str) -> str:
        """A new trigger for an interaction by `user_id` (shaped like Slack's `1234.5678.hex`)."""
        self._seq += 1
        now = self._clock()
        trigger = f"{self._seq}.{int(now * 1000)}.{secrets.token_hex(16)}"
        self._issued[trigger] = _Issued(user_id, now)
        return trigger

    def check(self, trigger_id: str | None) -> str:
        """The user a usable trigger belongs to; raises `TriggerError` otherwise."""
        issued = self._issued.get(trigger_id or "")
        if issued is None:
            raise TriggerError("invalid_trigger_id")
        if issued.used:
            raise TriggerError("exchanged_trigger_id")
        if self._clock() - issued.at > self.lifetime:
            raise TriggerError("expired_trigger_id")
        return issued.user_id

    def redeem(self, trigger_id: str | None) -> str:
        """`check`, then mark the trigger used so a second exchange fails."""
        user_id = self.check(trigger_id)
        self._issued[trigger_id or ""].used = True
        return user_id

    def __contains__(self, trigger_id: object) -> bool:
        return trigger_id in self._issued

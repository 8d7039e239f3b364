"""Injected failures: outages, throttling and slow answers on demand.

A status fault answers before any work is done (the request never happened);
a delay fault holds the answer after the work (the message exists but the
client never learnt its ts), which is how a crash mid-request looks.
"""

from __future__ import annotations

from dataclasses import dataclass

ANY_METHOD = "*"

OUTAGE_HTML = (
    "<!DOCTYPE html><html><head><title>{status} {reason}</title></head>"
    "<body><h1>{status} {reason}</h1><p>Slack is having trouble. Please try again.</p>"
    "</body></html>"
)


@dataclass
class Fault:
    """One switch; `times=None` means until cleared."""

    method: str
    status: int | None = None
    delay: float | None = None
    times: int | None = None

    def to_json(self) -> dict[str, object]:
        return {
            "method": self.method,
            "status": self.status,
            "delay": self.delay,
            "times": self.times,
        }


class FaultSwitch:
    """The faults currently armed; a method's own fault wins over `"*"`."""

    def __init__(self) -> None:
        self._faults: list[Fault] = []

    def set(
        self,
        method: str,
        *,
        status: int | None = None,
        delay: float | None = None,
        times: int | None = None,
    ) -> None:
        """Arm a fault, replacing any earlier one of the same kind for `method`."""
        if (status is None) == (delay is None):
            raise ValueError("give exactly one of status= or delay=")
        if status is not None and status not in (429, 500, 502, 503, 504):
            raise ValueError(f"unsupported fault status {status}")
        if times is not None and times < 1:
            raise ValueError("times must be at least 1")
        kind_is_status = status is not None
        self._faults = [
            f
            for f in self._faults
            if not (f.method == method and (f.status is not None) == kind_is_status)
        ]
        self._faults.append(Fault(method, status, delay, times))

    def clear(self) -> None:
        self._faults.clear()

    def take_status(self, method: str) -> int | None:
        """The status to fail `method` with now, consuming one use."""
        fault = self._find(method, status=True)
        return fault.status if fault else None

    def take_delay(self, method: str) -> float:
        """Seconds to hold `method`'s answer, consuming one use."""
        fault = self._find(method, status=False)
        return (fault.delay or 0.0) if fault else 0.0

    def active(self) -> list[Fault]:
        return list(self._faults)

    def _find(self, method: str, *, status: bool) -> Fault | None:
        candidates = [f for f in self._faults if (f.status is not None) == status]
        fault = next((f for f in candidates if f.method == method), None)
        if fault is None:
            fault = next((f for f in candidates if f.method == ANY_METHOD), None)
        if fault is None:
            return None
        if fault.times is not None:
            fault.times -= 1
            if fault.times == 0:
                self._faults.remove(fault)
        return fault

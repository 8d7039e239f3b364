"""The call log, and waiting on it without sleeping.

The bot answers Slack first and works afterwards, so tests wait for the
effect (a recorded call) rather than assume it already happened.
"""

from __future__ import annotations

import asyncio
from collections import Counter
from collections.abc import Callable
from typing import Any

from sandbox.models import RecordedCall

Predicate = Callable[[RecordedCall], bool]


class CallLog:
    """Every answered request, in order, plus a condition to wait on."""

    def __init__(self, clock: Callable[[], float]) -> None:
        self.calls: list[RecordedCall] = []
        self._clock = clock
        self._changed: asyncio.Condition | None = None
        self._loop: asyncio.AbstractEventLoop | None = None

    def _condition(self) -> asyncio.Condition:
        """The condition for the running loop (a sandbox may outlive one test's loop)."""
        loop = asyncio.get_running_loop()
        if self._changed is None or self._loop is not loop:
            self._changed, self._loop = asyncio.Condition(), loop
        return self._changed

    async def record(
        self,
        method: str,
        args: dict[str, Any],
        status: int,
        response: dict[str, Any],
        headers: dict[str, str] | None = None,
        connection: str | None = None,
    ) -> RecordedCall:
        retry_after = next(
            (v for k, v in (headers or {}).items() if k.lower() == "retry-after"), None
        )
        call = RecordedCall(
            method=method,
            args=args,
            status=status,
            response=response,
            at=self._clock(),
            headers={} if retry_after is None else {"Retry-After": retry_after},
            connection=connection,
        )
        changed = self._condition()
        async with changed:
            self.calls.append(call)
            changed.notify_all()
        return call

    def matching(self, method: str, predicate: Predicate | None = None) -> list[RecordedCall]:
        """Successful calls of `method` that satisfy `predicate`."""
        return [
            c
            for c in self.calls
            if c.method == method and c.ok and (predicate is None or predicate(c))
        ]

    async def wait_for(
        self,
        method: str,
        predicate: Predicate | None = None,
        count: int = 1,
        timeout: float = 5.0,  # noqa: ASYNC109 - the documented API
    ) -> list[RecordedCall]:
        """Wait until `count` successful calls of `method` match; TimeoutError otherwise."""
        changed = self._condition()
        try:
            async with asyncio.timeout(timeout):
                async with changed:
                    await changed.wait_for(lambda: len(self.matching(method, predicate)) >= count)
        except TimeoutError:
            raise TimeoutError(self._describe_miss(method, predicate, count, timeout)) from None
        return self.matching(method, predicate)

    def _describe_miss(
        self, method: str, predicate: Predicate | None, count: int, timeout: float
    ) -> str:
        same = [c for c in self.calls if c.method == method]
        matched = len(self.matching(method, predicate))
        lines = [
            f"waited {timeout}s for {count} ok call(s) of {method}"
            f"{' matching the predicate' if predicate else ''}; {matched} matched."
        ]
        for call in same[-10:]:
            outcome = "ok" if call.ok else f"{call.status} {call.response.get('error')}"
            lines.append(f"  {method} [{outcome}] args={_short(call.args)}")
        others = Counter(c.method for c in self.calls if c.method != method)
        if others:
            lines.append("  other calls: " + ", ".join(f"{m}×{n}" for m, n in others.items()))
        if not self.calls:
            lines.append("  no calls were recorded at all")
        return "\n".join(lines)


def _short(args: dict[str, Any], limit: int = 300) -> str:
    text = repr(args)
    return text if len(text) <= limit else text[:limit] + "…"

"""Sending signed requests to the bot over real HTTP, as Slack does.

The signature covers the exact bytes sent: `v0=hex(hmac_sha256(secret,
"v0:{ts}:{body}"))`. Nothing is re-serialised after signing.
"""

from __future__ import annotations

import hashlib
import hmac
import time
from collections.abc import Callable, Mapping

import aiohttp

from sandbox.models import InboundResult

FORM = "application/x-www-form-urlencoded"
JSON = "application/json"


def sign(body: bytes, timestamp: int, secret: str) -> dict[str, str]:
    """Slack's request-signing headers for `body` at `timestamp`."""
    base = b"v0:" + str(timestamp).encode() + b":" + body
    digest = hmac.new(secret.encode(), base, hashlib.sha256).hexdigest()
    return {"X-Slack-Request-Timestamp": str(timestamp), "X-Slack-Signature": f"v0={digest}"}


class InboundSender:
    """One client session for everything the sandbox sends to the bot."""

    def __init__(
        self, signing_secret: str, wall_clock: Callable[[], float], timeout: float = 10.0
    ) -> None:
        self.signing_secret = signing_secret
        self._wall_clock = wall_clock
        self._timeout = timeout
        self._session: aiohttp.ClientSession | None = None

    def sign(
        self, body: bytes, timestamp: int | None = None, secret: str | None = None
    ) -> dict[str, str]:
        ts = int(self._wall_clock()) if timestamp is None else timestamp
        return sign(body, ts, self.signing_secret if secret is None else secret)

    async def post(
        self,
        url: str,
        body: bytes,
        content_type: str,
        headers: Mapping[str, str] | None = None,
        *,
        signed: bool = True,
    ) -> InboundResult:
        """POST `body` to the bot; `headers` override the computed ones (for tampering)."""
        all_headers = {"Content-Type": content_type, "User-Agent": "Slackbot 1.0 (+sandbox)"}
        if signed:
            all_headers.update(self.sign(body))
        all_headers.update(headers or {})
        session = self._ensure_session()
        started = time.monotonic()
        async with session.post(url, data=body, headers=all_headers) as response:
            text = await response.text()
            return InboundResult(
                status=response.status,
                body=text,
                headers=dict(response.headers),
                elapsed=time.monotonic() - started,
            )

    async def close(self) -> None:
        if self._session is not None:
            await self._session.close()
            self._session = None

    def _ensure_session(self) -> aiohttp.ClientSession:
        if self._session is None or self._session.closed:
            self._session = aiohttp.ClientSession(
                timeout=aiohttp.ClientTimeout(total=self._timeout)
            )
        return self._session

"""Sending signed requests to the bot over real HTTP, as Slack does.

The signature covers the exact bytes sent: `v0=hex(hmac_sha256(secret,
"v0:{ts}:{body}"))`. Nothing is re-serialised after signing.

Slack waits `ack_timeout` (3 s) for an answer and then abandons the request;
the result says so instead of raising, because for Slack that is an outcome,
not a crash.
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
        self, signing_secret: str, wall_clock: Callable[[], float], ack_timeout: float = 3.0
    ) -> None:
        self.signing_secret = signing_secret
        self._wall_clock = wall_clock
        self.ack_timeout = ack_timeout
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
        record_errors: bool = False,
    ) -> InboundResult:
        """POST `body` to the bot; `headers` override the computed ones (for tampering).

        Signed at send time, so a retry of the same body carries a fresh
        timestamp. A connection failure raises `aiohttp.ClientError`, or with
        `record_errors` comes back as a result with `error` set (Slack's
        automatic deliveries have no caller to raise to).
        """
        all_headers = {"Content-Type": content_type, "User-Agent": "Slackbot 1.0 (+sandbox)"}
        if signed:
            all_headers.update(self.sign(body))
        all_headers.update(headers or {})
        session = self._ensure_session()
        started = time.monotonic()
        try:
            async with session.post(
                url,
                data=body,
                headers=all_headers,
                timeout=aiohttp.ClientTimeout(total=self.ack_timeout),
            ) as response:
                text = await response.text()
                return InboundResult(
                    status=response.status,
                    body=text,
                    headers=dict(response.headers),
                    elapsed=time.monotonic() - started,
                )
        except TimeoutError:
            # Checked before ClientError: aiohttp's timeout errors are both.
            return InboundResult(0, "", {}, time.monotonic() - started, timed_out=True)
        except aiohttp.ClientError as exc:
            if not record_errors:
                raise
            return InboundResult(0, "", {}, time.monotonic() - started, error=repr(exc))

    async def close(self) -> None:
        if self._session is not None:
            await self._session.close()
            self._session = None

    def _ensure_session(self) -> aiohttp.ClientSession:
        if self._session is None or self._session.closed:
            self._session = aiohttp.ClientSession()
        return self._session

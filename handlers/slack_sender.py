"""The outbox's `MessageSender` over slack_sdk, and the Web API client the bot uses.

Retry policy: the client itself retries only what cannot have taken effect
(connection refused, 429, 503/500 answers); anything ambiguous surfaces to the
outbox, which backs off and, for cards, looks for the message by metadata
before posting again.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import datetime
from typing import Any

import aiohttp
from slack_sdk.errors import SlackApiError
from slack_sdk.http_retry.builtin_async_handlers import (
    AsyncConnectionErrorRetryHandler,
    AsyncRateLimitErrorRetryHandler,
    AsyncServerErrorRetryHandler,
)
from slack_sdk.web.async_client import AsyncWebClient

from bot.outbox import PermanentSlackError, RenderedMessage, TransientSlackError

#: Slack error codes that retrying will not fix; everything else is retried with backoff.
PERMANENT_ERRORS = frozenset(
    {
        "channel_not_found",
        "not_in_channel",
        "is_archived",
        "invalid_blocks",
        "invalid_blocks_format",
        "msg_too_long",
        "msg_blocks_too_long",
        "no_text",
        "message_not_found",
        "cant_update_message",
        "too_many_attachments",
        "invalid_arguments",
    }
)


def build_web_client(token: str, api_url: str, *, timeout: int = 10) -> AsyncWebClient:
    base_url = api_url if api_url.endswith("/") else api_url + "/"
    return AsyncWebClient(
        token=token,
        base_url=base_url,
        timeout=timeout,
        retry_handlers=[
            AsyncConnectionErrorRetryHandler(
                max_retry_count=2, error_types=[aiohttp.ClientConnectorError]
            ),
            AsyncRateLimitErrorRetryHandler(max_retry_count=2),
            AsyncServerErrorRetryHandler(max_retry_count=2),
        ],
    )


@asynccontextmanager
async def kept_alive(client: AsyncWebClient) -> AsyncIterator[None]:
    """The client's calls share one aiohttp session while this runs: a pool of kept-alive
    connections. Without one, slack_sdk opens a session, a connection (and, to Slack, a TLS
    handshake) per call and closes it after."""
    session = aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=client.timeout))
    client.session = session
    try:
        yield
    finally:
        client.session = None
        await session.close()


def _classify(exc: Exception) -> Exception:
    if isinstance(exc, SlackApiError):
        response = exc.response
        code = str(response.get("error", "")) if isinstance(response.data, dict) else ""
        if response.status_code == 429:
            retry_after = response.headers.get("Retry-After") or response.headers.get("retry-after")
            try:
                seconds = float(retry_after) if retry_after is not None else None
            except ValueError:
                seconds = None
            return TransientSlackError("ratelimited", retry_after=seconds)
        if code in PERMANENT_ERRORS:
            return PermanentSlackError(code)
        return TransientSlackError(code or f"HTTP {response.status_code}")
    if isinstance(exc, aiohttp.ClientError | asyncio.TimeoutError):
        return TransientSlackError(f"{type(exc).__name__}: {exc}")
    return exc


class SlackWebSender:
    """The outbox's Slack calls, on the app's client (its connections kept alive by
    `kept_alive` while the app runs)."""

    def __init__(self, client: AsyncWebClient) -> None:
        self._client = client

    async def post_message(
        self, channel: str, message: RenderedMessage, metadata: dict[str, Any] | None
    ) -> str:
        try:
            response = await self._client.chat_postMessage(
                channel=channel,
                text=message.text,
                blocks=message.blocks,
                metadata=metadata,
                unfurl_links=False,
                unfurl_media=False,
            )
        except Exception as exc:
            raise _classify(exc) from exc
        return str(response["ts"])

    async def post_thread_message(
        self, channel: str, thread_ts: str, message: RenderedMessage
    ) -> str:
        try:
            response = await self._client.chat_postMessage(
                channel=channel,
                thread_ts=thread_ts,
                text=message.text,
                blocks=message.blocks,
                unfurl_links=False,
                unfurl_media=False,
            )
        except Exception as exc:
            raise _classify(exc) from exc
        return str(response["ts"])

    async def add_reaction(self, channel: str, ts: str, name: str) -> None:
        """React to a message; a reaction already there (an earlier attempt) is success."""
        try:
            await self._client.reactions_add(channel=channel, timestamp=ts, name=name)
        except SlackApiError as exc:
            if exc.response.get("error") != "already_reacted":
                raise _classify(exc) from exc
        except Exception as exc:
            raise _classify(exc) from exc

    async def open_dm(self, user_id: str) -> str:
        """The D… id of the app's DM with a user (chat.update needs it, not the user id)."""
        try:
            opened = await self._client.conversations_open(users=user_id)
        except Exception as exc:
            raise _classify(exc) from exc
        return str(opened["channel"]["id"])

    async def update_message(
        self, channel: str, ts: str, message: RenderedMessage, metadata: dict[str, Any] | None
    ) -> None:
        try:
            await self._client.chat_update(
                channel=channel, ts=ts, text=message.text, blocks=message.blocks, metadata=metadata
            )
        except Exception as exc:
            raise _classify(exc) from exc

    async def find_message_by_metadata(
        self, channel: str, event_type: str, key: str, value: str, oldest: datetime
    ) -> str | None:
        cursor: str | None = None
        try:
            while True:
                response = await self._client.conversations_history(
                    channel=channel,
                    oldest=f"{oldest.timestamp():.6f}",
                    include_all_metadata=True,
                    limit=200,
                    cursor=cursor,
                )
                for msg in response.get("messages") or []:
                    meta = msg.get("metadata") or {}
                    payload = meta.get("event_payload") or {}
                    if meta.get("event_type") == event_type and str(payload.get(key)) == value:
                        return str(msg["ts"])
                cursor = (response.get("response_metadata") or {}).get("next_cursor") or None
                if not cursor:
                    return None
        except Exception as exc:
            raise _classify(exc) from exc

"""Events API listeners. Every subscribed event has one, so none is answered 404
(which Slack would count as a failure and retry)."""

from __future__ import annotations

from typing import Any, Protocol

from slack_bolt.async_app import AsyncApp
from slack_sdk.web.async_client import AsyncWebClient

MENTION_REPLY = (
    "Hi! I post new leads here for you to claim. Type `/leads help` to see what I can do."
)


class ThreadReply(Protocol):
    async def __call__(
        self, *, channel: str, thread_ts: str, ts: str, user: str, text: str
    ) -> object: ...


def human_thread_reply(event: dict[str, Any]) -> dict[str, str] | None:
    """The fields of a person's reply in a thread, or None for anything else.

    Contract: `thread_ts` present and not the message's own `ts` (a reply, not
    a thread root), no `bot_id` (not a bot, including us), no `subtype` (not an
    edit, deletion, join or file share).
    """
    thread_ts, ts = event.get("thread_ts"), event.get("ts")
    if not thread_ts or thread_ts == ts or event.get("bot_id") or event.get("subtype"):
        return None
    channel, user, text = event.get("channel"), event.get("user"), event.get("text")
    if not (channel and user and ts and isinstance(text, str)):
        return None
    return {
        "channel": str(channel),
        "thread_ts": str(thread_ts),
        "ts": str(ts),
        "user": str(user),
        "text": text,
    }


def register(app: AsyncApp, relay_thread_reply: ThreadReply) -> None:
    async def on_message(event: dict[str, Any]) -> None:
        """A reply in a lead's thread may be for the visitor (the use case decides)."""
        reply = human_thread_reply(event)
        if reply is not None:
            await relay_thread_reply(**reply)

    async def on_app_mention(event: dict[str, Any], client: AsyncWebClient) -> None:
        """Someone @-mentioned the bot: point them at the commands, in the same thread."""
        await client.chat_postMessage(
            channel=str(event["channel"]),
            thread_ts=str(event.get("thread_ts") or event["ts"]),
            text=MENTION_REPLY,
        )

    app.event("message")(on_message)
    app.event("app_mention")(on_app_mention)

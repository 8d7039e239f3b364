"""Events API listeners. Every subscribed event has one, so none is answered 404
(which Slack would count as a failure and retry)."""

from __future__ import annotations

from typing import Any

from slack_bolt.async_app import AsyncApp
from slack_sdk.web.async_client import AsyncWebClient

MENTION_REPLY = (
    "Hi! I post new leads here for you to claim. Type `/leads help` to see what I can do."
)


def register(app: AsyncApp) -> None:
    async def on_message() -> None:
        # Thread relay arrives with the conversational capture work; until then, ack only.
        return None

    async def on_app_mention(event: dict[str, Any], client: AsyncWebClient) -> None:
        """Someone @-mentioned the bot: point them at the commands, in the same thread."""
        await client.chat_postMessage(
            channel=str(event["channel"]),
            thread_ts=str(event.get("thread_ts") or event["ts"]),
            text=MENTION_REPLY,
        )

    app.event("message")(on_message)
    app.event("app_mention")(on_app_mention)

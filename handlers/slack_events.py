"""Events API listeners. Messages are acknowledged so Slack does not retry them."""

from __future__ import annotations

from slack_bolt.async_app import AsyncApp


def register(app: AsyncApp) -> None:
    async def on_message() -> None:
        # Thread relay arrives with the conversational capture work; until then, ack only.
        return None

    app.event("message")(on_message)

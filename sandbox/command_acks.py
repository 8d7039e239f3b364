"""What Slack shows after an app answers a slash command (contract §2, "Ack options").

The HTTP answer to a command is itself a message: an empty 200 shows nothing,
text is shown to the invoker only, and a JSON body may ask for `in_channel`.
A late or failed answer becomes a notice from Slackbot, as in Slack's client.
"""

from __future__ import annotations

import json

from sandbox.api_common import ApiContext, ApiError, Args
from sandbox.models import Channel, InboundResult, User


class CommandAcks:
    def __init__(self, ctx: ApiContext) -> None:
        self.ctx = ctx

    def apply(self, channel: Channel, user: User, command: str, result: InboundResult) -> str:
        """Show the invoker what Slack would; returns what happened, for tests and the page."""
        ws = self.ctx.workspace
        failure = _failure(result)
        if failure is not None:
            ws.notify(channel.id, user.id, f'`{command}` failed with the error "{failure}"')
            return failure
        if not result.body.strip():
            return "silent"
        try:
            args = _ack_args(result)
            content = self.ctx.content(args)
        except ApiError as err:
            ws.notify(channel.id, user.id, f'`{command}` failed with the error "{err.code}"')
            return err.code
        if args.string("response_type") == "in_channel":
            self.ctx.post_as_bot(channel, content)
            return "in_channel"
        ws.post_ephemeral(channel.id, user.id, content.text, content.blocks)
        return "ephemeral"


def _failure(result: InboundResult) -> str | None:
    """Slack's error for an answer it could not use (the wording of the second is unverified)."""
    if result.timed_out:
        return "operation_timeout"
    if result.error is not None or not 200 <= result.status < 300:
        return "dispatch_failed"
    return None


def _ack_args(result: InboundResult) -> Args:
    """A JSON ack carries message fields; any other body is the message text."""
    content_type = next(
        (v for k, v in result.headers.items() if k.lower() == "content-type"), "text/plain"
    )
    if not content_type.startswith("application/json"):
        return Args({"text": result.body})
    try:
        body = json.loads(result.body)
    except ValueError:
        raise ApiError("invalid_payload") from None
    if not isinstance(body, dict):
        raise ApiError("invalid_payload")
    return Args(body)

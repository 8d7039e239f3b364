"""Files for a person's DM (an export's CSV, a report's chart), through Slack's upload flow.

`files_upload_v2` is slack_sdk's three steps: `files.getUploadURLExternal`,
a POST of the bytes to the URL it returns, then `files.completeUploadExternal`
sharing the file into the DM that `conversations.open` gives. Whatever goes
wrong on the way (an error code, a refused upload step, Slack out of reach)
becomes one `SlackUploadError`, whose `reason` a command can show as it is.
"""

from __future__ import annotations

import re

import aiohttp
from slack_sdk.errors import SlackApiError, SlackRequestError
from slack_sdk.web.async_client import AsyncWebClient

_STATUS = re.compile(r"status: ([0-9]{3})")


class SlackUploadError(RuntimeError):
    """The file did not reach the person; `reason` is short (a Slack error code, usually)."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


def _reason(exc: Exception) -> str:
    if isinstance(exc, SlackApiError):
        data = exc.response.data
        code = data.get("error") if isinstance(data, dict) else None
        return str(code or f"HTTP {exc.response.status_code}")
    if isinstance(exc, SlackRequestError):
        # slack_sdk's message for a refused upload step quotes the whole answer.
        status = _STATUS.search(str(exc))
        return f"upload refused (HTTP {status.group(1)})" if status else str(exc)[:200]
    return f"Slack unreachable ({type(exc).__name__})"


class SlackFiles:
    def __init__(self, client: AsyncWebClient) -> None:
        self._client = client

    async def upload_to_user(
        self, user_id: str, filename: str, content: bytes, title: str, comment: str
    ) -> str:
        """Share `content` as `filename` in the bot's DM with `user_id`; the file's id.

        `comment` is posted with the file as its message text (Slack mrkdwn:
        escape anything a prospect typed). Raises `SlackUploadError`.
        """
        try:
            opened = await self._client.conversations_open(users=user_id)
            channel = str(opened["channel"]["id"])
            done = await self._client.files_upload_v2(
                channel=channel,
                file=content,
                filename=filename,
                title=title,
                initial_comment=comment,
            )
        except (SlackApiError, SlackRequestError, aiohttp.ClientError, TimeoutError) as exc:
            raise SlackUploadError(_reason(exc)) from exc
        return str(done["file"]["id"])

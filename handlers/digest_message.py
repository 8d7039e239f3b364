"""The digest a manager scheduled (`/leads digest`): Block Kit from stored counts, and the
outbox's handler that posts it.

Only counts and times appear, never prospect-supplied text, so nothing needs escaping.
A post that may have reached Slack before a crash is looked up by its metadata before
it is posted again.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from bot.digests import DigestReport
from bot.domain.digest import Cadence
from bot.outbox import MessageSender, PermanentSlackError, RenderedMessage
from store.models import OutboxMessage

DIGEST_EVENT_TYPE = "leadbot_digest"


def _moment(at: datetime, report: DigestReport) -> str:
    return at.astimezone(report.tz).strftime("%a %-d %b %H:%M")


def _sla_met(met: int, missed: int) -> str:
    decided = met + missed
    return f"{met} ({round(100 * met / decided)}%)" if decided else "0"


def render_digest(report: DigestReport) -> RenderedMessage:
    """A header, the period, and one field per count."""
    counts = report.counts
    title = "Weekly lead digest" if report.cadence is Cadence.WEEKLY else "Daily lead digest"
    missed = str(counts.sla_missed)
    if counts.contacted_late:
        missed += f" ({counts.contacted_late} contacted late)"
    fields = [
        ("Captured", str(counts.captured)),
        ("Posted to queues", str(counts.posted)),
        ("Nurtured", str(counts.nurtured)),
        ("Claimed", str(counts.claimed)),
        ("First contacts", str(counts.first_contacts)),
        ("SLA met", _sla_met(counts.sla_met, counts.sla_missed)),
        ("SLA missed", missed),
        ("Won", str(counts.won)),
        ("Lost", str(counts.lost)),
    ]
    period = (
        f"{_moment(report.start, report)} → {_moment(report.end, report)} "
        f"({report.tz.key}) · digest #{report.digest_id}"
    )
    blocks: list[dict[str, Any]] = [
        {"type": "header", "text": {"type": "plain_text", "text": title}},
        {
            "type": "context",
            "block_id": "digest_period",
            "elements": [{"type": "mrkdwn", "text": period}],
        },
        {
            "type": "section",
            "block_id": "digest_counts",
            "fields": [{"type": "mrkdwn", "text": f"*{name}*\n{value}"} for name, value in fields],
        },
    ]
    text = (
        f"{title}: {counts.captured} captured, {counts.claimed} claimed, "
        f"{counts.won} won, {counts.lost} lost"
    )
    return RenderedMessage(text=text, blocks=blocks)


class DigestPosts:
    """The outbox's handler for `digest_post` rows."""

    def __init__(self, sender: MessageSender) -> None:
        self._sender = sender

    async def deliver(self, row: OutboxMessage) -> None:
        channel = str(row.payload.get("channel") or "")
        try:
            report = DigestReport.from_payload(row.payload)
        except (KeyError, ValueError) as exc:
            raise PermanentSlackError(f"digest row {row.id} unreadable: {exc}") from None
        if not channel:
            raise PermanentSlackError(f"digest row {row.id} without a channel")
        if row.attempts > 1 and await self._sender.find_message_by_metadata(
            channel,
            DIGEST_EVENT_TYPE,
            "outbox_row",
            str(row.id),
            oldest=row.created_at - timedelta(minutes=5),
        ):
            return  # an earlier attempt reached Slack
        metadata = {"event_type": DIGEST_EVENT_TYPE, "event_payload": {"outbox_row": str(row.id)}}
        await self._sender.post_message(channel, render_digest(report), metadata)

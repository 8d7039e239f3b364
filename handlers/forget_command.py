"""`/leads forget EMAIL|PHONE`: erase a person's data everywhere (managers only; issue 7).

    /leads forget john.doe@example.com
    /leads forget +44 20 7946 0958

A phone number may be written with spaces; anything else must be one word.
The answer (ephemeral) says what was erased, or that nothing matched.
"""

from __future__ import annotations

from bot.domain.contact import ContactError
from bot.erasure import Erasure, ErasureReport
from bot.outbox import RenderedMessage
from handlers.cards import escape_mrkdwn
from handlers.slack_commands import Invocation, Subcommand, UsageError

USAGE = (
    "Usage: `/leads forget EMAIL` or `/leads forget PHONE`, e.g. "
    "`/leads forget jane@example.com` — erases that person's contact details and "
    "conversations everywhere, keeping only anonymous counts."
)
#: What a relayed visitor line in a card's thread is overwritten with.
ERASED_LINE = "(erased)"


def render_erased_line() -> RenderedMessage:
    """A visitor line's copy in Slack once the person is erased."""
    return RenderedMessage(
        text=ERASED_LINE,
        blocks=[{"type": "section", "text": {"type": "mrkdwn", "text": f"_{ERASED_LINE}_"}}],
    )


def _plural(count: int, word: str) -> str:
    return f"{count} {word}" + ("" if count == 1 else "s")


def erasure_reply(report: ErasureReport, given: str) -> str:
    """What the manager is told: what was erased, and what is being replaced in Slack."""
    if not report.matched:
        return (
            f":mag: Nothing matched `{escape_mrkdwn(given[:100])}`: no lead or conversation has "
            f"that {report.kind}. Nothing was changed."
        )
    conversations = (
        f"{_plural(report.conversations, 'conversation')}, "
        f"{_plural(report.messages, 'message')} and {_plural(report.page_views, 'page view')}"
    )
    if not report.lead_ids:
        return (
            f":wastebasket: Erased that person's website chat: {conversations}. "
            "No lead had their details."
        )
    ids = ", ".join(f"#{i}" for i in report.lead_ids)
    lines = [
        f":wastebasket: Erased that person from {_plural(len(report.lead_ids), 'lead')} ({ids}): "
        "contact details, answers, page addresses and free-text notes are gone.",
        f"Conversations: {conversations} erased.",
        f"History: {_plural(report.events, 'event')} scrubbed; every event is kept, so "
        "reports still count these leads.",
    ]
    slack = []
    if report.cards:
        slack.append(_plural(report.cards, "lead card"))
    if report.slack_lines:
        slack.append(_plural(report.slack_lines, "visitor line") + " relayed into threads")
    if report.slack_copies:
        slack.append(
            _plural(report.slack_copies, "other message") + " (thread notes, DMs, notices)"
        )
    if slack:
        lines.append(f"Slack: replacing {', '.join(slack)} now.")
    if report.cards:
        lines.append(
            "Not replaced: your team's own replies in those threads (a Slack admin can delete "
            "them)."
        )
    return "\n".join(lines)


def forget_commands(erasure: Erasure) -> dict[str, Subcommand]:
    async def run(call: Invocation) -> str:
        if not call.args:
            raise UsageError(USAGE)
        given = " ".join(call.args)
        try:
            report = await erasure.forget(call.user_id, given)
        except ContactError as exc:
            raise UsageError(f"`{escape_mrkdwn(given[:100])}` is {exc}. {USAGE}") from None
        return erasure_reply(report, given)

    usage = "`/leads forget EMAIL|PHONE` — erase a person's data everywhere (anonymous counts stay)"
    return {"forget": Subcommand(run, usage, managers_only=True)}

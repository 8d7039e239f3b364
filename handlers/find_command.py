"""`/leads find TEXT`: look a lead up by id, email, phone, name or company (anyone).

    /leads find 123            /leads find #123
    /leads find john.doe@example.com
    /leads find +44 7700 900123
    /leads find John Doe       (name or company, at least 2 characters)

Answered through `response_url` (a name search reads many rows). Each result
links to its card in the queue channel (`chat.getPermalink`); names and
companies are prospect text, so they are escaped.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from typing import Any
from zoneinfo import ZoneInfo

import aiohttp
from slack_sdk.errors import SlackClientError
from slack_sdk.web.async_client import AsyncWebClient

from bot.lookup import FoundLead, LeadQuery, Lookup, Matches, QueryError, QueryKind, parse_query
from handlers.cards import mention, safe_mrkdwn
from handlers.slack_commands import Invocation, Reply, Subcommand, UsageError

log = logging.getLogger(__name__)

USAGE = (
    "Usage: `/leads find TEXT`: a lead number (`123` or `#123`), an email, a phone number, "
    "or at least 2 characters of a name or company."
)
#: Prospect text is cut to this much in a result line.
NAME_LIMIT = 100
QUERY_LIMIT = 80

#: A card's permalink, from its channel and ts; None when Slack cannot give one.
Permalink = Callable[[str, str], Awaitable[str | None]]


def slack_permalink(client: AsyncWebClient) -> Permalink:
    """`chat.getPermalink` through the bot's client; a failure only loses the link."""

    async def permalink(channel_id: str, ts: str) -> str | None:
        try:
            response = await client.chat_getPermalink(channel=channel_id, message_ts=ts)
        except (SlackClientError, aiohttp.ClientError, TimeoutError) as exc:
            log.warning("chat.getPermalink failed: %s", type(exc).__name__)
            return None
        link = response.get("permalink")
        return link if isinstance(link, str) and "|" not in link and ">" not in link else None

    return permalink


def _what(query: LeadQuery, shown: str) -> str:
    return f"“{shown}”" if query.kind is QueryKind.NAME else f"{query.kind.value} {shown}"


def _heading(query: LeadQuery, shown: str, matches: Matches) -> str:
    if query.kind is QueryKind.ID:
        return f":mag: Lead #{query.value}"
    total = f"{matches.total}{'+' if matches.capped else ''}"
    verb = "lead matches" if matches.total == 1 else "leads match"
    return f":mag: {total} {verb} {_what(query, shown)}"


def _grade(lead: FoundLead) -> str:
    return f"{lead.grade or 'ungraded'} · {lead.score} pts"


def _who(lead: FoundLead) -> str:
    if lead.owner_id:
        return f"owner {mention(lead.owner_id)}"
    if lead.state == "offered" and lead.offered_rep_id:
        return f"offered to {mention(lead.offered_rep_id)}"
    return "nobody's yet" if lead.state in ("new", "offered") else "no owner"


def result_text(lead: FoundLead, tz: ZoneInfo, link: str | None) -> str:
    """One result: `#id` · name · company (· card link), then its state and whereabouts."""
    captured = f"captured {lead.captured_at.astimezone(tz):%a %-d %b %Y %H:%M}"
    if lead.erased:
        return f"*#{lead.id}* · _erased_ · {captured}"
    title = [
        f"*#{lead.id}*",
        safe_mrkdwn(lead.name, NAME_LIMIT) if lead.name else "_no name_",
    ]
    if lead.company:
        title.append(safe_mrkdwn(lead.company, NAME_LIMIT))
    if link:
        title.append(f"<{link}|card>")
    details = [
        lead.state,
        _grade(lead),
        _who(lead),
        safe_mrkdwn(lead.queue_name, NAME_LIMIT) if lead.queue_name else "no queue",
        captured,
    ]
    return " · ".join(title) + "\n" + " · ".join(details)


def find_reply(
    query: LeadQuery, shown: str, matches: Matches, tz: ZoneInfo, links: list[str | None]
) -> str | Reply:
    """What `/leads find` answers: the matches as Block Kit, or a line when there are none."""
    if not matches.leads:
        if query.kind is QueryKind.ID:
            return f"There is no lead #{query.value}."
        return f"No lead matches {_what(query, shown)}."
    heading = _heading(query, shown, matches)
    blocks: list[dict[str, Any]] = [
        {"type": "section", "text": {"type": "mrkdwn", "text": heading}}
    ]
    blocks += [
        {"type": "section", "text": {"type": "mrkdwn", "text": result_text(lead, tz, link)}}
        for lead, link in zip(matches.leads, links, strict=True)
    ]
    if matches.more:
        more = f"{matches.more}{'+' if matches.capped else ''}"
        blocks.append(
            {
                "type": "context",
                "elements": [
                    {
                        "type": "mrkdwn",
                        "text": f"…and {more} more, older. Add words to narrow the search.",
                    }
                ],
            }
        )
    return Reply(heading, blocks)


def find_commands(lookup: Lookup, permalink: Permalink, tz: ZoneInfo) -> dict[str, Subcommand]:
    async def run(call: Invocation) -> str | Reply:
        text = " ".join(call.args)
        try:
            query = parse_query(text, lookup.phone_region)
        except QueryError as exc:
            raise UsageError(f"{exc} {USAGE}") from None
        matches = await lookup.find(query)
        links = await asyncio.gather(
            *(
                permalink(lead.card_channel_id, lead.card_ts)
                if lead.card_channel_id and lead.card_ts and not lead.erased
                else _nothing()
                for lead in matches.leads
            )
        )
        shown = safe_mrkdwn(" ".join(text.split()), QUERY_LIMIT)
        return find_reply(query, shown, matches, tz, list(links))

    usage = "`/leads find TEXT` — a lead by number, email, phone, name or company"
    return {"find": Subcommand(run, usage, slow=True)}


async def _nothing() -> None:
    return None

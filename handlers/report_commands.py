"""`/leads report|funnel|sources|reps|cost`: the managers' numbers as Block Kit.

Headers and fields for the headline numbers; small tables in code blocks where
columns must line up. Source names come from prospects' UTM tags, so they are
escaped and stripped of backticks before they go into a table.
"""

from __future__ import annotations

import asyncio
import re
from collections.abc import Awaitable, Callable, Sequence
from datetime import datetime, timedelta
from decimal import Decimal, InvalidOperation
from typing import Any

from bot.domain import reports as numbers
from bot.domain.lead import format_duration
from bot.domain.metrics import Distribution
from bot.domain.periods import PERIOD_HELP, Period, PeriodError
from bot.reports import Reports, RepsReport
from handlers.cards import escape_mrkdwn, truncate
from handlers.slack_commands import Invocation, Reply, Subcommand, UsageError
from handlers.slack_files import SlackUploadError

DEFAULT_PERIOD = "7d"
#: Rows shown in a table before "and N more" (keeps a message well inside Block Kit limits).
TABLE_ROWS = 15
MAX_COST = Decimal("1000000000000")

#: Renders a funnel chart: title and (label, leads) steps → PNG bytes.
ChartMaker = Callable[[str, Sequence[tuple[str, int]]], bytes]
#: Uploads a file to a user's DM: (user, filename, content, title, comment).
UploadToUser = Callable[[str, str, bytes, str, str], Awaitable[object]]


def percent(value: float | None) -> str:
    return "–" if value is None else f"{100 * value:.1f}%"


def duration(seconds: int | None) -> str:
    return "–" if seconds is None else format_duration(timedelta(seconds=seconds))


def money(amount: Decimal | None) -> str:
    return "–" if amount is None else f"{amount:,.2f}"


def table_text(text: str, width: int) -> str:
    """Prospect-supplied text fit for one line (a table cell, or inside backticks):
    no backticks or newlines, at most `width` characters. Not escaped yet."""
    return truncate(text.replace("`", "'").replace("\n", " "), width)


def code_table(header: Sequence[str], rows: Sequence[Sequence[str]], left: int = 1) -> str:
    """A monospace table: the first `left` columns left-aligned, the rest right-aligned.
    Padded first, then escaped for mrkdwn, so `&` takes one column, not five."""
    table = [header, *rows]
    widths = [max(len(r[i]) for r in table) for i in range(len(header))]
    lines = []
    for row in table:
        cells = [
            cell.ljust(widths[i]) if i < left else cell.rjust(widths[i])
            for i, cell in enumerate(row)
        ]
        lines.append(escape_mrkdwn("  ".join(cells).rstrip()))
    return "```\n" + "\n".join(lines) + "\n```"


def _header(title: str) -> dict[str, Any]:
    return {"type": "header", "text": {"type": "plain_text", "text": title[:150]}}


def _context(text: str) -> dict[str, Any]:
    return {"type": "context", "elements": [{"type": "mrkdwn", "text": text[:3000]}]}


def _section(text: str) -> dict[str, Any]:
    return {"type": "section", "text": {"type": "mrkdwn", "text": text[:3000]}}


def _fields(pairs: Sequence[tuple[str, str]]) -> dict[str, Any]:
    return {
        "type": "section",
        "fields": [{"type": "mrkdwn", "text": f"*{k}*\n{v}"} for k, v in pairs[:10]],
    }


def _span(period: Period, reports: Reports) -> str:
    def moment(at: datetime) -> str:
        return at.astimezone(reports.tz).strftime("%a %-d %b %Y %H:%M")

    return (
        f"Leads captured {moment(period.start)} → {moment(period.end)} ({reports.tz.key}); "
        "what has happened to them since. Definitions: `docs/metrics.md`."
    )


def _dist_row(name: str, d: Distribution) -> list[str]:
    return [name, duration(d.median), duration(d.p90), str(d.count)]


def render_summary(s: numbers.Summary, period: Period, reports: Reports) -> Reply:
    sla = f"{percent(s.sla_rate)} ({s.sla_met} of {s.sla_met + s.sla_missed})"
    blocks = [
        _header(f"Lead report — {period.label}"),
        _context(_span(period, reports)),
        _fields(
            [
                ("Captured", f"{s.captured}" + (f" (+{s.spam} spam, excluded)" if s.spam else "")),
                ("Posted to queues", str(s.posted)),
                ("Won", str(s.won)),
                ("Conversion (won / captured)", percent(s.conversion)),
                ("SQL rate", f"{percent(s.sql_rate)} ({s.sql})"),
                ("SLA met", sla),
                ("Posted, never contacted", str(s.not_contacted)),
            ]
        ),
    ]
    grades = " · ".join(f"{g} {n}" for g, n in s.by_grade.items()) or "–"
    states = " · ".join(f"{st} {n}" for st, n in s.by_state.items()) or "–"
    blocks.append(_section(f"*By grade:* {grades}\n*By state:* {states}"))
    rows = [
        _dist_row("Time to claim", s.claim.wall),
        _dist_row("  in business hours", s.claim.business),
        _dist_row("Time to first contact", s.contact.wall),
        _dist_row("  in business hours", s.contact.business),
    ]
    blocks.append(
        _section(
            "*Response times* (from posting)\n" + code_table(["", "median", "p90", "leads"], rows)
        )
    )
    text = (
        f"Lead report {period.label}: {s.captured} captured, {s.won} won "
        f"({percent(s.conversion)}), SLA met {percent(s.sla_rate)}, median first contact "
        f"{duration(s.contact.wall.median)}"
    )
    return Reply(text, blocks)


def render_funnel(steps: Sequence[numbers.FunnelStep], period: Period, reports: Reports) -> Reply:
    rows = [
        [step.label, str(step.leads), percent(step.from_previous), percent(step.from_captured)]
        for step in steps
    ]
    blocks = [
        _header(f"Lead funnel — {period.label}"),
        _context(_span(period, reports)),
        _section(code_table(["Step", "Leads", "Step %", "Of captured"], rows)),
    ]
    captured = steps[0].leads if steps else 0
    won = steps[-1].leads if steps else 0
    return Reply(f"Lead funnel {period.label}: {captured} captured → {won} won", blocks)


def render_sources(lines: Sequence[numbers.SourceLine], period: Period, reports: Reports) -> Reply:
    rows = [
        [
            table_text(line.source, 24),
            str(line.leads),
            percent(line.sql_rate),
            str(line.won),
            percent(line.conversion),
            money(line.cost),
            money(line.cost_per_conversion),
        ]
        for line in lines[:TABLE_ROWS]
    ]
    blocks = [_header(f"Lead sources — {period.label}"), _context(_span(period, reports))]
    if rows:
        table = code_table(["Source", "Leads", "SQL %", "Won", "Conv.", "Cost", "Per win"], rows)
        more = len(lines) - TABLE_ROWS
        if more > 0:
            table += f"\n…and {more} more sources."
        blocks.append(_section(table))
    else:
        blocks.append(_section("No leads were captured in this period."))
    blocks.append(_context("Set spend with `/leads cost SOURCE AMOUNT [period]`."))
    return Reply(f"Lead sources {period.label}: {len(lines)} sources", blocks)


def render_reps(report: RepsReport, period: Period, reports: Reports) -> Reply:
    lines: Sequence[numbers.RepLine] = report.lines
    rows = [
        [
            table_text(report.names.get(line.rep_id, line.rep_id), 18),
            str(line.offered),
            str(line.claimed),
            duration(line.response.wall.median),
            duration(line.response.business.median),
            str(line.sla_missed),
            str(line.won),
        ]
        for line in lines[:TABLE_ROWS]
    ]
    blocks = [_header(f"Reps — {period.label}"), _context(_span(period, reports))]
    if rows:
        table = code_table(
            ["Rep", "Offered", "Claimed", "Median resp.", "(business)", "SLA miss", "Won"], rows
        )
        more = len(lines) - TABLE_ROWS
        if more > 0:
            table += f"\n…and {more} more reps."
        blocks.append(_section(table))
        blocks.append(
            _context(
                "Counts are leads. Response: from posting to this rep's first contact with "
                "the lead, median over the leads they contacted first."
            )
        )
    else:
        blocks.append(_section("No rep touched a lead captured in this period."))
    return Reply(f"Reps {period.label}: {len(lines)} reps", blocks)


def _period(reports: Reports, words: Sequence[str], usage: str, *, whole: bool = False) -> Period:
    if len(words) > 1:
        raise UsageError(usage)
    try:
        return reports.period(words[0] if words else DEFAULT_PERIOD, whole=whole)
    except PeriodError as exc:
        raise UsageError(f"{exc} {usage}") from None


_AMOUNT = re.compile(r"[$€£]?([0-9][0-9,]*(?:\.[0-9]{1,2})?)")


def parse_amount(word: str) -> Decimal | None:
    found = _AMOUNT.fullmatch(word)
    if not found:
        return None
    try:
        amount = Decimal(found.group(1).replace(",", ""))
    except InvalidOperation:  # pragma: no cover - the pattern only admits numbers
        return None
    return amount if amount < MAX_COST else None


def report_commands(
    reports: Reports,
    *,
    chart: ChartMaker | None = None,
    upload: UploadToUser | None = None,
) -> dict[str, Subcommand]:
    def usage(name: str) -> str:
        return (
            f"Usage: `/leads {name} [period]` with a period: {PERIOD_HELP} "
            f"(default {DEFAULT_PERIOD})."
        )

    async def report(call: Invocation) -> Reply:
        period = _period(reports, call.args, usage("report"))
        return render_summary(await reports.summary(period), period, reports)

    async def funnel(call: Invocation) -> Reply:
        period = _period(reports, call.args, usage("funnel"))
        steps = await reports.funnel(period)
        reply = render_funnel(steps, period, reports)
        if chart is None or upload is None:
            return reply
        title = f"Lead funnel — {period.label}"
        name = re.sub(r"[^0-9A-Za-z-]+", "-", call.args[0] if call.args else DEFAULT_PERIOD)
        try:
            # Drawing takes a few tens of milliseconds of CPU: off the event loop.
            png = await asyncio.to_thread(chart, title, [(s.label, s.leads) for s in steps])
            await upload(call.user_id, f"funnel-{name}.png", png, title, "")
        except SlackUploadError as exc:  # the numbers are still worth showing
            note = (
                ":warning: The chart could not be uploaded to Slack "
                f"({escape_mrkdwn(exc.reason)}); the numbers are above."
            )
        else:
            note = ":bar_chart: The chart is in your DM with leadbot."
        return Reply(reply.text, [*reply.blocks, _context(note)])

    async def sources(call: Invocation) -> Reply:
        period = _period(reports, call.args, usage("sources"))
        return render_sources(await reports.sources(period), period, reports)

    async def reps(call: Invocation) -> Reply:
        period = _period(reports, call.args, usage("reps"))
        return render_reps(await reports.reps(period), period, reports)

    cost_usage = (
        "Usage: `/leads cost SOURCE AMOUNT [period]`, e.g. `/leads cost google-ads 1200 "
        f"this-month` (default this month; the amount is spread evenly over the period). "
        f"Periods: {PERIOD_HELP}."
    )

    async def cost(call: Invocation) -> str:
        if len(call.args) not in (2, 3):
            raise UsageError(cost_usage)
        source, amount_text = call.args[0], call.args[1]
        amount = parse_amount(amount_text)
        if amount is None:
            raise UsageError(
                f"`{escape_mrkdwn(table_text(amount_text, 20))}` is not an amount. {cost_usage}"
            )
        if len(source) > 200:
            raise UsageError(f"The source name is too long (200 characters at most). {cost_usage}")
        try:
            period = reports.period(
                call.args[2] if len(call.args) == 3 else "this-month", whole=True
            )
        except PeriodError as exc:
            raise UsageError(f"{exc} {cost_usage}") from None
        replaced = await reports.set_cost(call.user_id, source, amount, period)
        verb = "Replaced the spend" if replaced else "Recorded"
        return (
            f":moneybag: {verb} {money(amount)} on `{escape_mrkdwn(table_text(source, 60))}` for "
            f"{period.label}. `/leads sources` shows cost per conversion."
        )

    return {
        "report": Subcommand(
            report,
            "`/leads report [period]` — captured, grades, states, conversion, SLA met %, "
            "response times",
            managers_only=True,
            slow=True,
        ),
        "funnel": Subcommand(
            funnel,
            "`/leads funnel [period]` — each step from capture to won, with a chart",
            managers_only=True,
            slow=True,
        ),
        "sources": Subcommand(
            sources,
            "`/leads sources [period]` — per source: leads, SQL %, won, conversion, cost per win",
            managers_only=True,
            slow=True,
        ),
        "cost": Subcommand(
            cost,
            "`/leads cost SOURCE AMOUNT [period]` — what a source cost over a period",
            managers_only=True,
        ),
        "reps": Subcommand(
            reps,
            "`/leads reps [period]` — per rep: offered, claimed, median response, SLA misses, won",
            managers_only=True,
            slow=True,
        ),
    }

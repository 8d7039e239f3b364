"""`/leads export [period]`: the leads captured in a period, as a CSV file in the manager's DM.

    /leads export            the last 30 days
    /leads export 7d         any period `bot/domain/periods.py` reads

Managers only, and slow (acknowledged at once, answered through `response_url`):
the file is read in batches (`store/export.py`), written as it is read
(`bot/domain/export.py`), then uploaded (`handlers/slack_files.py`). An export
holds at most `MAX_ROWS` leads, the newest, and says so when it is cut.
"""

from __future__ import annotations

from dataclasses import dataclass
from zoneinfo import ZoneInfo

from bot.clock import Clock
from bot.domain.export import LeadsCsv
from bot.domain.periods import PERIOD_HELP, Period, PeriodError, parse_period
from handlers.cards import escape_mrkdwn
from handlers.slack_commands import Invocation, Subcommand, UsageError
from handlers.slack_files import SlackFiles, SlackUploadError
from store.db import Database
from store.export import export_answer_keys, export_rows, same_snapshot

DEFAULT_PERIOD = "30d"
#: The most leads one file holds (some 26 MB of CSV for typical leads); more are cut.
MAX_ROWS = 200_000
USAGE = f"Usage: `/leads export [period]` (default `{DEFAULT_PERIOD}`)."


def usage(problem: str = "") -> str:
    """The usage line, after `problem` if any, always with the periods one may type."""
    periods = "" if PERIOD_HELP in problem else f" Periods: {PERIOD_HELP}."
    return f"{problem} {USAGE}{periods}".strip()


@dataclass(frozen=True)
class ExportFile:
    content: bytes
    rows: int
    capped: bool  # more leads were captured in the period than the file holds


async def build_export(db: Database, period: Period, tz: ZoneInfo, max_rows: int) -> ExportFile:
    """The CSV of the leads captured in `period`, newest first, at most `max_rows` of them."""
    async with db.reading() as session:
        await same_snapshot(session)
        keys = await export_answer_keys(session, period.start, period.end, max_rows)
        out = LeadsCsv(keys, tz)
        capped = False
        # One row past the cap tells whether the period held more.
        async for batch in export_rows(session, period.start, period.end, max_rows + 1):
            room = max_rows - out.rows
            capped = capped or len(batch) > room
            out.add(batch[:room])
    return ExportFile(out.to_bytes(), out.rows, capped)


def _leads(count: int) -> str:
    return f"{count:,} lead" + ("" if count == 1 else "s")


def export_commands(
    db: Database, clock: Clock, files: SlackFiles, tz: ZoneInfo, *, max_rows: int = MAX_ROWS
) -> dict[str, Subcommand]:
    async def run(call: Invocation) -> str:
        if len(call.args) > 1:
            raise UsageError(usage())
        word = (call.args[0] if call.args else DEFAULT_PERIOD).lower()
        try:
            period = parse_period(word, clock.now(), tz)
        except PeriodError as exc:
            raise UsageError(usage(escape_mrkdwn(str(exc)))) from None
        export = await build_export(db, period, tz, max_rows)
        if export.rows == 0:
            return f"No leads captured in {period.label}."
        try:
            await files.upload_to_user(
                call.user_id,
                f"leads-{word}.csv",
                export.content,
                f"Leads captured: {period.label}",
                f"Leads captured: {period.label}. {_leads(export.rows)}, newest first; "
                f"times in {tz.key}.",
            )
        except SlackUploadError as exc:
            return f":warning: Couldn't upload the file to Slack: {escape_mrkdwn(exc.reason)}"
        answer = f"Exported {_leads(export.rows)} ({period.label}): sent to you as a DM."
        if export.capped:
            answer += (
                f" :warning: That is the most one export holds: only the newest "
                f"{export.rows:,} are in it. Export a shorter period for the rest."
            )
        return answer

    usage_line = (
        f"`/leads export [period]` — the leads captured (default `{DEFAULT_PERIOD}`) "
        "as a CSV file in your DM"
    )
    return {"export": Subcommand(run, usage_line, managers_only=True, slow=True)}

"""The composition root: the one place that builds everything and wires it together."""

from __future__ import annotations

import logging
import sqlite3
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import timedelta
from zoneinfo import ZoneInfo

from aiohttp import web
from slack_bolt.async_app import AsyncApp
from slack_sdk.web.async_client import AsyncWebClient
from sqlalchemy.exc import DBAPIError

from bot.apikeys import authenticate_api_key
from bot.chat import Chat, ChatSetup
from bot.chat_hub import ChatHub
from bot.chat_relay import ChatRelay, RelayDelivery
from bot.chat_values import ChatLine
from bot.clock import Clock, SystemClock
from bot.config import LeadbotConfig
from bot.decay import ScoreDecay
from bot.digests import DIGEST_POST, Digests
from bot.erasure import ERASE_POSTED_COPY, ERASE_RELAYED_LINE, Erasure, ErasureDelivery
from bot.lead_work import LeadWork
from bot.leads import Captured, LeadIntake, Leads
from bot.lookup import Lookup
from bot.metrics import Projector, business_time_of
from bot.offers import DM_OFFER, Offers, Rotation
from bot.outbox import OutboxDispatcher
from bot.qualify import Qualifier
from bot.reminders import Reminders
from bot.reports import Reports
from bot.settings import Settings
from bot.sla import SLA_NOTICE, SlaClock
from bot.slack_events import EventLog
from handlers import slack_actions, slack_commands, slack_dedupe, slack_events, widget_assets
from handlers.api_leads import make_lead_api
from handlers.cards import render_lead_card, render_merge_note, render_offer_dm
from handlers.digest_command import digest_commands
from handlers.digest_message import DigestPosts
from handlers.export_command import export_commands
from handlers.find_command import find_commands, slack_permalink
from handlers.forget_command import forget_commands, render_erased_line
from handlers.offer_dm import OfferDMs
from handlers.queue_command import queue_commands
from handlers.relay_messages import render_visitor_message
from handlers.remind_command import remind_commands
from handlers.report_chart import funnel_chart_png
from handlers.report_commands import report_commands
from handlers.sla_notices import SlaNotices
from handlers.slack_actions import local_today
from handlers.slack_files import SlackFiles
from handlers.slack_http import make_slack_endpoint
from handlers.slack_sender import SlackWebSender, build_web_client, kept_alive
from handlers.widget_frames import message_frame
from handlers.widget_ws import WidgetLimits, close_sockets, make_widget_ws
from scheduler.jobs import Job, build_scheduler, idle_capture_job
from store.db import Database
from store.directory import QueueRow, RepRow, sync_directory
from store.migrate import is_up_to_date, upgrade

log = logging.getLogger(__name__)

#: Scores decay over days; recomputing them every quarter of an hour is plenty.
DECAY_EVERY_SECONDS = 900.0
#: Due SLA steps are looked for this often, so each fires well within 2 s of its time.
SLA_POLL_SECONDS = 0.5
#: Digests run on the hour; looking every 2 s (one indexed query) keeps them on time.
DIGEST_POLL_SECONDS = 2.0
#: New lead events are folded into the reports' facts this often (reports also catch up first).
FACTS_POLL_SECONDS = 5.0


class StartupError(RuntimeError):
    """The service cannot start for a reason the operator must fix; the message says which."""


class SchemaOutOfDate(StartupError):
    pass


class DatabaseUnavailable(StartupError):
    pass


@dataclass(frozen=True)
class Services:
    settings: Settings
    config: LeadbotConfig
    db: Database
    clock: Clock
    slack: AsyncWebClient
    leads: Leads
    dispatcher: OutboxDispatcher
    bolt: AsyncApp
    chat: Chat
    hub: ChatHub
    sla: SlaClock
    reminders: Reminders
    digests: Digests
    projector: Projector


SERVICES = web.AppKey("services", Services)


def build_services(
    settings: Settings,
    config: LeadbotConfig,
    *,
    clock: Clock | None = None,
    db: Database | None = None,
    poll_interval: float = 1.0,
) -> Services:
    clock = clock or SystemClock()
    db = db or Database(settings.database_url)
    slack = build_web_client(settings.slack_bot_token, settings.slack_api_url)
    sender = SlackWebSender(slack)
    dispatcher = OutboxDispatcher(
        db,
        clock,
        sender,
        render_lead_card,
        render_merge_note=render_merge_note,
        poll_interval=poll_interval,
        lease=timedelta(seconds=settings.outbox_lease_seconds),
        max_backoff=settings.outbox_max_backoff_seconds,
    )
    offers = Offers(config)
    sla = SlaClock(db, clock, dispatcher.wake, offers, config)
    leads = Leads(db, clock, dispatcher.wake, Qualifier(config), offers, sla)
    workspace_tz = ZoneInfo(config.workspace.timezone)
    reminders = Reminders(db, clock, dispatcher.wake, offers, workspace_tz)
    work = LeadWork(db, clock, dispatcher.wake, offers, workspace_tz, sla, reminders)
    dispatcher.register_with_lead(DM_OFFER, OfferDMs(clock, sender, render_offer_dm).deliver)
    dispatcher.register_with_lead(SLA_NOTICE, SlaNotices(clock, sender, render_lead_card).deliver)
    digests = Digests(db, clock, dispatcher.wake, config.managers, workspace_tz)
    dispatcher.register(DIGEST_POST, DigestPosts(sender).deliver)
    erasure = Erasure(db, clock, dispatcher.wake, config.workspace.default_phone_region)
    erasure_delivery = ErasureDelivery(db, sender, render_erased_line, sender.open_dm)
    dispatcher.register(ERASE_RELAYED_LINE, erasure_delivery.erase_line)
    dispatcher.register(ERASE_POSTED_COPY, erasure_delivery.erase_copy)
    projector = Projector(db, business_time_of(sla))
    reports = Reports(db, clock, projector, workspace_tz)
    # The client carries the token; passing it twice only makes Bolt warn.
    bolt = AsyncApp(
        signing_secret=settings.slack_signing_secret,
        client=slack,
        logger=logging.getLogger("leadbot.slack"),
    )
    # First, so every listener (and any later middleware) sees each event_id once.
    slack_dedupe.register(bolt, EventLog(db, clock).first_sighting)
    slack_actions.register(bolt, leads, work, local_today(workspace_tz, clock.now))
    files = SlackFiles(slack)  # DMs a person a file (exports, charts)
    lookup = Lookup(db, clock, config, offers)
    commands = {
        **slack_commands.away_commands(Rotation(db, clock).set_away),
        **remind_commands(reminders, workspace_tz),
        **digest_commands(digests),
        **export_commands(db, clock, files, workspace_tz),
        **report_commands(reports, chart=funnel_chart_png, upload=files.upload_to_user),
        **find_commands(lookup, slack_permalink(slack), workspace_tz),
        **queue_commands(lookup, workspace_tz),
        **forget_commands(erasure),
    }
    slack_commands.register(bolt, commands, config.managers)
    hub = ChatHub()

    async def publish(chat_id: str, lines: list[ChatLine]) -> None:
        await hub.publish(chat_id, [message_frame(line) for line in lines])

    setup = ChatSetup(
        config.qualification_script(),
        config.workspace.default_phone_region,
        timedelta(seconds=config.widget.idle_capture_seconds),
    )
    chat = Chat(db, clock, leads, setup, dispatcher.wake, publish)
    relay = ChatRelay(db, clock, dispatcher.wake, publish, sla.on_change)
    for kind, deliver in (
        RelayDelivery(db, clock, sender, render_visitor_message).handlers().items()
    ):
        dispatcher.register(kind, deliver)
    slack_events.register(bolt, relay.relay_rep_reply)
    return Services(
        settings,
        config,
        db,
        clock,
        slack,
        leads,
        dispatcher,
        bolt,
        chat,
        hub,
        sla,
        reminders,
        digests,
        projector,
    )


def directory_rows(config: LeadbotConfig) -> tuple[list[RepRow], list[QueueRow]]:
    reps = [
        RepRow(r.id, r.name, r.timezone or config.workspace.timezone, r.capacity, r.weight)
        for r in config.reps
    ]
    default_id = config.default_queue.id
    queues = [
        QueueRow(q.id, q.name, q.channel, q.id == default_id, q.exclusivity_seconds, tuple(q.reps))
        for q in config.queues
    ]
    return reps, queues


async def prepare_database(services: Services, *, auto_upgrade: bool) -> None:
    """Check (or bring) the schema up to date, then mirror the config's queues and reps."""
    try:
        services.db.check_sqlite_file()
        if auto_upgrade:
            await upgrade(services.db)
        elif not await is_up_to_date(services.db):
            raise SchemaOutOfDate("the database schema is not up to date: run `leadbot db upgrade`")
        reps, queues = directory_rows(services.config)
        async with services.db.transaction() as session:
            await sync_directory(session, reps, queues)
    except (OSError, DBAPIError, sqlite3.Error) as exc:
        where = services.db.url.render_as_string(hide_password=True)
        reason = getattr(exc, "orig", None) or exc
        raise DatabaseUnavailable(f"cannot use the database {where}: {reason}") from None


def build_web_app(services: Services, *, auto_upgrade: bool = False) -> web.Application:
    """One aiohttp application: the Slack endpoint, the intake API and health."""
    app = web.Application(client_max_size=1024 * 1024)
    app[SERVICES] = services
    config = services.config

    async def authenticate(raw: str) -> int | None:
        return await authenticate_api_key(services.db, services.clock, raw)

    async def capture(intake: LeadIntake) -> Captured:
        return await services.leads.capture_lead(intake, actor=f"api-key:{intake.api_key_id}")

    async def healthz(_request: web.Request) -> web.Response:
        try:
            await services.db.ping()
        except Exception as exc:
            log.warning("health check: database unavailable: %s", type(exc).__name__)
            return web.json_response({"status": "unavailable", "database": "down"}, status=503)
        return web.json_response({"status": "ok", "database": "up"})

    async def lifecycle(_app: web.Application) -> AsyncIterator[None]:
        try:
            await prepare_database(services, auto_upgrade=auto_upgrade)
        except BaseException:
            # Close the driver's connections (and aiosqlite's threads) before the loop goes.
            await services.db.dispose()
            raise
        async with kept_alive(services.slack):  # one connection pool for every Slack call
            services.dispatcher.start()
            decay = ScoreDecay(services.db, services.clock, config.scoring_model())
            jobs = [
                idle_capture_job(services.chat.capture_idle, config.widget.idle_capture_seconds),
                Job("score-decay", decay.run, every_seconds=DECAY_EVERY_SECONDS),
                Job("sla-ladder", services.sla.fire_due, every_seconds=SLA_POLL_SECONDS),
                Job("follow-ups", services.reminders.fire_due, every_seconds=5.0),
                Job("digests", services.digests.run_due, every_seconds=DIGEST_POLL_SECONDS),
                Job("report-facts", services.projector.run, every_seconds=FACTS_POLL_SECONDS),
            ]
            if services.db.is_sqlite:  # the WAL copied back on a thread, not in a commit
                jobs.append(Job("sqlite-checkpoint", services.db.checkpoint, every_seconds=1.0))
            scheduler = build_scheduler(jobs)
            scheduler.start()
            yield
            await scheduler.stop()  # running jobs finish; no new ones start
            await services.chat.close()  # turns in flight commit before the database goes
            await services.dispatcher.stop()
        await services.db.dispose()

    app.router.add_post("/slack/events", make_slack_endpoint(services.bolt))
    app.router.add_post(
        "/api/leads", make_lead_api(authenticate, capture, config.workspace.default_phone_region)
    )
    app.router.add_get("/healthz", healthz)
    limits = WidgetLimits(
        config.widget.allows_origin,
        config.widget.max_frame_bytes,
        config.widget.new_sessions_per_ip_per_minute,
        config.widget.messages_per_session_per_minute,
    )
    widget_sockets: set[web.WebSocketResponse] = set()
    app.router.add_get(
        "/widget/ws",
        make_widget_ws(services.chat, services.hub, services.clock, limits, widget_sockets),
    )

    async def close_widget_sockets(_app: web.Application) -> None:
        await close_sockets(widget_sockets)

    app.on_shutdown.append(close_widget_sockets)
    widget_assets.register(app)
    app.cleanup_ctx.append(lifecycle)
    return app

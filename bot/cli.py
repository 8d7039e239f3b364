"""The `leadbot` command (SPEC §12).

Operator mistakes get a message and a non-zero exit, never a traceback.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import sys
from collections.abc import Sequence
from pathlib import Path

from aiohttp import web

from bot.apikeys import ApiKeyNameTaken, create_api_key
from bot.clock import SystemClock
from bot.config import ConfigError, LeadbotConfig, load_config
from bot.logs import configure_logging
from bot.settings import (
    SettingsError,
    config_path_from_env,
    database_url_from_env,
    settings_from_env,
)
from store.db import Database
from store.migrate import current_revision, upgrade

EXIT_CONFIG = 1
EXIT_USAGE = 2


class CliError(Exception):
    """A problem to print and exit on; `code` is the exit status."""

    def __init__(self, message: str, code: int = EXIT_USAGE) -> None:
        super().__init__(message)
        self.code = code


def _load_config(path: Path) -> LeadbotConfig:
    try:
        return load_config(path)
    except ConfigError as exc:
        raise CliError(f"configuration error:\n{exc}", EXIT_CONFIG) from None


def cmd_serve(args: argparse.Namespace) -> None:
    from bot.app import StartupError, build_services, build_web_app

    try:
        settings = settings_from_env(os.environ)
    except SettingsError as exc:
        raise CliError(f"cannot start: {exc}") from None
    config = _load_config(settings.config_path)
    configure_logging(os.environ.get("LEADBOT_LOG_LEVEL", "INFO"))
    services = build_services(settings, config)
    try:
        web.run_app(
            build_web_app(services), host=args.host, port=args.port, print=None, shutdown_timeout=10
        )
    except StartupError as exc:
        raise CliError(f"cannot start: {exc}") from None
    except OSError as exc:  # e.g. the port is taken
        raise CliError(f"cannot listen on {args.host}:{args.port}: {exc.strerror or exc}") from None


def cmd_demo(args: argparse.Namespace) -> None:
    from bot.demo import run_demo

    asyncio.run(
        run_demo(
            host=args.host,
            port=args.port,
            sandbox_port=args.sandbox_port,
            data_dir=Path(args.data_dir),
            open_browser=not args.no_browser,
        )
    )


async def _with_db(url: str, action):  # type: ignore[no-untyped-def]
    db = Database(url)
    try:
        return await action(db)
    finally:
        await db.dispose()


def _database_url() -> str:
    try:
        return database_url_from_env(os.environ)
    except SettingsError as exc:
        raise CliError(str(exc)) from None


def cmd_db_upgrade(args: argparse.Namespace) -> None:
    async def run(db: Database) -> str | None:
        await upgrade(db)
        return await current_revision(db)

    revision = asyncio.run(_with_db(_database_url(), run))
    print(f"database is at revision {revision}")


def cmd_check_config(args: argparse.Namespace) -> None:
    path = Path(args.file) if args.file else config_path_from_env(os.environ)
    config = _load_config(path)
    print(
        f"{path}: OK — {len(config.queues)} queue(s), {len(config.reps)} rep(s), "
        f"{len(config.managers)} manager(s); default queue '{config.default_queue.id}'"
    )


def cmd_apikey_create(args: argparse.Namespace) -> None:
    name = args.name.strip()
    if not name or len(name) > 80:
        raise CliError("the key name must be 1 to 80 characters")

    async def run(db: Database) -> str:
        return await create_api_key(db, SystemClock(), name)

    try:
        raw = asyncio.run(_with_db(_database_url(), run))
    except ApiKeyNameTaken as exc:
        raise CliError(str(exc)) from None
    print(raw)
    print(f"API key {name!r} created. It is shown only this once; store it now.", file=sys.stderr)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="leadbot", description="Slack-native lead management.")
    sub = parser.add_subparsers(dest="command", required=True)

    serve = sub.add_parser("serve", help="run the bot (Slack endpoint, intake API, workers)")
    serve.add_argument("--host", default="0.0.0.0")
    serve.add_argument("--port", type=int, default=3000)
    serve.set_defaults(func=cmd_serve)

    demo = sub.add_parser("demo", help="run the bot with a local Slack sandbox on 127.0.0.1")
    demo.add_argument("--host", default="127.0.0.1")
    demo.add_argument("--port", type=int, default=3000)
    demo.add_argument("--sandbox-port", type=int, default=8765)
    demo.add_argument("--data-dir", default="leadbot-demo")
    demo.add_argument(
        "--no-browser", action="store_true", help="print the sandbox page's address only"
    )
    demo.set_defaults(func=cmd_demo)

    db = sub.add_parser("db", help="database maintenance")
    db_sub = db.add_subparsers(dest="db_command", required=True)
    db_sub.add_parser("upgrade", help="apply migrations (DATABASE_URL)").set_defaults(
        func=cmd_db_upgrade
    )

    check = sub.add_parser("check-config", help="validate a configuration file")
    check.add_argument("file", nargs="?", help="default: $LEADBOT_CONFIG or ./leadbot.yaml")
    check.set_defaults(func=cmd_check_config)

    apikey = sub.add_parser("apikey", help="intake API keys")
    apikey_sub = apikey.add_subparsers(dest="apikey_command", required=True)
    create = apikey_sub.add_parser("create", help="create a key and print it once")
    create.add_argument("name")
    create.set_defaults(func=cmd_apikey_create)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        args.func(args)
    except CliError as exc:
        print(f"leadbot: {exc}", file=sys.stderr)
        return exc.code
    except KeyboardInterrupt:
        return 130
    return 0


if __name__ == "__main__":
    sys.exit(main())

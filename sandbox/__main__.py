"""`python -m sandbox`: run the emulator on its own, for a bot in another process."""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import signal
from pathlib import Path

from sandbox.core import Sandbox, apply_seed


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m sandbox", description=__doc__)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8765)
    parser.add_argument("--signing-secret", required=True)
    parser.add_argument("--bot-token", required=True)
    parser.add_argument(
        "--request-url",
        default=None,
        help="where signed requests go, e.g. http://127.0.0.1:3000/slack/events",
    )
    parser.add_argument(
        "--seed",
        type=Path,
        default=None,
        help='JSON: {"users":[{id,name,real_name,tz}], "channels":[{id,name,members,is_private}]}',
    )
    parser.add_argument("--bot-user-id", default="UBOT")
    parser.add_argument("--bot-id", default="BBOT")
    parser.add_argument("--team-id", default="T0001")
    parser.add_argument("--team-domain", default="leadbot-demo")
    parser.add_argument("--no-rate-limits", action="store_true")
    parser.add_argument("--echo-bot-messages", action="store_true")
    return parser.parse_args(argv)


async def serve(options: argparse.Namespace) -> None:
    sb = Sandbox(
        signing_secret=options.signing_secret,
        bot_token=options.bot_token,
        bot_user_id=options.bot_user_id,
        bot_id=options.bot_id,
        team_id=options.team_id,
        team_domain=options.team_domain,
        request_url=options.request_url,
        rate_limits=not options.no_rate_limits,
        echo_bot_messages=options.echo_bot_messages,
    )
    if options.seed is not None:
        apply_seed(sb, json.loads(options.seed.read_text(encoding="utf-8")))
    base = await sb.start(options.host, options.port)
    print(f"Slack sandbox on {base}/  (Web API: {sb.api_url})", flush=True)
    done = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        with contextlib.suppress(NotImplementedError):
            loop.add_signal_handler(sig, done.set)
    try:
        await done.wait()
    finally:
        await sb.stop()


def main(argv: list[str] | None = None) -> None:
    asyncio.run(serve(parse_args(argv)))


if __name__ == "__main__":
    main()

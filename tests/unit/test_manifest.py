"""The Slack app manifest asks for what the bot uses: scopes, command, events, interactivity."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml

from bot.slack_scopes import BOT_SCOPES

MANIFEST = Path(__file__).resolve().parents[2] / "docs" / "slack-app-manifest.yaml"


def manifest() -> dict[str, Any]:
    loaded = yaml.safe_load(MANIFEST.read_text(encoding="utf-8"))
    assert isinstance(loaded, dict)
    return loaded


def test_manifest_scopes_are_the_ones_the_sandbox_grants_in_tests() -> None:
    assert sorted(manifest()["oauth_config"]["scopes"]["bot"]) == sorted(BOT_SCOPES)


def test_every_slack_delivery_goes_to_the_one_endpoint() -> None:
    settings = manifest()["settings"]
    commands = manifest()["features"]["slash_commands"]
    assert [c["command"] for c in commands] == ["/leads"]
    urls = {
        commands[0]["url"],
        settings["event_subscriptions"]["request_url"],
        settings["interactivity"]["request_url"],
    }
    assert urls == {"https://HOST/slack/events"}
    assert settings["interactivity"]["is_enabled"] is True
    events = set(settings["event_subscriptions"]["bot_events"])
    assert {"app_mention", "message.channels", "message.groups", "message.im"} <= events

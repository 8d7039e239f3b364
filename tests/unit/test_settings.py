"""Settings from the environment: defaults, bounds, and every problem named at once."""

from __future__ import annotations

import pytest

from bot.settings import SettingsError, settings_from_env

BASE = {"SLACK_BOT_TOKEN": "xoxb-1", "SLACK_SIGNING_SECRET": "s"}


def test_outbox_timings_default_and_can_be_set() -> None:
    defaults = settings_from_env(BASE)
    assert (defaults.outbox_lease_seconds, defaults.outbox_max_backoff_seconds) == (120.0, 30.0)
    tuned = settings_from_env(
        {
            **BASE,
            "LEADBOT_OUTBOX_LEASE_SECONDS": "30",
            "LEADBOT_OUTBOX_MAX_BACKOFF_SECONDS": "2.5",
        }
    )
    assert (tuned.outbox_lease_seconds, tuned.outbox_max_backoff_seconds) == (30.0, 2.5)


@pytest.mark.parametrize("bad", ["0", "-5", "3601", "soon", "nan"])
def test_out_of_range_or_non_numeric_timings_are_named(bad: str) -> None:
    env = {**BASE, "LEADBOT_OUTBOX_LEASE_SECONDS": bad, "LEADBOT_OUTBOX_MAX_BACKOFF_SECONDS": bad}
    with pytest.raises(SettingsError) as caught:
        settings_from_env(env)
    message = str(caught.value)
    assert "LEADBOT_OUTBOX_LEASE_SECONDS must be a number of seconds from 1 to 3600" in message
    assert (
        "LEADBOT_OUTBOX_MAX_BACKOFF_SECONDS must be a number of seconds from 1 to 3600" in message
    )


def test_missing_secrets_are_all_reported_together() -> None:
    with pytest.raises(SettingsError) as caught:
        settings_from_env({"SLACK_API_URL": "ftp://x"})
    message = str(caught.value)
    for part in ("SLACK_BOT_TOKEN is not set", "SLACK_SIGNING_SECRET is not set", "SLACK_API_URL"):
        assert part in message

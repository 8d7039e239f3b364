"""Settings from environment variables (SPEC §12): loaded once, validated, frozen."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from store.db import DEFAULT_DATABASE_URL, normalize_database_url

SLACK_API_URL = "https://slack.com/api/"
DEFAULT_CONFIG_FILE = "leadbot.yaml"


class SettingsError(Exception):
    """A missing or malformed environment variable; the message names it."""


@dataclass(frozen=True)
class Settings:
    slack_bot_token: str
    slack_signing_secret: str
    slack_app_token: str | None = None
    slack_api_url: str = SLACK_API_URL
    database_url: str = DEFAULT_DATABASE_URL
    config_path: Path = Path(DEFAULT_CONFIG_FILE)
    #: How long a dispatcher owns an outbox row before another may retry it (after a crash).
    outbox_lease_seconds: float = 120.0
    #: The longest a failing Slack post waits before its next try (so recovery is prompt).
    outbox_max_backoff_seconds: float = 30.0

    def __repr__(self) -> str:  # never print secrets into logs or tracebacks
        return (
            f"Settings(slack_api_url={self.slack_api_url!r}, config_path={str(self.config_path)!r})"
        )


def database_url_from_env(env: Mapping[str, str]) -> str:
    url = env.get("DATABASE_URL") or DEFAULT_DATABASE_URL
    try:
        normalize_database_url(url)
    except Exception as exc:
        raise SettingsError(f"DATABASE_URL: {exc}") from None
    return url


def config_path_from_env(env: Mapping[str, str]) -> Path:
    return Path(env.get("LEADBOT_CONFIG") or DEFAULT_CONFIG_FILE)


def settings_from_env(env: Mapping[str, str]) -> Settings:
    """Everything `leadbot serve` needs; every problem is reported at once."""
    problems = []
    token = env.get("SLACK_BOT_TOKEN", "").strip()
    secret = env.get("SLACK_SIGNING_SECRET", "").strip()
    app_token = env.get("SLACK_APP_TOKEN", "").strip() or None
    if not token:
        problems.append("SLACK_BOT_TOKEN is not set (the bot token, xoxb-…)")
    elif not token.startswith("xoxb-"):
        problems.append("SLACK_BOT_TOKEN must be a bot token starting with xoxb-")
    if not secret:
        problems.append("SLACK_SIGNING_SECRET is not set (Basic Information → Signing Secret)")
    if app_token is not None and not app_token.startswith("xapp-"):
        problems.append("SLACK_APP_TOKEN must be an app-level token starting with xapp-")
    if env.get("SLACK_CLIENT_ID") and env.get("SLACK_CLIENT_SECRET"):
        # Bolt would silently switch to multi-workspace OAuth mode on these.
        problems.append(
            "SLACK_CLIENT_ID/SLACK_CLIENT_SECRET are set, but leadbot runs in one "
            "workspace with SLACK_BOT_TOKEN; unset them"
        )
    api_url = env.get("SLACK_API_URL", "").strip() or SLACK_API_URL
    if not api_url.startswith(("http://", "https://")):
        problems.append("SLACK_API_URL must be an http(s) URL")
    try:
        database_url = database_url_from_env(env)
    except SettingsError as exc:
        problems.append(str(exc))
        database_url = DEFAULT_DATABASE_URL
    lease = _seconds(env, "LEADBOT_OUTBOX_LEASE_SECONDS", 120.0, 1, 3600, problems)
    max_backoff = _seconds(env, "LEADBOT_OUTBOX_MAX_BACKOFF_SECONDS", 30.0, 1, 3600, problems)
    if problems:
        raise SettingsError("; ".join(problems))
    return Settings(
        slack_bot_token=token,
        slack_signing_secret=secret,
        slack_app_token=app_token,
        slack_api_url=api_url if api_url.endswith("/") else api_url + "/",
        database_url=database_url,
        config_path=config_path_from_env(env),
        outbox_lease_seconds=lease,
        outbox_max_backoff_seconds=max_backoff,
    )


def _seconds(
    env: Mapping[str, str],
    name: str,
    default: float,
    low: float,
    high: float,
    problems: list[str],
) -> float:
    """A number of seconds from `env[name]` within [low, high]; a problem is noted otherwise."""
    text = env.get(name, "").strip()
    if not text:
        return default
    try:
        value = float(text)
        if not low <= value <= high:
            raise ValueError
    except ValueError:
        problems.append(f"{name} must be a number of seconds from {low:g} to {high:g}")
        return default
    return value

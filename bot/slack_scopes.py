"""The OAuth scopes leadbot's Slack app asks for: one list for the manifest and the sandbox.

Tests and the demo run the sandbox with exactly these scopes, so a Web API call
the real app would be refused (`missing_scope`) is refused in tests too.
`docs/slack-app-manifest.yaml` must list the same ones (a test checks).
"""

from __future__ import annotations

BOT_SCOPES: tuple[str, ...] = (
    "chat:write",
    "chat:write.public",
    "commands",
    "im:write",
    "users:read",
    "users:read.email",
    "channels:read",
    "groups:read",
    "channels:history",
    "groups:history",
    "im:history",
    "app_mentions:read",
    "files:write",
    "reactions:write",
)

"""Which token may call which method (contract checklist item 1).

Slack tells token kinds apart by prefix: `xoxb-` bot, `xoxp-` user, `xapp-`
app-level. Bot methods refuse an app token, and `apps.connections.open`
(Socket Mode) accepts nothing else.

Socket Mode itself is not emulated: with the app token the sandbox was given,
`apps.connections.open` answers `socket_mode_not_emulated` (a sandbox-only
code) where Slack would hand out a `wss://` URL, so a bot configured for
Socket Mode fails loudly instead of waiting on a socket nobody serves.
"""

from __future__ import annotations

from typing import Any

from sandbox.api_common import ApiContext, ApiError, Args, Method

APP_TOKEN_PREFIX = "xapp-"
SOCKET_MODE_METHOD = "apps.connections.open"


def check_token(method: str, token: str, bot_token: str, app_token: str | None) -> None:
    """Raise Slack's auth error for `token` on `method`; return when it may call it.

    User tokens (`xoxp-`) are unknown to the sandbox, so they get `invalid_auth`.
    """
    if method == SOCKET_MODE_METHOD:
        if token == bot_token:
            raise ApiError("not_allowed_token_type")
        if app_token is None or token != app_token:
            raise ApiError("invalid_auth")
        return
    if token.startswith(APP_TOKEN_PREFIX):
        raise ApiError("not_allowed_token_type")
    if token != bot_token:
        raise ApiError("invalid_auth")


def connections_open(ctx: ApiContext, args: Args) -> dict[str, Any]:
    raise ApiError("socket_mode_not_emulated")


METHODS: dict[str, Method] = {SOCKET_MODE_METHOD: Method(connections_open)}

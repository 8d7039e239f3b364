"""Web API dispatch: auth, scopes and rate limits in front of the method handlers.

Kept free of HTTP so the order of Slack's checks reads top to bottom:
unknown method, token, scope, rate limit, then the method's own rules.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from sandbox import api_chat, api_conversations, api_files, api_reactions, api_views, tokens
from sandbox.api_common import ApiContext, ApiError, Args, Method
from sandbox.ratelimit import RateLimiter

METHODS: Mapping[str, Method] = {
    **api_chat.METHODS,
    **api_conversations.METHODS,
    **api_files.METHODS,
    **api_reactions.METHODS,
    **api_views.METHODS,
    **tokens.METHODS,
}


@dataclass(frozen=True)
class ApiResult:
    """A finished answer: HTTP status, JSON body and extra headers."""

    status: int
    body: dict[str, Any]
    headers: dict[str, str] = field(default_factory=dict)


class WebApi:
    """Answers one Web API call for the single bot token the sandbox knows."""

    def __init__(
        self,
        ctx: ApiContext,
        token: str,
        limiter: RateLimiter | None,
        app_token: str | None = None,
    ) -> None:
        self.ctx = ctx
        self.token = token
        self.limiter = limiter
        self.app_token = app_token

    def call(self, method_name: str, args: dict[str, Any], token: str | None) -> ApiResult:
        scopes = ",".join(sorted(self.ctx.scopes))
        headers = {"x-oauth-scopes": scopes}
        method = METHODS.get(method_name)
        if method is not None:
            headers["x-accepted-oauth-scopes"] = ",".join(method.scopes)
        try:
            body = self._run(method_name, method, Args(args), token)
        except _RateLimited as limited:
            headers["Retry-After"] = str(limited.retry_after)
            return ApiResult(429, {"ok": False, "error": "ratelimited"}, headers)
        except ApiError as err:
            return ApiResult(200, err.body(), headers)
        return ApiResult(200, {"ok": True, **body}, headers)

    def _run(
        self, name: str, method: Method | None, args: Args, token: str | None
    ) -> dict[str, Any]:
        if method is None:
            raise ApiError("unknown_method")
        if not token:
            raise ApiError("not_authed")
        tokens.check_token(name, token, self.token, self.app_token)
        if method.scopes:
            self.ctx.require_scope(*method.scopes)
        if self.limiter is not None:
            retry_after = self.limiter.check(name, token, args.string("channel"))
            if retry_after is not None:
                raise _RateLimited(retry_after)
        return method.handler(self.ctx, args)


class _RateLimited(Exception):
    def __init__(self, retry_after: int) -> None:
        super().__init__(retry_after)
        self.retry_after = retry_after

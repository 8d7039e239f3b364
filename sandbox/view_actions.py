"""What a person does with a modal: submit it or close it, and what the bot's ack then does.

Slack applies the ack of a `view_submission` itself (contract §2): an empty
200 closes the view; `response_action` may instead show field errors, clear
the stack, update the view or push another one. A late, failed or malformed
ack leaves the modal open with an error, which the sandbox records on the
view so tests and the page can see it.
"""

from __future__ import annotations

import copy
import json
import urllib.parse
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from sandbox import api_views, payloads
from sandbox.api_common import ApiContext, ApiError
from sandbox.inbound import FORM, InboundSender
from sandbox.models import InboundResult, User
from sandbox.views import StoredView, missing_required, state_values

TROUBLE = "We had some trouble connecting. Try again?"  # what Slack's client shows
REQUIRED = "This field is required."


@dataclass(frozen=True)
class ViewOutcome:
    """What became of a submission or close.

    `outcome` is one of: closed, cleared, errors, updated, pushed (the bot's
    ack applied); required_missing (Slack's client would not send it);
    failed (no timely 2xx ack); rejected (an ack Slack would not accept).
    `view` is the user's top modal afterwards, None when none is open.
    """

    outcome: str
    inbound: InboundResult | None
    view: dict[str, Any] | None
    errors: dict[str, str] = field(default_factory=dict)
    problem: str | None = None


class ViewActions:
    def __init__(
        self,
        ctx: ApiContext,
        sender: InboundSender,
        request_url: Callable[[], str | None],
        verification_token: str,
    ) -> None:
        self.ctx = ctx
        self.sender = sender
        self.request_url = request_url
        self.token = verification_token

    async def submit(
        self,
        user_id: str,
        values: dict[str, dict[str, Any]] | None = None,
        view_id: str | None = None,
    ) -> ViewOutcome:
        """Press Submit on the user's top modal (or `view_id`) with `values` filled in."""
        user, view = self._user(user_id), self._target(user_id, view_id)
        blocks = view.body["blocks"]
        state = state_values(blocks, values, view.body["state"]["values"])
        view.body["state"] = {"values": state}
        missing = missing_required(blocks, state)
        if missing:
            view.errors, view.problem = dict.fromkeys(missing, REQUIRED), None
            return self._outcome("required_missing", None, user_id, view)
        url = self._url()
        payload = payloads.view_submission(
            bot=self.ctx.workspace.bot,
            token=self.token,
            user=user,
            view=copy.deepcopy(view.body),
            trigger_id=self.ctx.triggers.issue(user_id),
        )
        body = urllib.parse.urlencode({"payload": json.dumps(payload)}).encode()
        result = await self.sender.post(url, body, FORM)
        return self._apply(view, result)

    async def close(self, user_id: str, view_id: str | None = None) -> ViewOutcome:
        """Press Cancel (or the x): closes the view, telling the bot if it asked to be told."""
        user, view = self._user(user_id), self._target(user_id, view_id)
        views = self.ctx.workspace.views
        cleared = bool(view.body["clear_on_close"])
        if cleared:
            views.clear(user_id)
        else:
            views.close(view)
        result = None
        if view.body["notify_on_close"]:
            payload = payloads.view_closed(
                bot=self.ctx.workspace.bot,
                token=self.token,
                user=user,
                view=copy.deepcopy(view.body),
                is_cleared=cleared,
            )
            body = urllib.parse.urlencode({"payload": json.dumps(payload)}).encode()
            result = await self.sender.post(self._url(), body, FORM)
        return self._outcome("cleared" if cleared else "closed", result, user_id, None)

    # -- applying the ack --------------------------------------------------

    def _apply(self, view: StoredView, result: InboundResult) -> ViewOutcome:
        views = self.ctx.workspace.views
        view.errors, view.problem = {}, None
        if not result.acked_in_time:
            return self._reject(view, result, TROUBLE, "failed")
        text = result.body.strip()
        try:
            answer = json.loads(text) if text else {}
        except ValueError:
            return self._reject(view, result, f"the ack is not JSON: {text[:200]!r}")
        if not isinstance(answer, dict):
            return self._reject(view, result, "the ack is not a JSON object")
        action = answer.get("response_action")
        try:
            if action is None:
                views.close(view)
                return self._outcome("closed", result, view.user_id, None)
            if action == "clear":
                views.clear(view.user_id)
                return self._outcome("cleared", result, view.user_id, None)
            if action == "errors":
                view.errors = self._field_errors(view, answer.get("errors"))
                return self._outcome("errors", result, view.user_id, view)
            if action == "update":
                views.replace(view, api_views.replacement_body(self.ctx, view, answer.get("view")))
                return self._outcome("updated", result, view.user_id, view)
            if action == "push":
                body = api_views.pushed_body(self.ctx, view, answer.get("view"))
                views.push(view.user_id, body)
                return self._outcome("pushed", result, view.user_id, view)
        except ApiError as err:
            detail = "; ".join(err.extra.get("response_metadata", {}).get("messages", []))
            return self._reject(view, result, f"{err.code}: {detail}" if detail else err.code)
        return self._reject(view, result, f"unknown response_action {action!r}")

    def _field_errors(self, view: StoredView, errors: object) -> dict[str, str]:
        """Slack only shows errors keyed by an input block of the submitted view."""
        inputs = {str(b.get("block_id")) for b in view.body["blocks"] if b.get("type") == "input"}
        if not isinstance(errors, dict) or not errors:
            raise ApiError("invalid_arguments", response_metadata={"messages": ["no errors"]})
        unknown = sorted(set(map(str, errors)) - inputs)
        if unknown or not all(isinstance(v, str) for v in errors.values()):
            messages = [f"errors must map input block_ids {sorted(inputs)} to strings: {unknown}"]
            raise ApiError("invalid_arguments", response_metadata={"messages": messages})
        return {str(k): str(v) for k, v in errors.items()}

    def _reject(
        self, view: StoredView, result: InboundResult, problem: str, outcome: str = "rejected"
    ) -> ViewOutcome:
        view.problem = problem
        return self._outcome(outcome, result, view.user_id, view)

    def _outcome(
        self, outcome: str, result: InboundResult | None, user_id: str, view: StoredView | None
    ) -> ViewOutcome:
        top = self.ctx.workspace.views.top(user_id)
        return ViewOutcome(
            outcome=outcome,
            inbound=result,
            view=top.to_json() if top else None,
            errors=dict(view.errors) if view else {},
            problem=view.problem if view else None,
        )

    # -- helpers -----------------------------------------------------------

    def _user(self, user_id: str) -> User:
        if user_id not in self.ctx.workspace.users:
            raise LookupError(f"unknown user {user_id}")
        return self.ctx.workspace.users[user_id]

    def _target(self, user_id: str, view_id: str | None) -> StoredView:
        stack = self.ctx.workspace.views.stack(user_id)
        for view in reversed(stack):
            if view_id is None or view.id == view_id:
                return view
        raise LookupError(f"{user_id} has no open modal {view_id or ''}".rstrip())

    def _url(self) -> str:
        url = self.request_url()
        if url is None:
            raise RuntimeError("sandbox.request_url is not set")
        return url

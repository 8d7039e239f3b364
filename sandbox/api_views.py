"""`views.*` methods: modals (open, push, update) and the Home tab (publish).

Slack's order of refusals is mostly undocumented; the sandbox checks the
trigger, then the view, then state (stack depth, hash), and only burns a
trigger when the call succeeds, so a bot's bad view is reported as such
rather than as `exchanged_trigger_id` on its retry.
"""

from __future__ import annotations

from typing import Any

from sandbox.api_common import ApiContext, ApiError, Args, Method
from sandbox.triggers import TriggerError
from sandbox.viewkit import ViewError, assemble, decode_view, validate_view
from sandbox.views import MAX_STACK, StoredView


def open_modal(ctx: ApiContext, args: Args) -> dict[str, Any]:
    """Open a root modal for the person whose interaction issued the trigger."""
    trigger = _trigger_id(args)
    _check_trigger(ctx, trigger)
    spec = _view(args, "modal")
    _unique_external_id(ctx, spec, None)
    user_id = _redeem(ctx, trigger)
    view_id = ctx.workspace.new_id("V0SB")
    view = ctx.workspace.views.open(user_id, _assemble(ctx, spec, view_id, None, None))
    return {"view": view.body}


def push(ctx: ApiContext, args: Args) -> dict[str, Any]:
    """Push onto the open stack; Slack allows three views in all."""
    trigger = _trigger_id(args)
    user_id = _check_trigger(ctx, trigger)
    spec = _view(args, "modal")
    _unique_external_id(ctx, spec, None)
    stack = ctx.workspace.views.stack(user_id)
    if not stack:
        # Unverified: Slack's code for a push with no modal open; the sandbox's choice.
        raise ApiError("not_found")
    if len(stack) >= MAX_STACK:
        raise ApiError("push_limit_reached")
    _redeem(ctx, trigger)
    below = stack[-1].body
    body = _assemble(ctx, spec, ctx.workspace.new_id("V0SB"), below["root_view_id"], below["id"])
    return {"view": ctx.workspace.views.push(user_id, body).body}


def update(ctx: ApiContext, args: Args) -> dict[str, Any]:
    """Replace a view in place (any depth); a stale `hash` loses the race."""
    view_id, external_id = args.string("view_id"), args.string("external_id")
    if view_id is None and external_id is None:
        raise ApiError(
            "invalid_arguments",
            response_metadata={"messages": ["[ERROR] view_id or external_id is required"]},
        )
    target = ctx.workspace.views.find(view_id, external_id)
    spec = _view(args, str(target.body["type"]) if target else "modal")
    if target is None:
        raise ApiError("not_found")
    _check_hash(target, args.string("hash"))
    _unique_external_id(ctx, spec, target)
    body = _replacement(ctx, target, spec)
    return {"view": ctx.workspace.views.replace(target, body).body}


def publish(ctx: ApiContext, args: Args) -> dict[str, Any]:
    """Set a user's Home tab; the view id stays the same across publishes."""
    user_id = args.string("user_id")
    if user_id is None:
        raise ApiError(
            "invalid_arguments",
            response_metadata={"messages": ["[ERROR] missing required field: user_id"]},
        )
    if user_id not in ctx.workspace.users:
        raise ApiError("user_not_found")
    if not ctx.home_tab_enabled:
        raise ApiError("not_enabled")
    spec = _view(args, "home")
    views = ctx.workspace.views
    current = views.homes.get(user_id)
    _unique_external_id(ctx, spec, current)
    if current is None:
        body = _assemble(ctx, spec, ctx.workspace.new_id("V0SB"), None, None)
        return {"view": views.publish(user_id, body).body}
    _check_hash(current, args.string("hash"))
    return {"view": views.replace(current, _replacement(ctx, current, spec)).body}


def replacement_body(ctx: ApiContext, target: StoredView, raw: object) -> dict[str, Any]:
    """A checked new body for `target` from a bot's answer (`response_action: update`)."""
    spec = _checked(raw, "modal")
    _unique_external_id(ctx, spec, target)
    return _replacement(ctx, target, spec)


def pushed_body(ctx: ApiContext, below: StoredView, raw: object) -> dict[str, Any]:
    """A checked body to push above `below` (`response_action: push`)."""
    spec = _checked(raw, "modal")
    _unique_external_id(ctx, spec, None)
    if len(ctx.workspace.views.stack(below.user_id)) >= MAX_STACK:
        raise ApiError("push_limit_reached")
    root = below.body["root_view_id"]
    return _assemble(ctx, spec, ctx.workspace.new_id("V0SB"), root, below.id)


# -- helpers ------------------------------------------------------------


def _trigger_id(args: Args) -> str:
    trigger = args.string("trigger_id") or args.string("interactivity_pointer")
    if trigger is None:
        raise ApiError(
            "invalid_arguments",
            response_metadata={"messages": ["[ERROR] missing required field: trigger_id"]},
        )
    return trigger


def _check_trigger(ctx: ApiContext, trigger: str) -> str:
    try:
        return ctx.triggers.check(trigger)
    except TriggerError as err:
        raise ApiError(err.code) from None


def _redeem(ctx: ApiContext, trigger: str) -> str:
    try:
        return ctx.triggers.redeem(trigger)
    except TriggerError as err:
        raise ApiError(err.code) from None


def _view(args: Args, kind: str) -> dict[str, Any]:
    return _checked(args.values.get("view"), kind)


def _checked(raw: object, kind: str) -> dict[str, Any]:
    try:
        spec = decode_view(raw)
        validate_view(spec, kind)
    except ViewError as err:
        raise ApiError(err.code, **err.extra()) from None
    return spec


def _check_hash(target: StoredView, given: str | None) -> None:
    if given is not None and given != target.body["hash"]:
        raise ApiError("hash_conflict")


def _unique_external_id(ctx: ApiContext, spec: dict[str, Any], itself: StoredView | None) -> None:
    external_id = spec.get("external_id")
    if external_id:
        other = ctx.workspace.views.find(external_id=external_id)
        if other is not None and other is not itself:
            raise ApiError("duplicate_external_id")


def _replacement(ctx: ApiContext, target: StoredView, spec: dict[str, Any]) -> dict[str, Any]:
    """The new body: same id and stack links, a new hash, input state kept as Slack does."""
    old = target.body
    body = _assemble(ctx, spec, old["id"], old["root_view_id"], old["previous_view_id"])
    body["state"] = old["state"]
    return body


def _assemble(
    ctx: ApiContext,
    spec: dict[str, Any],
    view_id: str,
    root_view_id: str | None,
    previous_view_id: str | None,
) -> dict[str, Any]:
    ws = ctx.workspace
    return assemble(
        spec,
        bot=ws.bot,
        view_id=view_id,
        view_hash=ws.views.new_hash(),
        root_view_id=root_view_id,
        previous_view_id=previous_view_id,
        new_id=ws.new_id,
    )


METHODS: dict[str, Method] = {
    "views.open": Method(open_modal),
    "views.push": Method(push),
    "views.update": Method(update),
    "views.publish": Method(publish),
}

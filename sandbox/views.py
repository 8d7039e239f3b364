"""Open modals and published Home tabs, per user, and what a form holds when submitted.

State only: the `views.*` methods decide Slack's error codes and the
submission flow decides what a bot's answer does; this module keeps the
stacks consistent (root and previous ids, at most three deep) and turns
"what the person typed" into Slack's `state.values` shape.
"""

from __future__ import annotations

import copy
import itertools
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

MAX_STACK = 3

# The key each stateful element reports its value under in `state.values`.
VALUE_KEYS = {
    "plain_text_input": "value",
    "email_text_input": "value",
    "url_text_input": "value",
    "number_input": "value",
    "static_select": "selected_option",
    "external_select": "selected_option",
    "radio_buttons": "selected_option",
    "multi_static_select": "selected_options",
    "multi_external_select": "selected_options",
    "checkboxes": "selected_options",
    "datepicker": "selected_date",
    "timepicker": "selected_time",
    "datetimepicker": "selected_date_time",
    "users_select": "selected_user",
    "multi_users_select": "selected_users",
    "conversations_select": "selected_conversation",
    "multi_conversations_select": "selected_conversations",
    "channels_select": "selected_channel",
    "multi_channels_select": "selected_channels",
}
_INITIAL_KEYS = {
    "value": "initial_value",
    "selected_option": "initial_option",
    "selected_options": "initial_options",
    "selected_date": "initial_date",
    "selected_time": "initial_time",
    "selected_date_time": "initial_date_time",
    "selected_user": "initial_user",
    "selected_users": "initial_users",
    "selected_conversation": "initial_conversation",
    "selected_conversations": "initial_conversations",
    "selected_channel": "initial_channel",
    "selected_channels": "initial_channels",
}
_LISTS = frozenset(
    {"selected_options", "selected_users", "selected_conversations", "selected_channels"}
)


@dataclass
class StoredView:
    """One view as `views.*` return it, plus what the sandbox shows about its last submission."""

    user_id: str
    body: dict[str, Any]
    errors: dict[str, str] = field(default_factory=dict)
    problem: str | None = None

    @property
    def id(self) -> str:
        return str(self.body["id"])

    def to_json(self) -> dict[str, Any]:
        return {**copy.deepcopy(self.body), "errors": dict(self.errors), "problem": self.problem}


class ViewStore:
    """Each user's modal stack (bottom first) and Home tab."""

    def __init__(self, wall_clock: Callable[[], float]) -> None:
        self.stacks: dict[str, list[StoredView]] = {}
        self.homes: dict[str, StoredView] = {}
        self._wall_clock = wall_clock
        self._hashes = itertools.count(1)

    def new_hash(self) -> str:
        """Slack-shaped (`1569362015.55b5e41b`) and never repeated, so every change shows."""
        return f"{int(self._wall_clock())}.{next(self._hashes):08x}"

    def stack(self, user_id: str) -> list[StoredView]:
        return self.stacks.get(user_id, [])

    def top(self, user_id: str) -> StoredView | None:
        stack = self.stack(user_id)
        return stack[-1] if stack else None

    def find(self, view_id: str | None = None, external_id: str | None = None) -> StoredView | None:
        """A modal or Home view by id or by the developer's `external_id`."""
        views = [v for s in self.stacks.values() for v in s] + list(self.homes.values())
        for view in views:
            if view_id is not None and view.id == view_id:
                return view
            if external_id is not None and view.body.get("external_id") == external_id:
                return view
        return None

    def open(self, user_id: str, body: dict[str, Any]) -> StoredView:
        """A new root modal; anything the user had open is replaced."""
        view = StoredView(user_id, body)
        self.stacks[user_id] = [view]
        return view

    def push(self, user_id: str, body: dict[str, Any]) -> StoredView:
        view = StoredView(user_id, body)
        self.stacks.setdefault(user_id, []).append(view)
        return view

    def replace(self, old: StoredView, body: dict[str, Any]) -> StoredView:
        """Swap a view's content in place; its position and ids stay."""
        old.body = body
        old.errors = {}
        old.problem = None
        return old

    def close(self, view: StoredView) -> list[StoredView]:
        """Close `view` and anything pushed above it; returns what closed, top first."""
        stack = self.stack(view.user_id)
        at = stack.index(view)
        closed = stack[at:][::-1]
        del stack[at:]
        return closed

    def clear(self, user_id: str) -> list[StoredView]:
        return self.stacks.pop(user_id, [])[::-1]

    def publish(self, user_id: str, body: dict[str, Any]) -> StoredView:
        view = StoredView(user_id, body)
        self.homes[user_id] = view
        return view

    def snapshot(self) -> dict[str, list[dict[str, Any]]]:
        """Per user: the Home view (if any), then open modals bottom to top."""
        users = set(self.stacks) | set(self.homes)
        out: dict[str, list[dict[str, Any]]] = {}
        for user_id in sorted(users):
            home = [self.homes[user_id]] if user_id in self.homes else []
            out[user_id] = [v.to_json() for v in home + self.stack(user_id)]
        return {k: v for k, v in out.items() if v}


def state_values(
    blocks: list[dict[str, Any]],
    given: dict[str, dict[str, Any]] | None,
    previous: dict[str, dict[str, Any]] | None = None,
) -> dict[str, dict[str, Any]]:
    """`state.values` for a submission: given values, else what was there, else initials.

    `given` is `{block_id: {action_id: value}}` where a select or radio value is
    the option's `value`, checkboxes take a list of values and a date picker a
    `YYYY-MM-DD` string. Unknown ids raise ValueError: a test typo, not a payload.
    """
    elements = {bid: els for bid, els in _stateful(blocks).items() if els}
    for block_id, actions in (given or {}).items():
        if block_id not in elements:
            raise ValueError(f"no input block {block_id!r}; blocks: {sorted(elements)}")
        for action_id in actions:
            if action_id not in elements[block_id]:
                raise ValueError(f"no element {action_id!r} in block {block_id!r}")
    values: dict[str, dict[str, Any]] = {}
    for block_id, by_action in elements.items():
        for action_id, element in by_action.items():
            key = VALUE_KEYS[element["type"]]
            if given and action_id in given.get(block_id, {}):
                value = _from_given(element, key, given[block_id][action_id])
            elif previous and action_id in previous.get(block_id, {}):
                value = previous[block_id][action_id].get(key)
            else:
                value = copy.deepcopy(element.get(_INITIAL_KEYS[key]))
            if value is None and key in _LISTS:
                value = []
            values.setdefault(block_id, {})[action_id] = {"type": element["type"], key: value}
    return values


def missing_required(blocks: list[dict[str, Any]], values: dict[str, dict[str, Any]]) -> list[str]:
    """Block ids of required inputs left empty; Slack's client refuses to submit those."""
    missing = []
    for block in blocks:
        if block.get("type") != "input" or block.get("optional"):
            continue
        element = block.get("element") or {}
        entry = values.get(str(block.get("block_id")), {}).get(str(element.get("action_id")), {})
        if all(v in (None, "", []) for k, v in entry.items() if k != "type"):
            missing.append(str(block.get("block_id")))
    return missing


def _stateful(blocks: list[dict[str, Any]]) -> dict[str, dict[str, dict[str, Any]]]:
    """Per block_id, the elements that keep state, by action_id."""
    found: dict[str, dict[str, dict[str, Any]]] = {}
    for block in blocks:
        candidates: list[Any] = []
        if block.get("type") == "input":
            candidates.append(block.get("element"))
        elif block.get("type") == "actions":
            candidates += block.get("elements") or []
        elif block.get("type") == "section":
            candidates.append(block.get("accessory"))
        found[str(block.get("block_id"))] = {
            str(e.get("action_id")): e
            for e in candidates
            if isinstance(e, dict) and e.get("type") in VALUE_KEYS
        }
    return found


def _from_given(element: dict[str, Any], key: str, value: Any) -> Any:
    if key == "selected_option":
        return None if value in (None, "") else _option(element, value)
    if key == "selected_options":
        return [_option(element, v) for v in (value or [])]
    return value


def _option(element: dict[str, Any], value: Any) -> dict[str, Any]:
    """The option whose `value` matches, as Slack echoes it."""
    if isinstance(value, dict):
        return value
    options = list(element.get("options") or [])
    for group in element.get("option_groups") or []:
        options += group.get("options") or []
    for option in options:
        if option.get("value") == value:
            return copy.deepcopy(option)
    raise ValueError(
        f"no option with value {value!r}; options: {[o.get('value') for o in options]}"
    )

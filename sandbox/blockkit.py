"""Block Kit validation, because slack_sdk never checks plain-dict blocks.

Limits follow contract §4. Error strings mimic Slack's: a reason followed by
`[json-pointer:/blocks/…]`, so a failing test points at the offending field.
Pure: no I/O, no clock.
"""

from __future__ import annotations

import copy
import json
from collections.abc import Callable
from typing import Any

from sandbox import blockkit_inputs

BLOCK_TYPES = frozenset(
    {
        "section",
        "header",
        "context",
        "actions",
        "divider",
        "image",
        "rich_text",
        "markdown",
        "input",
        "file",
        "video",
        "context_actions",
    }
)
# Interactive elements the sandbox accepts: those an input block may hold, plus the ones
# it may not. Buttons and images are checked here, input elements in `blockkit_inputs`.
ELEMENT_TYPES = blockkit_inputs.INPUT_ELEMENT_TYPES | {
    "button",
    "image",
    "overflow",
    "workflow_button",
}
TEXT_TYPES = frozenset({"plain_text", "mrkdwn"})
MARKDOWN_TOTAL_MAX = 12_000


class BlocksFormatError(ValueError):
    """`blocks` is not a JSON array of objects: Slack's `invalid_blocks_format`."""


def decode_blocks(raw: object) -> list[dict[str, Any]]:
    """Accept a decoded list or a JSON string (form bodies carry a string)."""
    value = raw
    if isinstance(raw, str | bytes):
        try:
            value = json.loads(raw)
        except ValueError as exc:
            raise BlocksFormatError("blocks is not valid JSON") from exc
    if not isinstance(value, list) or not all(isinstance(b, dict) for b in value):
        raise BlocksFormatError("blocks must be an array of objects")
    return value


def validate_blocks(blocks: object, *, max_blocks: int = 50, path: str = "/blocks") -> list[str]:
    """Every Block Kit rule `blocks` breaks, as Slack-style error strings.

    `path` prefixes the json-pointers (views report `/view/blocks/…`)."""
    checker = _Checker()
    checker.blocks(blocks, path, max_blocks)
    return checker.errors


def validate_text_object(
    obj: object, path: str, max_len: int, *, plain_only: bool = False
) -> list[str]:
    """The text-object rules on their own, for fields outside blocks (view titles)."""
    checker = _Checker()
    checker.text(obj, path, max_len, plain_only=plain_only)
    return checker.errors


def slack_error_body(errors: list[str]) -> dict[str, Any]:
    """The `invalid_blocks` response body, carrying the errors both ways Slack does."""
    return {
        "ok": False,
        "error": "invalid_blocks",
        "errors": errors,
        "response_metadata": {"messages": [f"[ERROR] {e}" for e in errors]},
    }


def fill_missing_ids(
    blocks: list[dict[str, Any]], new_id: Callable[[], str]
) -> list[dict[str, Any]]:
    """A copy with Slack's generated `block_id`/`action_id` where the sender left none.

    Slack stores and echoes these ids, so a click payload always carries both.
    """
    filled = copy.deepcopy(blocks)
    for block in filled:
        block.setdefault("block_id", new_id())
        for element in _interactive_elements(block):
            element.setdefault("action_id", new_id())
    return filled


def _interactive_elements(block: dict[str, Any]) -> list[dict[str, Any]]:
    found: list[dict[str, Any]] = []
    if block.get("type") in ("actions", "context_actions"):
        found.extend(e for e in block.get("elements") or [] if isinstance(e, dict))
    for key in ("accessory", "element"):
        if isinstance(block.get(key), dict):
            found.append(block[key])
    return [e for e in found if e.get("type") != "image"]


class _Checker:
    """Walks a block list, appending one error per broken rule."""

    def __init__(self) -> None:
        self.errors: list[str] = []
        self._markdown_total = 0

    def fail(self, reason: str, path: str) -> None:
        self.errors.append(f"{reason} [json-pointer:{path}]")

    # -- generic helpers -------------------------------------------------

    def string(self, value: object, path: str, max_len: int, *, min_len: int = 0) -> bool:
        if not isinstance(value, str):
            self.fail("must provide a string", path)
            return False
        if len(value) > max_len:
            self.fail(f"must be less than {max_len + 1} characters", path)
        elif len(value) < min_len:
            self.fail(f"must be more than {min_len - 1} characters", path)
        return True

    def array(self, value: object, path: str, max_items: int, *, min_items: int = 1) -> list[Any]:
        if not isinstance(value, list):
            self.fail("must provide an array", path)
            return []
        if len(value) > max_items:
            self.fail(f"no more than {max_items} items allowed", path)
        elif len(value) < min_items:
            self.fail(f"must provide at least {min_items} items", path)
        return value

    def text(
        self, obj: object, path: str, max_len: int = 3000, *, plain_only: bool = False
    ) -> None:
        if not isinstance(obj, dict):
            self.fail("must provide an object", path)
            return
        kind = obj.get("type")
        if kind not in TEXT_TYPES:
            self.fail("must be a valid enum value: mrkdwn, plain_text", f"{path}/type")
        elif plain_only and kind != "plain_text":
            self.fail("must be a plain_text text object", f"{path}/type")
        if "text" not in obj:
            self.fail("missing required field: text", path)
        else:
            self.string(obj["text"], f"{path}/text", max_len, min_len=1)
        if kind == "mrkdwn" and "emoji" in obj:
            self.fail("emoji is only allowed on plain_text", f"{path}/emoji")

    # -- blocks ----------------------------------------------------------

    def blocks(self, blocks: object, path: str, max_blocks: int) -> None:
        items = self.array(blocks, path, max_blocks, min_items=0)
        seen_ids: set[str] = set()
        for i, block in enumerate(items):
            bpath = f"{path}/{i}"
            if not isinstance(block, dict):
                self.fail("must provide an object", bpath)
                continue
            block_id = block.get("block_id")
            if block_id is not None and self.string(block_id, f"{bpath}/block_id", 255):
                if block_id in seen_ids:
                    self.fail(f"duplicate block_id: {block_id}", f"{bpath}/block_id")
                seen_ids.add(block_id)
            kind = block.get("type")
            if kind is None:
                self.fail("missing required field: type", bpath)
            elif kind not in BLOCK_TYPES:
                self.fail(f"unsupported type: {kind}", f"{bpath}/type")
            else:
                getattr(self, f"block_{kind}", _no_check)(block, bpath)

    def block_section(self, block: dict[str, Any], path: str) -> None:
        if "text" not in block and "fields" not in block:
            self.fail("must provide text or fields", path)
        if "text" in block:
            self.text(block["text"], f"{path}/text")
        if "fields" in block:
            for j, field in enumerate(self.array(block["fields"], f"{path}/fields", 10)):
                self.text(field, f"{path}/fields/{j}", 2000)
        if "accessory" in block:
            self.element(block["accessory"], f"{path}/accessory")

    def block_header(self, block: dict[str, Any], path: str) -> None:
        if "text" not in block:
            self.fail("missing required field: text", path)
        else:
            self.text(block["text"], f"{path}/text", 150, plain_only=True)

    def block_context(self, block: dict[str, Any], path: str) -> None:
        for j, element in enumerate(self.array(block.get("elements"), f"{path}/elements", 10)):
            epath = f"{path}/elements/{j}"
            if isinstance(element, dict) and element.get("type") == "image":
                self.image_element(element, epath)
            else:
                self.text(element, epath)

    def block_actions(self, block: dict[str, Any], path: str) -> None:
        self.elements(block.get("elements"), f"{path}/elements", 25)

    def block_context_actions(self, block: dict[str, Any], path: str) -> None:
        self.elements(block.get("elements"), f"{path}/elements", 5)

    def block_image(self, block: dict[str, Any], path: str) -> None:
        if "image_url" not in block and "slack_file" not in block:
            self.fail("must provide image_url or slack_file", path)
        if "image_url" in block:
            self.string(block["image_url"], f"{path}/image_url", 3000, min_len=1)
        if "alt_text" not in block:
            self.fail("missing required field: alt_text", path)
        else:
            self.string(block["alt_text"], f"{path}/alt_text", 2000, min_len=1)
        if "title" in block:
            self.text(block["title"], f"{path}/title", 2000, plain_only=True)

    def block_rich_text(self, block: dict[str, Any], path: str) -> None:
        self.array(block.get("elements"), f"{path}/elements", 100, min_items=0)

    def block_markdown(self, block: dict[str, Any], path: str) -> None:
        text = block.get("text")
        if self.string(text, f"{path}/text", MARKDOWN_TOTAL_MAX, min_len=1):
            assert isinstance(text, str)
            self._markdown_total += len(text)
            if self._markdown_total > MARKDOWN_TOTAL_MAX:
                self.fail(
                    f"markdown blocks must total less than {MARKDOWN_TOTAL_MAX + 1} characters",
                    f"{path}/text",
                )

    def block_input(self, block: dict[str, Any], path: str) -> None:
        if "label" not in block:
            self.fail("missing required field: label", path)
        else:
            self.text(block["label"], f"{path}/label", 2000, plain_only=True)
        if "hint" in block:
            self.text(block["hint"], f"{path}/hint", 2000, plain_only=True)
        if "element" not in block:
            self.fail("missing required field: element", path)
        else:
            self.element(block["element"], f"{path}/element")
            blockkit_inputs.check_input_block_element(self, block["element"], f"{path}/element")

    # -- elements --------------------------------------------------------

    def elements(self, value: object, path: str, max_items: int) -> None:
        action_ids: set[str] = set()
        for j, element in enumerate(self.array(value, path, max_items)):
            epath = f"{path}/{j}"
            self.element(element, epath)
            action_id = element.get("action_id") if isinstance(element, dict) else None
            if isinstance(action_id, str):
                if action_id in action_ids:
                    self.fail(f"duplicate action_id: {action_id}", f"{epath}/action_id")
                action_ids.add(action_id)

    def element(self, element: object, path: str) -> None:
        if not isinstance(element, dict):
            self.fail("must provide an object", path)
            return
        kind = element.get("type")
        if kind not in ELEMENT_TYPES:
            self.fail(f"unsupported type: {kind}", f"{path}/type")
            return
        if "action_id" in element:
            self.string(element["action_id"], f"{path}/action_id", 255, min_len=1)
        if kind == "button":
            self.button(element, path)
        elif kind == "image":
            self.image_element(element, path)
        elif kind in blockkit_inputs.INPUT_ELEMENT_TYPES:
            blockkit_inputs.check_element(self, kind, element, path)

    def button(self, element: dict[str, Any], path: str) -> None:
        if "text" not in element:
            self.fail("missing required field: text", path)
        else:
            self.text(element["text"], f"{path}/text", 75, plain_only=True)
        if "value" in element:
            self.string(element["value"], f"{path}/value", 2000)
        if "url" in element:
            self.string(element["url"], f"{path}/url", 3000, min_len=1)
        if "accessibility_label" in element:
            self.string(element["accessibility_label"], f"{path}/accessibility_label", 75)
        if "style" in element and element["style"] not in ("primary", "danger"):
            self.fail("must be a valid enum value: danger, primary", f"{path}/style")

    def image_element(self, element: dict[str, Any], path: str) -> None:
        if "image_url" not in element and "slack_file" not in element:
            self.fail("must provide image_url or slack_file", path)
        if "alt_text" not in element:
            self.fail("missing required field: alt_text", path)
        else:
            self.string(element["alt_text"], f"{path}/alt_text", 2000, min_len=1)


def _no_check(block: dict[str, Any], path: str) -> None:
    """Block types with nothing the sandbox checks (divider, file, video)."""

"""Block Kit rules for the input elements modals use (contract §4).

Split from `blockkit` to keep that module readable; it calls in here for
input blocks and for selects, pickers, radios and checkboxes wherever they
appear. Pure: no I/O, no clock.
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from sandbox.blockkit import _Checker

# Elements an input block may hold (a button may not).
INPUT_ELEMENT_TYPES = frozenset(
    {
        "plain_text_input",
        "email_text_input",
        "url_text_input",
        "number_input",
        "rich_text_input",
        "file_input",
        "static_select",
        "external_select",
        "users_select",
        "conversations_select",
        "channels_select",
        "multi_static_select",
        "multi_external_select",
        "multi_users_select",
        "multi_conversations_select",
        "multi_channels_select",
        "datepicker",
        "timepicker",
        "datetimepicker",
        "checkboxes",
        "radio_buttons",
    }
)
_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$")
_SELECTS = ("static_select", "multi_static_select")


def check_input_block_element(checker: _Checker, element: object, path: str) -> None:
    """An input block's element must be one of the input-capable types."""
    if isinstance(element, dict) and element.get("type") not in INPUT_ELEMENT_TYPES:
        checker.fail(f"unsupported input element type: {element.get('type')}", f"{path}/type")


def check_element(checker: _Checker, kind: str, element: dict[str, Any], path: str) -> None:
    """Rules for one input-type element (others are left to `blockkit`)."""
    if "placeholder" in element:
        checker.text(element["placeholder"], f"{path}/placeholder", 150, plain_only=True)
    if kind == "plain_text_input":
        _plain_text_input(checker, element, path)
    elif kind in _SELECTS:
        _static_select(checker, element, path)
    elif kind == "datepicker" and "initial_date" in element:
        value = element["initial_date"]
        if not isinstance(value, str) or not _DATE.match(value):
            checker.fail("must be a date in YYYY-MM-DD format", f"{path}/initial_date")
    elif kind in ("radio_buttons", "checkboxes"):
        options = checker.array(element.get("options"), f"{path}/options", 10)
        _options(checker, options, f"{path}/options", plain_only=False)


def _plain_text_input(checker: _Checker, element: dict[str, Any], path: str) -> None:
    if "initial_value" in element:
        checker.string(element["initial_value"], f"{path}/initial_value", 3000)
    for key in ("min_length", "max_length"):
        value = element.get(key)
        if value is not None and (not isinstance(value, int) or not 0 <= value <= 3000):
            checker.fail("must be an integer from 0 to 3000", f"{path}/{key}")
    if "multiline" in element and not isinstance(element["multiline"], bool):
        checker.fail("must be a boolean", f"{path}/multiline")


def _static_select(checker: _Checker, element: dict[str, Any], path: str) -> None:
    if "options" not in element and "option_groups" not in element:
        checker.fail("must provide options or option_groups", path)
    if "options" in element:
        options = checker.array(element["options"], f"{path}/options", 100)
        _options(checker, options, f"{path}/options", plain_only=True)
    if "option_groups" in element:
        groups = checker.array(element["option_groups"], f"{path}/option_groups", 100)
        for g, group in enumerate(groups):
            gpath = f"{path}/option_groups/{g}"
            if not isinstance(group, dict):
                checker.fail("must provide an object", gpath)
                continue
            checker.text(group.get("label"), f"{gpath}/label", 75, plain_only=True)
            options = checker.array(group.get("options"), f"{gpath}/options", 100)
            _options(checker, options, f"{gpath}/options", plain_only=True)


def _options(checker: _Checker, options: list[Any], path: str, *, plain_only: bool) -> None:
    for i, option in enumerate(options):
        opath = f"{path}/{i}"
        if not isinstance(option, dict):
            checker.fail("must provide an object", opath)
            continue
        checker.text(option.get("text"), f"{opath}/text", 75, plain_only=plain_only)
        # Option value: the SDK allows 150, a Node doc comment says 75; the looser one wins.
        checker.string(option.get("value"), f"{opath}/value", 150, min_len=1)
        if "description" in option:
            checker.text(option["description"], f"{opath}/description", 75)

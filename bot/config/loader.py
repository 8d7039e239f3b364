"""Reading a configuration file: YAML in, a checked ``LeadbotConfig`` out, or every problem.

Each problem carries the file, the line, a path such as ``queues[1].reps[2]``
and a message that says what was expected and what was found: the YAML is
parsed once keeping node positions, and pydantic's errors are translated
into those words here.
"""

from __future__ import annotations

import difflib
import os
import types
from pathlib import Path
from typing import Annotated, Any, Union, get_args, get_origin

import yaml
from pydantic import BaseModel, ValidationError

from bot.config.fields import ONE, OWN_MESSAGE_TYPES, UNION_TAGS
from bot.config.problems import ConfigError, ConfigProblem, Loc, _Refs, _show, format_path
from bot.config.sections import LeadbotConfig

EXAMPLE_CONFIG_PATH = Path(__file__).parent.parent / "example-config.yaml"


class _Loader(yaml.SafeLoader):
    """PyYAML's safe loader, leaving dates and times as the text written.

    PyYAML turns ``2026-12-25`` into a date itself and raises a bare
    ValueError, with no line, for ``2026-13-01``; the fields that take a
    date read the text instead, so a bad one is a located problem.
    """


def _timestamp_as_text(loader: _Loader, node: yaml.Node) -> str:
    assert isinstance(node, yaml.ScalarNode)  # the timestamp resolver matches scalars only
    return str(loader.construct_scalar(node))


_Loader.add_constructor("tag:yaml.org,2002:timestamp", _timestamp_as_text)


def load_config(path: str | os.PathLike[str]) -> LeadbotConfig:
    """Read and validate a configuration file; ConfigError lists every problem."""
    source = str(path)
    try:
        raw = Path(path).read_bytes()
    except FileNotFoundError:
        raise ConfigError([ConfigProblem("", None, "file not found", source)]) from None
    except IsADirectoryError:
        raise ConfigError([ConfigProblem("", None, "is a directory, not a file", source)]) from None
    except OSError as exc:
        reason = exc.strerror or str(exc)
        raise ConfigError([ConfigProblem("", None, f"cannot read: {reason}", source)]) from None
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line = raw[: exc.start].count(b"\n") + 1
        message = f"not UTF-8 text (byte 0x{raw[exc.start]:02x}); save the file as UTF-8"
        raise ConfigError([ConfigProblem("", line, message, source)]) from None
    return parse_config(text, source=source)


def parse_config(text: str, source: str = "<string>") -> LeadbotConfig:
    """Validate configuration text; ``source`` names it in problems."""
    lines, data, problems = _read_yaml(text, source)
    try:
        config = LeadbotConfig.model_validate(data)
    except ValidationError as exc:
        problems += _translate(exc, lines, source)
    if problems:
        problems.sort(key=lambda p: p.line or 0)
        raise ConfigError(problems)
    return config


def _read_yaml(
    text: str, source: str
) -> tuple[dict[Loc, int], dict[str, Any], list[ConfigProblem]]:
    """Parse once, keeping node positions so problems can name their line."""
    sections = ", ".join(sorted(LeadbotConfig.model_fields))
    try:
        loader = _Loader(text)  # checks for forbidden characters up front
        try:
            node = loader.get_single_node()
            if node is None:
                message = f"the file is empty; expected a mapping with {sections}"
                raise _whole_file(source, 1, message)
            lines, problems = _index_lines(node, source)  # before merge keys are rewritten
            data = loader.construct_document(node)
        finally:
            loader.dispose()
    except yaml.MarkedYAMLError as exc:
        raise _whole_file(source, _mark_line(exc.problem_mark), _yaml_message(exc)) from None
    except yaml.reader.ReaderError as exc:
        line = text[: exc.position].count("\n") + 1
        message = f"contains a character YAML does not allow (U+{exc.character:04X}); remove it"
        raise _whole_file(source, line, message) from None
    except yaml.YAMLError as exc:
        raise _whole_file(source, None, f"invalid YAML: {exc}") from None
    if not isinstance(data, dict):
        message = f"the top level must be a mapping with {sections} (got {_show(data)})"
        raise _whole_file(source, lines[()], message)
    return lines, data, problems


def _whole_file(source: str, line: int | None, message: str) -> ConfigError:
    return ConfigError([ConfigProblem("", line, message, source)])


def _mark_line(mark: yaml.Mark | None) -> int | None:
    return None if mark is None else mark.line + 1


def _yaml_message(exc: yaml.MarkedYAMLError) -> str:
    message = f"invalid YAML: {exc.problem or exc.context}"
    if exc.problem and exc.context:
        start = _mark_line(exc.context_mark)
        message += f" ({exc.context}" + (f"; see line {start})" if start else ")")
    if exc.problem and "'\\t'" in exc.problem:
        message += "; indent with spaces, not tabs"
    return message


_MERGE_TAG = "tag:yaml.org,2002:merge"


def _index_lines(root: yaml.Node, source: str) -> tuple[dict[Loc, int], list[ConfigProblem]]:
    """Map each key path to its 1-based line, and report duplicate keys.

    PyYAML keeps the last of two equal keys without a word, which hides
    whole sections, so a duplicate is a problem here.  A node reached twice
    through an alias is indexed once; later uses fall back to the alias line.
    """
    lines: dict[Loc, int] = {(): root.start_mark.line + 1}
    problems: list[ConfigProblem] = []
    seen: set[int] = set()
    todo: list[tuple[Loc, yaml.Node]] = [((), root)]
    while todo:
        loc, node = todo.pop()
        if id(node) in seen:
            continue
        seen.add(id(node))
        if isinstance(node, yaml.MappingNode):
            first: dict[str, int] = {}
            for key_node, value_node in node.value:
                if not isinstance(key_node, yaml.ScalarNode) or key_node.tag == _MERGE_TAG:
                    continue
                key, line = key_node.value, key_node.start_mark.line + 1
                if key in first:
                    message = f"duplicate key {key!r} (first at line {first[key]}); keep one"
                    problems.append(ConfigProblem(format_path((*loc, key)), line, message, source))
                else:
                    first[key] = line
                lines[(*loc, key)] = line  # the last one wins, as in the loaded data
                todo.append(((*loc, key), value_node))
        elif isinstance(node, yaml.SequenceNode):
            for i, item in enumerate(node.value):
                lines[(*loc, i)] = item.start_mark.line + 1
                todo.append(((*loc, i), item))
    return lines, problems


def _line_for(loc: Loc, lines: dict[Loc, int]) -> int:
    """The line of ``loc`` or, if it is not in the file (a missing key), of its parent."""
    while loc not in lines:
        loc = loc[:-1]
    return lines[loc]


def _translate(exc: ValidationError, lines: dict[Loc, int], source: str) -> list[ConfigProblem]:
    problems: list[ConfigProblem] = []
    for err in exc.errors():
        # A value that may be written two ways (``OneOrMany``) is located as written.
        loc: Loc = tuple(part for part in err["loc"] if part not in UNION_TAGS)
        if loc and loc[-1] == "[key]":  # a mapping's key, such as a region's name
            loc = loc[:-1]
        cause = (err.get("ctx") or {}).get("error")
        if isinstance(cause, _Refs):
            for rel, message in cause.items:
                full = (*loc, *rel)
                problems.append(
                    ConfigProblem(format_path(full), _line_for(full, lines), message, source)
                )
        elif err["type"] == "invalid_key":  # loc ends with the offending key, e.g. 5
            parent = loc[:-1]
            line = _line_for((*parent, str(loc[-1])), lines)
            message = f"keys must be text (got {_show(loc[-1])})"
            problems.append(ConfigProblem(format_path(parent), line, message, source))
        else:
            message = _message(err["type"], err["msg"], err.get("ctx") or {}, err["input"], loc)
            if err["type"] == "model_type" and err["loc"][-1:] == (ONE,):
                message = f"must be a mapping or a list of mappings (got {_show(err['input'])})"
            problems.append(ConfigProblem(format_path(loc), _line_for(loc, lines), message, source))
    return problems


_TYPE_WORDS = {
    "string_type": "text",
    "int_type": "a whole number",
    "int_parsing": "a whole number",
    "int_from_float": "a whole number",
    "bool_type": "true or false",
    "bool_parsing": "true or false",
    "list_type": "a list",
    "tuple_type": "a list",
    "model_type": "a mapping",
    "model_attributes_type": "a mapping",
    "dict_type": "a mapping",
    "float_type": "a number",
    "float_parsing": "a number",
}

_SECRET_WORDS = ("token", "secret", "password", "api_key")


def _message(kind: str, msg: str, ctx: dict[str, Any], found: object, loc: Loc) -> str:
    """Turn one pydantic error into "what was expected (got what was found)"."""
    got = _show(found)
    if kind == "missing":
        return "is required but missing"
    if kind == "extra_forbidden":
        key = str(loc[-1])
        allowed = sorted(_keys(_model_at(loc[:-1])))
        text = f"unknown key {key!r} (allowed: {', '.join(allowed)})"
        close = difflib.get_close_matches(key, allowed, n=1)
        if close:
            text += f"; did you mean {close[0]!r}?"
        elif any(word in key.lower() for word in _SECRET_WORDS):
            text += "; secrets come from environment variables, not this file"
        return text
    if kind in _TYPE_WORDS:
        text = f"must be {_TYPE_WORDS[kind]} (got {got})"
        if kind == "string_type" and isinstance(found, bool | int | float):
            text += "; put the value in quotes"  # YAML reads NO as false, 0123 as a number
        return text
    if kind == "greater_than":
        return f"must be more than {ctx['gt']:g} (got {got})"
    if kind == "greater_than_equal":
        return f"must be at least {ctx['ge']} (got {got})"
    if kind == "less_than_equal":
        return f"must be at most {ctx['le']} (got {got})"
    if kind == "string_too_short":
        return "must not be empty" if ctx["min_length"] == 1 else f"is too short (got {got})"
    if kind == "string_too_long":
        return f"must be at most {ctx['max_length']} characters (got {len(str(found))})"
    if kind == "too_long":
        return f"must have at most {ctx['max_length']} items (got {ctx['actual_length']})"
    if kind == "too_short":
        n, actual = ctx["min_length"], ctx.get("actual_length", 0)
        return f"must have at least {n} item{'s' if n != 1 else ''} (got {actual})"
    if kind in ("literal_error", "enum"):
        return f"must be one of {ctx['expected']} (got {got})"
    if kind == "value_error":
        return msg.removeprefix("Value error, ")
    if kind in OWN_MESSAGE_TYPES:
        return msg  # our own messages already say what was found
    return f"{msg} (got {got})"


def _model_at(loc: Loc) -> type[BaseModel]:
    """The section model that validates the mapping at ``loc``."""
    tp: Any = LeadbotConfig
    for part in loc:
        if isinstance(part, str):
            tp = _keys(_unwrap(tp))[part].annotation
        else:
            tp = get_args(_unwrap(tp, sequence=True))[0]
    model: type[BaseModel] = _unwrap(tp)
    return model


def _keys(model: type[BaseModel]) -> dict[str, Any]:
    """A model's fields by the key written in the file (``in`` for the field ``in_``)."""
    return {info.alias or name: info for name, info in model.model_fields.items()}


def _unwrap(tp: Any, sequence: bool = False) -> Any:
    """Strip ``Annotated[...]`` and ``X | None`` down to X.

    Of a union of one item or a list (``OneOrMany``), the list when
    ``sequence`` (the location goes on with an index), else the item.
    """
    while True:
        origin = get_origin(tp)
        if origin is Annotated:
            tp = get_args(tp)[0]
        elif origin in (Union, types.UnionType):
            options = [a for a in get_args(tp) if a is not type(None)]
            lists = [a for a in options if get_origin(_unwrap(a)) in (tuple, list)]
            tp = (lists if sequence and lists else options)[0]
        else:
            return tp

"""The leadbot configuration file: YAML in, a frozen, cross-checked model out.

An operator edits one file (SPEC §11) and must be told exactly what is wrong
with it before anything starts, so every problem carries the file, the line,
a path such as ``queues[1].reps[2]`` and a message that says what was expected
and what was found.  Secrets never live here; they come from environment
variables, which the composition root reads.

To add a top-level section: write a ``_Section`` subclass and add it as a
field of ``LeadbotConfig``.  The allowed keys in "unknown key" messages come
from the models, so nothing else needs to change.  A check that spans items
is a field validator on the list that raises ``_Refs``, so each problem keeps
its own path and line; one that refers to another section (routing rules
naming queues, say) reads it from ``info.data``, so declare that section first.
Such checks run only once the items they look at are valid themselves.
"""

from __future__ import annotations

import difflib
import os
import re
import types
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated, Any, Union, get_args, get_origin
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import phonenumbers
import yaml
from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    Field,
    ValidationError,
    ValidationInfo,
    field_validator,
)
from pydantic_core import PydanticCustomError

EXAMPLE_CONFIG_PATH = Path(__file__).with_name("example-config.yaml")

Loc = tuple[str | int, ...]


# --------------------------------------------------------------------------- problems


@dataclass(frozen=True)
class ConfigProblem:
    """One thing wrong with a configuration file, located as precisely as we can."""

    path: str  # "queues[0].channel"; "" when the problem is about the whole file
    line: int | None  # 1-based; None when there is no line to point at (missing file)
    message: str
    source: str

    def __str__(self) -> str:
        where = self.source if self.line is None else f"{self.source}:{self.line}"
        return f"{where}: {self.path}: {self.message}" if self.path else f"{where}: {self.message}"


class ConfigError(Exception):
    """The configuration cannot be used; ``problems`` lists every reason found."""

    def __init__(self, problems: Sequence[ConfigProblem]) -> None:
        self.problems = list(problems)
        super().__init__("\n".join(str(p) for p in self.problems))


class _Refs(ValueError):
    """Several located problems raised from one validator.

    Pydantic reports a validator failure as one error at the validator's
    location; this carries (relative location, message) pairs through it so
    the loader can give each item its own path and line.  Raised outside the
    loader (a model built in code) it reads as one joined message.
    """

    def __init__(self, items: Sequence[tuple[Loc, str]]) -> None:
        self.items = list(items)
        super().__init__("; ".join(f"{format_path(loc) or '<here>'}: {m}" for loc, m in items))


def format_path(loc: Iterable[str | int]) -> str:
    """Render a location as ``queues[0].reps[1]``."""
    out = ""
    for part in loc:
        if isinstance(part, int):
            out += f"[{part}]"
        else:
            out += f".{part}" if out else str(part)
    return out


def _show(value: object) -> str:
    """How a found value appears in messages: YAML words, not Python reprs."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return str(value)
    if isinstance(value, str):
        return repr(value if len(value) <= 60 else value[:57] + "...")
    if isinstance(value, dict):
        return "a mapping"
    if isinstance(value, list | tuple):
        return "a list"
    return f"a {type(value).__name__}"


# --------------------------------------------------------------------------- field types


def _pattern(regex: str, what: str) -> Callable[[str], str]:
    compiled = re.compile(regex)

    def check(value: str) -> str:
        if not compiled.fullmatch(value):
            raise PydanticCustomError(
                "pattern", f"must be {what} (got {{got}})", {"got": _show(value)}
            )
        return value

    return check


def _check_timezone(value: str) -> str:
    try:
        ZoneInfo(value)
    except (ZoneInfoNotFoundError, ValueError, OSError):  # OSError: a directory such as "Europe"
        raise PydanticCustomError(
            "timezone",
            "must be an IANA timezone name like Europe/London or UTC (got {got})",
            {"got": _show(value)},
        ) from None
    return value


def _check_region(value: str) -> str:
    # The region is what phone numbers without a +country prefix are parsed
    # against, so "known to phonenumbers" is the test that matters.
    region = value.upper()
    if region not in phonenumbers.SUPPORTED_REGIONS:
        raise PydanticCustomError(
            "region",
            "must be a two-letter ISO 3166 country code like US or GB (got {got})",
            {"got": _show(value)},
        )
    return region


SlackUserId = Annotated[
    str, AfterValidator(_pattern(r"[UW][A-Z0-9]{2,}", "a Slack user id like U0123ABCD"))
]
SlackChannelId = Annotated[
    str, AfterValidator(_pattern(r"[CG][A-Z0-9]{2,}", "a Slack channel id like C0123ABCD"))
]
Slug = Annotated[
    str,
    AfterValidator(
        _pattern(
            r"[a-z0-9][a-z0-9_-]{0,39}",
            "a short id of lowercase letters, digits, '-' and '_' (at most 40, like 'sales')",
        )
    ),
]
Timezone = Annotated[str, AfterValidator(_check_timezone)]
Region = Annotated[str, AfterValidator(_check_region)]
DisplayName = Annotated[str, Field(min_length=1, max_length=80)]


class _Section(BaseModel):
    """Shared settings: immutable, and a misspelt key is an error, not ignored."""

    model_config = ConfigDict(frozen=True, extra="forbid", str_strip_whitespace=True)


def _duplicates(values: Sequence[object]) -> Iterable[tuple[int, int]]:
    """Yield (index, index of first occurrence) for every repeated value."""
    first: dict[object, int] = {}
    for i, value in enumerate(values):
        if value in first:
            yield i, first[value]
        else:
            first[value] = i


# --------------------------------------------------------------------------- sections


class Workspace(_Section):
    """Settings that apply to the whole Slack workspace."""

    name: str = Field(default="leadbot", min_length=1, max_length=80)
    timezone: Timezone = "UTC"
    default_phone_region: Region = "US"


class Rep(_Section):
    """A sales rep who can be offered leads.

    ``timezone`` None means "the workspace timezone"; use
    ``LeadbotConfig.rep_timezone`` rather than reading it directly.
    """

    id: SlackUserId
    name: DisplayName
    timezone: Timezone | None = None
    capacity: int = Field(default=10, ge=1, strict=True)
    weight: int = Field(default=1, ge=1, le=10, strict=True)


class Queue(_Section):
    """A Slack channel with an ordered rotation of reps (SPEC §5)."""

    id: Slug
    name: DisplayName
    channel: SlackChannelId
    reps: tuple[SlackUserId, ...]
    exclusivity_seconds: int = Field(default=120, ge=0, strict=True)
    default: bool = Field(default=False, strict=True)

    @field_validator("reps")
    @classmethod
    def _rotation_is_a_set(cls, reps: tuple[str, ...]) -> tuple[str, ...]:
        # A rep listed twice would get twice the leads, silently.
        if not reps:
            raise _Refs([((), "must list at least one rep")])
        dup = [
            ((i,), f"rep {reps[i]!r} is already listed at reps[{j}]") for i, j in _duplicates(reps)
        ]
        if dup:
            raise _Refs(dup)
        return reps


class LeadbotConfig(_Section):
    """The whole configuration file, checked across sections."""

    workspace: Workspace = Workspace()
    managers: tuple[SlackUserId, ...] = ()
    reps: tuple[Rep, ...]
    queues: tuple[Queue, ...]

    @field_validator("reps")
    @classmethod
    def _rep_ids_unique(cls, reps: tuple[Rep, ...]) -> tuple[Rep, ...]:
        ids = [r.id for r in reps]
        dup = [
            ((i, "id"), f"rep id {ids[i]!r} is already used by reps[{j}]")
            for i, j in _duplicates(ids)
        ]
        if dup:
            raise _Refs(dup)
        return reps

    @field_validator("queues")
    @classmethod
    def _queues_consistent(
        cls, queues: tuple[Queue, ...], info: ValidationInfo
    ) -> tuple[Queue, ...]:
        if not queues:
            raise _Refs([((), "must define at least one queue")])
        found: list[tuple[Loc, str]] = []
        # info.data holds the fields declared above this one that validated;
        # when `reps` did not, its own errors are reported instead.
        if "reps" in info.data:
            known = {r.id for r in info.data["reps"]}
            found += [
                ((i, "reps", k), f"must be one of the reps defined under 'reps' (got {rep_id!r})")
                for i, q in enumerate(queues)
                for k, rep_id in enumerate(q.reps)
                if rep_id not in known
            ]
        for i, j in _duplicates([q.id for q in queues]):
            found.append(((i, "id"), f"queue id {queues[i].id!r} is already used by queues[{j}]"))
        for i, j in _duplicates([q.channel for q in queues]):
            found.append(
                ((i, "channel"), f"channel {queues[i].channel!r} is already used by queues[{j}]")
            )
        defaults = [i for i, q in enumerate(queues) if q.default]
        if len(queues) > 1 and not defaults:
            ids = ", ".join(q.id for q in queues)
            found.append(((), f"no queue is the default; add 'default: true' to one of: {ids}"))
        for i in defaults[1:]:
            first = defaults[0]
            found.append(
                (
                    (i, "default"),
                    f"only one queue may be the default; queues[{first}] "
                    f"({queues[first].id!r}) already is",
                )
            )
        if found:
            raise _Refs(found)
        if len(queues) == 1 and not queues[0].default:
            # The only queue is the default; say so, so `q.default` can be trusted.
            return (queues[0].model_copy(update={"default": True}),)
        return queues

    @property
    def default_queue(self) -> Queue:
        """The queue that catches leads no routing rule matches."""
        return next(q for q in self.queues if q.default)

    def queue(self, queue_id: str) -> Queue:
        """The queue with this id; KeyError if there is none."""
        for q in self.queues:
            if q.id == queue_id:
                return q
        raise KeyError(f"no queue {queue_id!r} in the configuration")

    def rep(self, rep_id: str) -> Rep:
        """The rep with this Slack user id; KeyError if there is none."""
        for r in self.reps:
            if r.id == rep_id:
                return r
        raise KeyError(f"no rep {rep_id!r} in the configuration")

    def rep_timezone(self, rep_id: str) -> ZoneInfo:
        """The rep's own timezone, or the workspace's when they have none."""
        return ZoneInfo(self.rep(rep_id).timezone or self.workspace.timezone)


# --------------------------------------------------------------------------- loading


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
        loader = yaml.SafeLoader(text)  # checks for forbidden characters up front
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
        loc: Loc = tuple(err["loc"])
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
}

_SECRET_WORDS = ("token", "secret", "password", "api_key")


def _message(kind: str, msg: str, ctx: dict[str, Any], found: object, loc: Loc) -> str:
    """Turn one pydantic error into "what was expected (got what was found)"."""
    got = _show(found)
    if kind == "missing":
        return "is required but missing"
    if kind == "extra_forbidden":
        key = str(loc[-1])
        allowed = sorted(_model_at(loc[:-1]).model_fields)
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
    if kind == "greater_than_equal":
        return f"must be at least {ctx['ge']} (got {got})"
    if kind == "less_than_equal":
        return f"must be at most {ctx['le']} (got {got})"
    if kind == "string_too_short":
        return "must not be empty" if ctx["min_length"] == 1 else f"is too short (got {got})"
    if kind == "string_too_long":
        return f"must be at most {ctx['max_length']} characters (got {len(str(found))})"
    if kind == "value_error":
        return msg.removeprefix("Value error, ")
    if kind in {"pattern", "timezone", "region"}:
        return msg  # our own messages already say what was found
    return f"{msg} (got {got})"


def _model_at(loc: Loc) -> type[BaseModel]:
    """The section model that validates the mapping at ``loc``."""
    tp: Any = LeadbotConfig
    for part in loc:
        tp = _unwrap(tp)
        tp = tp.model_fields[part].annotation if isinstance(part, str) else get_args(tp)[0]
    model: type[BaseModel] = _unwrap(tp)
    return model


def _unwrap(tp: Any) -> Any:
    """Strip ``Annotated[...]`` and ``X | None`` down to X."""
    while True:
        origin = get_origin(tp)
        if origin is Annotated:
            tp = get_args(tp)[0]
        elif origin in (Union, types.UnionType):
            tp = next(a for a in get_args(tp) if a is not type(None))
        else:
            return tp

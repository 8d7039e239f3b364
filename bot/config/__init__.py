"""The leadbot configuration file: YAML in, a frozen, cross-checked model out.

An operator edits one file (SPEC §11) and must be told exactly what is wrong
with it before anything starts, so every problem carries the file, the line,
a path such as ``queues[1].reps[2]`` and a message that says what was expected
and what was found.  Secrets never live here; they come from environment
variables, which the composition root reads.

- ``problems``: ``ConfigProblem``, ``ConfigError`` and how locations read;
- ``fields``: checked field types (Slack ids, timezones, origins, ...);
- ``sections``: the sections and ``LeadbotConfig``, which checks across them
  (how to add a section is written there);
- ``script``: the ``script:`` section, the qualification questions, and
  ``Comparison``, the one-operator test that skip conditions, scoring and
  routing rules share;
- ``scoring``: the ``scoring:`` section (rules, thresholds, decay);
- ``routing``: the ``regions:`` and ``routing:`` sections;
- ``hours``: working-hours blocks (``working_hours`` of a rep, a queue's business hours);
- ``sla``: a queue's ``business_hours`` and ``ladder``, and the ``sla:`` section;
- ``loader``: ``load_config``/``parse_config`` and pydantic errors in plain words.
"""

from __future__ import annotations

from bot.config.fields import (
    DisplayName,
    Origin,
    Region,
    SlackChannelId,
    SlackUserId,
    Slug,
    Timezone,
    _check_region,
    _check_timezone,
    _duplicates,
    _pattern,
    _Section,
    normalize_origin,
)
from bot.config.hours import HoursConfig, weekly_hours
from bot.config.loader import (
    EXAMPLE_CONFIG_PATH,
    _read_yaml,
    _translate,
    load_config,
    parse_config,
)
from bot.config.problems import ConfigError, ConfigProblem, Loc, _Refs, _show, format_path
from bot.config.routing import RouteRuleConfig, RouteTestConfig
from bot.config.scoring import ScoreRuleConfig, ScoringSection, Thresholds, When
from bot.config.script import Closing, Comparison, QuestionConfig, ScriptSection, SkipIf
from bot.config.sections import LeadbotConfig, Queue, Rep, Widget, Workspace
from bot.config.sla import BusinessHours, SlaSection, StepConfig

__all__ = [
    "EXAMPLE_CONFIG_PATH",
    "BusinessHours",
    "Closing",
    "Comparison",
    "ConfigError",
    "ConfigProblem",
    "DisplayName",
    "HoursConfig",
    "LeadbotConfig",
    "Loc",
    "Origin",
    "QuestionConfig",
    "Queue",
    "Region",
    "Rep",
    "RouteRuleConfig",
    "RouteTestConfig",
    "ScoreRuleConfig",
    "ScoringSection",
    "ScriptSection",
    "SkipIf",
    "SlaSection",
    "SlackChannelId",
    "SlackUserId",
    "Slug",
    "StepConfig",
    "Thresholds",
    "Timezone",
    "When",
    "Widget",
    "Workspace",
    "_Refs",
    "_Section",
    "_check_region",
    "_check_timezone",
    "_duplicates",
    "_pattern",
    "_read_yaml",
    "_show",
    "_translate",
    "format_path",
    "load_config",
    "normalize_origin",
    "parse_config",
    "weekly_hours",
]

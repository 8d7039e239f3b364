"""The sections of the configuration file and the whole-file model that checks across them.

To add a top-level section: write a ``_Section`` subclass and add it as a
field of ``LeadbotConfig``.  The allowed keys in "unknown key" messages come
from the models, so nothing else needs to change.  A check that spans items
is a field validator on the list that raises ``_Refs``, so each problem keeps
its own path and line; one that refers to another section (routing rules
naming queues, say) reads it from ``info.data``, so declare that section first.
Such checks run only once the items they look at are valid themselves.
"""

from __future__ import annotations

from zoneinfo import ZoneInfo

from pydantic import Field, ValidationInfo, field_validator

from bot.config.fields import (
    DisplayName,
    Origin,
    Region,
    SlackChannelId,
    SlackUserId,
    Slug,
    Timezone,
    _duplicates,
    _Section,
    normalize_origin,
)
from bot.config.hours import WorkingHours, weekly_hours
from bot.config.problems import Loc, _Refs
from bot.config.routing import RouteRuleConfig, check_regions, check_routing
from bot.config.scoring import ScoringSection, check_scoring
from bot.config.script import ScriptSection
from bot.config.sla import BusinessHours, SlaSection, StepConfig, check_ladder, ladder_of
from bot.domain.hours import WeeklyHours
from bot.domain.routing import RouteRule
from bot.domain.scoring import ScoringModel
from bot.domain.script import Script
from bot.domain.sla import Ladder


class Workspace(_Section):
    """Settings that apply to the whole Slack workspace."""

    name: str = Field(default="leadbot", min_length=1, max_length=80)
    timezone: Timezone = "UTC"
    default_phone_region: Region = "US"


class Rep(_Section):
    """A sales rep who can be offered leads.

    ``timezone`` None means "the workspace timezone"; use
    ``LeadbotConfig.rep_timezone`` rather than reading it directly.
    ``working_hours`` (read in that timezone) None means always working;
    ``LeadbotConfig.rep_hours`` gives them as ``WeeklyHours``.
    """

    id: SlackUserId
    name: DisplayName
    timezone: Timezone | None = None
    capacity: int = Field(default=10, ge=1, strict=True)
    weight: int = Field(default=1, ge=1, le=10, strict=True)
    working_hours: WorkingHours | None = None

    @field_validator("working_hours")
    @classmethod
    def _some_hours(cls, hours: object) -> object:
        if hours == ():
            raise _Refs([((), "must list at least one block; leave it out to work at any time")])
        return hours


class Queue(_Section):
    """A Slack channel with an ordered rotation of reps (SPEC §5) and its SLA (SPEC §6).

    ``business_hours`` None means always open; ``ladder`` None means the
    default ladder.  ``LeadbotConfig.queue_hours`` and ``queue_ladder`` give
    them to the domain.
    """

    id: Slug
    name: DisplayName
    channel: SlackChannelId
    reps: tuple[SlackUserId, ...]
    exclusivity_seconds: int = Field(default=120, ge=0, strict=True)
    default: bool = Field(default=False, strict=True)
    business_hours: BusinessHours | None = None
    ladder: tuple[StepConfig, ...] | None = Field(default=None, max_length=20)

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

    @field_validator("ladder")
    @classmethod
    def _ladder_sensible(
        cls, steps: tuple[StepConfig, ...] | None
    ) -> tuple[StepConfig, ...] | None:
        found = [] if steps is None else check_ladder(steps)
        if found:
            raise _Refs(found)
        return steps


class Widget(_Section):
    """The website chat widget's protection limits (docs/widget-protocol.md).

    ``allowed_origins`` are normalized as browsers send ``Origin`` (lowercase,
    no default port, no trailing ``/``); empty means no site may connect.
    """

    allowed_origins: tuple[Origin, ...] = ()
    max_frame_bytes: int = Field(default=8192, ge=1024, le=65536, strict=True)
    new_sessions_per_ip_per_minute: int = Field(default=20, ge=1, strict=True)
    messages_per_session_per_minute: int = Field(default=30, ge=1, strict=True)
    idle_capture_seconds: int = Field(default=300, ge=10, strict=True)

    @field_validator("allowed_origins")
    @classmethod
    def _origins_unique(cls, origins: tuple[str, ...]) -> tuple[str, ...]:
        dup = [
            ((i,), f"origin {origins[i]!r} is already listed at allowed_origins[{j}]")
            for i, j in _duplicates(origins)
        ]
        if dup:
            raise _Refs(dup)
        return origins

    def allows_origin(self, origin: str | None) -> bool:
        """Whether a browser's ``Origin`` header names one of the allowed sites."""
        return origin is not None and normalize_origin(origin) in self.allowed_origins


class LeadbotConfig(_Section):
    """The whole configuration file, checked across sections."""

    workspace: Workspace = Workspace()
    managers: tuple[SlackUserId, ...] = ()
    reps: tuple[Rep, ...]
    queues: tuple[Queue, ...]
    widget: Widget = Widget()
    script: ScriptSection = Field(default_factory=ScriptSection)
    scoring: ScoringSection | None = None  # None: every lead is SQL (ScoringModel.default())
    regions: dict[Slug, tuple[Region, ...]] = Field(default_factory=dict)
    routing: tuple[RouteRuleConfig, ...] = Field(default=(), max_length=100)
    sla: SlaSection = SlaSection()

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

    @field_validator("scoring")
    @classmethod
    def _scoring_fits_script(
        cls, scoring: ScoringSection | None, info: ValidationInfo
    ) -> ScoringSection | None:
        if scoring is not None and "script" in info.data:
            found = check_scoring(scoring, info.data["script"].questions)
            if found:
                raise _Refs(found)
        return scoring

    @field_validator("regions")
    @classmethod
    def _regions_sensible(cls, regions: dict[str, tuple[str, ...]]) -> dict[str, tuple[str, ...]]:
        found = check_regions(regions)
        if found:
            raise _Refs(found)
        return regions

    @field_validator("routing")
    @classmethod
    def _routing_consistent(
        cls, rules: tuple[RouteRuleConfig, ...], info: ValidationInfo
    ) -> tuple[RouteRuleConfig, ...]:
        # Checked only once the sections it refers to are valid themselves.
        if not {"queues", "regions", "script"} <= info.data.keys():
            return rules
        queue_ids = tuple(q.id for q in info.data["queues"])
        found = check_routing(rules, queue_ids, info.data["regions"], info.data["script"].questions)
        if found:
            raise _Refs(found)
        return rules

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

    def rep_hours(self, rep_id: str) -> WeeklyHours:
        """The rep's working hours, in ``rep_timezone``; always working when none are set."""
        return weekly_hours(self.rep(rep_id).working_hours)

    def queue_hours(self, queue_id: str) -> tuple[WeeklyHours, ZoneInfo]:
        """The queue's business hours and their timezone (the workspace's unless set).

        Always open when the queue sets none.  KeyError for an unknown queue.
        """
        hours = self.queue(queue_id).business_hours or BusinessHours()
        return hours.to_hours(), ZoneInfo(hours.timezone or self.workspace.timezone)

    def queue_ladder(self, queue_id: str) -> Ladder:
        """The queue's escalation ladder; SPEC §6's when it sets none.  KeyError if unknown."""
        return ladder_of(self.queue(queue_id).ladder)

    def qualification_script(self) -> Script:
        """The widget's qualification script, ready for ``bot.domain.script``."""
        return self.script.to_script()

    def scoring_model(self) -> ScoringModel:
        """The scoring rules and thresholds; without a ``scoring`` section every lead is SQL."""
        return ScoringModel.default() if self.scoring is None else self.scoring.to_model()

    def routing_rules(self) -> tuple[RouteRule, ...]:
        """The routing rules in file order, for ``bot.domain.routing.route_lead``."""
        return tuple(rule.to_rule() for rule in self.routing)

    def regions_map(self) -> dict[str, frozenset[str]]:
        """Region name → its ISO country codes."""
        return {name: frozenset(countries) for name, countries in self.regions.items()}

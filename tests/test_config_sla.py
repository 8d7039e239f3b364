"""Business hours, escalation ladders and the `sla:` section: good files load; problems name
key and line."""

from __future__ import annotations

import re
import textwrap
from datetime import date, time, timedelta
from zoneinfo import ZoneInfo

import pytest

from bot.config import EXAMPLE_CONFIG_PATH, load_config, parse_config
from bot.demo import seed_sandbox
from bot.domain.hours import WeeklyHours
from bot.domain.sla import Action, Condition, Ladder, Step
from sandbox import Sandbox
from tests.config_edits import editor, problems_of

# A valid file; the cases below edit single lines, so these numbers hold.
BASE = textwrap.dedent(
    """\
    workspace:
      timezone: Europe/London
    managers: [U0MGR01]
    reps:
      - {id: U0ALICE1, name: Alice}
      - {id: U0BOB001, name: Bob}
    queues:
      - id: sales
        name: Sales
        channel: C0SALES01
        reps: [U0ALICE1]
        default: true
      - id: enterprise
        name: Enterprise
        channel: C0ENTPR01
        reps: [U0BOB001]
        business_hours:
          timezone: America/New_York
          hours:
            - {days: [mon, tue, wed, thu, fri], start: "09:00", end: "12:00"}
            - {days: [mon, tue, wed, thu, fri], start: "13:00", end: "17:30"}
          holidays: [2026-07-03, "2026-12-25"]
        ladder:
          - {after: 30s, if: unclaimed, then: dm_offered_rep}
          - {after: 1m30s, if: unclaimed, then: open_to_channel}
          - {after: 1m30s, if: claimed_no_contact, then: dm_owner}
          - {after: 2m, if: no_contact, then: mark_missed}
          - {after: 1h, if: no_contact, then: dm_owner}
    sla:
      escalation_channel: C0MGRESC1
    """
)

edit = editor(BASE)
MINUTE = timedelta(minutes=1)


# --------------------------------------------------------------------------- good files


def test_a_queue_without_sla_settings_gets_the_defaults() -> None:
    cfg = parse_config(BASE)
    assert cfg.queue_ladder("sales") == Ladder.default()
    assert cfg.queue_hours("sales") == (WeeklyHours.always(), ZoneInfo("Europe/London"))


def test_a_queue_ladder_and_business_hours_load() -> None:
    cfg = parse_config(BASE)
    assert cfg.queue_ladder("enterprise") == Ladder(
        (
            Step(timedelta(seconds=30), Condition.UNCLAIMED, Action.DM_OFFERED_REP),
            Step(timedelta(seconds=90), Condition.UNCLAIMED, Action.OPEN_TO_CHANNEL),
            Step(timedelta(seconds=90), Condition.CLAIMED_NO_CONTACT, Action.DM_OWNER),
            Step(2 * MINUTE, Condition.NO_CONTACT, Action.MARK_MISSED),
            Step(60 * MINUTE, Condition.NO_CONTACT, Action.DM_OWNER),
        )
    )
    assert cfg.queue_ladder("enterprise").target == 2 * MINUTE
    hours, tz = cfg.queue_hours("enterprise")
    assert tz == ZoneInfo("America/New_York")
    day = ((time(9), time(12)), (time(13), time(17, 30)))
    assert hours == WeeklyHours(
        (day,) * 5 + ((), ()), frozenset({date(2026, 7, 3), date(2026, 12, 25)})
    )
    assert cfg.sla.escalation_channel == "C0MGRESC1"
    with pytest.raises(KeyError):
        cfg.queue_ladder("vip")


def test_without_an_sla_section_managers_are_sent_dms() -> None:
    cfg = parse_config(BASE[: BASE.index("sla:")])
    assert cfg.sla.escalation_channel is None


def test_business_hours_may_set_only_the_zone_or_only_holidays() -> None:
    text = edit(
        ("      timezone: America/New_York\n", ""),
        ('        - {days: [mon, tue, wed, thu, fri], start: "09:00", end: "12:00"}\n', ""),
        ('        - {days: [mon, tue, wed, thu, fri], start: "13:00", end: "17:30"}\n', ""),
        ("      hours:\n", ""),
    )
    hours, tz = parse_config(text).queue_hours("enterprise")
    assert tz == ZoneInfo("Europe/London")  # the workspace's
    assert hours == WeeklyHours(WeeklyHours.always().windows, hours.holidays)
    assert hours.holidays == {date(2026, 7, 3), date(2026, 12, 25)}
    one_block = edit(
        ("      hours:\n", '      hours: {days: [sat], start: "10:00", end: "14:00"}\n'),
        ('        - {days: [mon, tue, wed, thu, fri], start: "09:00", end: "12:00"}\n', ""),
        ('        - {days: [mon, tue, wed, thu, fri], start: "13:00", end: "17:30"}\n', ""),
    )
    hours, _ = parse_config(one_block).queue_hours("enterprise")
    assert hours.windows[5] == ((time(10), time(14)),) and not hours.windows[0]


@pytest.mark.parametrize(
    ("written", "expected"),
    [
        ("90s", timedelta(seconds=90)),
        ("1m", MINUTE),
        ("1m30s", timedelta(seconds=90)),
        ("1m 30s", timedelta(seconds=90)),
        ('"2h"', timedelta(hours=2)),
        ("1h15m", timedelta(minutes=75)),
        ("24h", timedelta(hours=24)),
    ],
)
def test_durations(written: str, expected: timedelta) -> None:
    ladder = f"    ladder: [{{after: {written}, if: no_contact, then: mark_missed}}]"
    text = edit(("    default: true", "    default: true\n" + ladder))
    assert parse_config(text).queue_ladder("sales").target == expected


def test_the_example_config_has_an_escalation_channel_and_always_open_queues() -> None:
    cfg = load_config(EXAMPLE_CONFIG_PATH)
    assert cfg.sla.escalation_channel == "C0MGRESC1"
    for queue in cfg.queues:
        assert cfg.queue_ladder(queue.id) == Ladder.default()
        assert cfg.queue_hours(queue.id)[0].is_always


def test_the_example_configs_commented_sla_settings_load_when_uncommented() -> None:
    text = EXAMPLE_CONFIG_PATH.read_text()
    start = text.index("    # business_hours:")
    end = text.index("\n\n", start)
    block = text[start:end].replace("    # business_hours:", "    business_hours:")
    block = block.replace("    # ladder:", "    ladder:")
    block = re.sub(r"^    #   ", "      ", block, flags=re.MULTILINE)
    cfg = parse_config(text[:start] + block + text[end:])
    assert cfg.queue_ladder("enterprise") == Ladder.default()
    hours, tz = cfg.queue_hours("enterprise")
    assert tz == ZoneInfo("America/New_York") and date(2026, 12, 25) in hours.holidays


def test_the_demo_workspace_has_the_escalation_channel_with_the_managers() -> None:
    cfg = load_config(EXAMPLE_CONFIG_PATH)
    sandbox = Sandbox()
    seed_sandbox(sandbox, cfg)
    channel = sandbox.workspace.channels["C0MGRESC1"]
    assert channel.members == list(cfg.managers) and channel.bot_is_member


# --------------------------------------------------------------------------- problems

STEP_0 = "      - {after: 30s, if: unclaimed, then: dm_offered_rep}"
STEP_1 = "      - {after: 1m30s, if: unclaimed, then: open_to_channel}"
STEP_3 = "      - {after: 2m, if: no_contact, then: mark_missed}"
HOLIDAYS = '      holidays: [2026-07-03, "2026-12-25"]'
ZONE = "      timezone: America/New_York"

# (old line, new line, path, line, message) — one problem each.
SINGLE_PROBLEMS = [
    pytest.param(STEP_0, "      - {after: 30, if: unclaimed, then: dm_offered_rep}",
                 "queues[1].ladder[0].after", 24,
                 'must be a duration like "90s", "1m" or "1m30s" (got 30); give a unit, like '
                 '"30s" or "30m"', id="duration-without-unit"),
    pytest.param(STEP_0, "      - {after: soon, if: unclaimed, then: dm_offered_rep}",
                 "queues[1].ladder[0].after", 24, "(got 'soon')", id="duration-in-words"),
    pytest.param(STEP_0, "      - {after: 0s, if: unclaimed, then: dm_offered_rep}",
                 "queues[1].ladder[0].after", 24,
                 "must be more than 0s and at most 24h (got '0s')", id="zero-duration"),
    pytest.param(STEP_3, "      - {after: 25h, if: no_contact, then: mark_missed}",
                 "queues[1].ladder[3].after", 27,
                 "must be more than 0s and at most 24h (got '25h')", id="over-a-day"),
    pytest.param(STEP_0, "      - {after: 30s, if: unclaimd, then: dm_offered_rep}",
                 "queues[1].ladder[0].if", 24,
                 "must be one of 'unclaimed', 'claimed_no_contact' or 'no_contact' "
                 "(got 'unclaimd')", id="unknown-condition"),
    pytest.param(STEP_0, "      - {after: 30s, if: unclaimed, then: ping}",
                 "queues[1].ladder[0].then", 24, "must be one of 'dm_offered_rep', 'reoffer', "
                 "'open_to_channel', 'dm_owner' or 'mark_missed' (got 'ping')",
                 id="unknown-action"),
    pytest.param(STEP_0, "      - {after: 30s, then: dm_offered_rep}",
                 "queues[1].ladder[0].if", 24, "is required but missing", id="no-condition"),
    pytest.param(STEP_0, "      - {after: 30s, if: unclaimed, then: dm_offered_rep, thne: x}",
                 "queues[1].ladder[0].thne", 24,
                 "unknown key 'thne' (allowed: after, if, then); did you mean 'then'?",
                 id="unknown-step-key"),
    pytest.param(STEP_0, "      - {after: 30s, if: unclaimed, then: dm_owner}",
                 "queues[1].ladder[0].if", 24,
                 "must be claimed_no_contact or no_contact with 'then: dm_owner' "
                 "(got 'unclaimed')", id="dm-owner-of-nobody"),
    pytest.param(STEP_1, "      - {after: 1m30s, if: no_contact, then: open_to_channel}",
                 "queues[1].ladder[1].if", 25,
                 "must be unclaimed with 'then: open_to_channel' (got 'no_contact')",
                 id="open-a-claimed-lead"),
    pytest.param(STEP_3, "      - {after: 2m, if: claimed_no_contact, then: mark_missed}",
                 "queues[1].ladder[3].if", 27,
                 "must be no_contact with 'then: mark_missed' (got 'claimed_no_contact')",
                 id="miss-only-when-claimed"),
    pytest.param(STEP_1, "      - {after: 20s, if: unclaimed, then: open_to_channel}",
                 "queues[1].ladder[1].after", 25,
                 "must not be earlier than the step before it (ladder[0] is after 30s; got 20s)",
                 id="out-of-order"),
    pytest.param(STEP_3, "      - {after: 2m, if: no_contact, then: dm_owner}",
                 "queues[1].ladder", 23,
                 "needs one step with 'then: mark_missed': it sets the SLA deadline",
                 id="no-deadline"),
    pytest.param("      - {after: 1h, if: no_contact, then: dm_owner}",
                 "      - {after: 1h, if: no_contact, then: mark_missed}",
                 "queues[1].ladder[4].then", 28,
                 "only one step may mark the SLA missed; ladder[3] already does",
                 id="two-deadlines"),
    pytest.param("    default: true", "    default: true\n    ladder: []", "queues[0].ladder", 13,
                 "must list at least one step; leave it out for the default ladder",
                 id="empty-ladder"),
    pytest.param("    default: true", "    default: true\n    ladder: fast", "queues[0].ladder", 13,
                 "must be a list (got 'fast')", id="ladder-not-a-list"),
    pytest.param(ZONE, "      timezone: New York", "queues[1].business_hours.timezone", 18,
                 "must be an IANA timezone name", id="bad-zone"),
    pytest.param(HOLIDAYS, '      holidays: [2026-07-03, "2026-12-25", 2026-07-03]',
                 "queues[1].business_hours.holidays[2]", 22,
                 "2026-07-03 is already listed at holidays[0]", id="holiday-twice"),
    pytest.param(HOLIDAYS, "      holidays: [2026-13-01]",
                 "queues[1].business_hours.holidays[0]", 22,
                 "must be a date like 2026-12-25 (got '2026-13-01')", id="no-such-day"),
    pytest.param(HOLIDAYS, "      holidays: [christmas]",
                 "queues[1].business_hours.holidays[0]", 22,
                 "must be a date like 2026-12-25 (got 'christmas')", id="holiday-in-words"),
    pytest.param(HOLIDAYS, "      holidays: [2026-12-24 12:00]",
                 "queues[1].business_hours.holidays[0]", 22,
                 "must be a date like 2026-12-25 (got '2026-12-24 12:00')",
                 id="holiday-with-a-time"),
    pytest.param('        - {days: [mon, tue, wed, thu, fri], start: "13:00", end: "17:30"}',
                 '        - {days: [mon, tue, wed, thu, fri], start: "13:00", end: "12:30"}',
                 "queues[1].business_hours.hours[1].end", 21,
                 'must be after start ("13:00") (got "12:30")', id="block-ends-early"),
    pytest.param(HOLIDAYS, "      holidays: [2026-07-03]\n      open: always",
                 "queues[1].business_hours.open", 23,
                 "unknown key 'open' (allowed: holidays, hours, timezone)",
                 id="unknown-hours-key"),
    pytest.param("  escalation_channel: C0MGRESC1", "  escalation_channel: '#managers'",
                 "sla.escalation_channel", 30,
                 "must be a Slack channel id like C0123ABCD (got '#managers')",
                 id="channel-name-not-id"),
    pytest.param("  escalation_channel: C0MGRESC1", "  escalation_chanel: C0MGRESC1",
                 "sla.escalation_chanel", 30,
                 "unknown key 'escalation_chanel' (allowed: escalation_channel); "
                 "did you mean 'escalation_channel'?", id="unknown-sla-key"),
]  # fmt: skip


@pytest.mark.parametrize(("old", "new", "path", "line", "message"), SINGLE_PROBLEMS)
def test_each_problem_names_path_and_line(
    old: str, new: str, path: str, line: int, message: str
) -> None:
    problems = problems_of(edit((old, new)))
    assert [(p.path, p.line) for p in problems] == [(path, line)], problems
    assert message in problems[0].message, problems[0].message
    assert problems[0].source == "leadbot.yaml"


def test_an_empty_hours_list_is_refused() -> None:
    text = edit(
        ("      hours:\n", "      hours: []\n"),
        ('        - {days: [mon, tue, wed, thu, fri], start: "09:00", end: "12:00"}\n', ""),
        ('        - {days: [mon, tue, wed, thu, fri], start: "13:00", end: "17:30"}\n', ""),
    )
    assert [(p.path, p.line, p.message) for p in problems_of(text)] == [
        (
            "queues[1].business_hours.hours",
            19,
            "must list at least one block; leave it out to be always open",
        )
    ]


def test_several_ladder_problems_each_at_their_step() -> None:
    text = edit(
        (STEP_0, "      - {after: 3m, if: unclaimed, then: dm_owner}"),
        (STEP_3, "      - {after: 2m, if: no_contact, then: dm_owner}"),
    )
    assert [(p.path, p.line) for p in problems_of(text)] == [
        ("queues[1].ladder", 23),
        ("queues[1].ladder[0].if", 24),
        ("queues[1].ladder[1].after", 25),
    ]

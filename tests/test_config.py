"""Tests for the configuration loader: every problem names the right key and line."""

from __future__ import annotations

import textwrap
from pathlib import Path
from zoneinfo import ZoneInfo

import pydantic
import pytest

from bot.config import (
    EXAMPLE_CONFIG_PATH,
    ConfigError,
    ConfigProblem,
    LeadbotConfig,
    load_config,
    parse_config,
)
from tests.config_edits import editor, problems_of

# A valid file; the cases below edit single lines, so these numbers hold.
BASE = textwrap.dedent(
    """\
    workspace:
      name: Acme
      timezone: Europe/London
      default_phone_region: GB
    managers:
      - U0MGR01
      - U0MGR02
    reps:
      - id: U0ALICE1
        name: Alice Johnson
      - id: U0BOB001
        name: Bob Okafor
        timezone: America/New_York
        capacity: 5
        weight: 2
      - id: U0CARMEN
        name: Carmen Ruiz
    queues:
      - id: sales
        name: Inbound sales
        channel: C0SALES01
        reps: [U0ALICE1, U0BOB001]
        default: true
      - id: enterprise
        name: Enterprise
        channel: C0ENTPR01
        reps:
          - U0BOB001
          - U0CARMEN
        exclusivity_seconds: 300
    """
)


edit = editor(BASE)


def test_base_is_valid() -> None:
    cfg = parse_config(BASE)
    assert cfg.default_queue.id == "sales"
    assert cfg.queue("enterprise").exclusivity_seconds == 300


# (old line, new line, path, line, message) — one problem each.
SINGLE_PROBLEMS = [
    pytest.param(
        "channel: C0SALES01",
        "channel: sales",
        "queues[0].channel",
        21,
        "must be a Slack channel id like C0123ABCD (got 'sales')",
        id="bad-channel",
    ),
    pytest.param(
        "    default: true",
        "    default: true\n    chanel: C0X",  # the extra key goes on line 24
        "queues[0].chanel",
        24,
        "unknown key 'chanel' (allowed: business_hours, channel, default, exclusivity_seconds, "
        "id, ladder, name, reps)",
        id="unknown-queue-key",
    ),
    pytest.param(
        "reps: [U0ALICE1, U0BOB001]",
        "reps: [U0ALICE1, U0BOB001, U0NOBODY]",
        "queues[0].reps[2]",
        22,
        "must be one of the reps defined under 'reps' (got 'U0NOBODY')",
        id="unknown-rep-flow-list",
    ),
    pytest.param(
        "      - U0CARMEN",
        "      - U0NOBODY",
        "queues[1].reps[1]",
        29,
        "must be one of the reps defined under 'reps' (got 'U0NOBODY')",
        id="unknown-rep-block-list",
    ),
    pytest.param(
        "reps: [U0ALICE1, U0BOB001]",
        "reps: [U0ALICE1, U0BOB001, U0ALICE1]",
        "queues[0].reps[2]",
        22,
        "rep 'U0ALICE1' is already listed at reps[0]",
        id="rep-twice-in-rotation",
    ),
    pytest.param(
        "reps: [U0ALICE1, U0BOB001]",
        "reps: []",
        "queues[0].reps",
        22,
        "must list at least one rep",
        id="empty-rotation",
    ),
    pytest.param(
        "  - id: U0CARMEN",
        "  - id: U0ALICE1",
        "reps[2].id",
        16,
        "rep id 'U0ALICE1' is already used by reps[0]",
        id="duplicate-rep-id",
    ),
    pytest.param(
        "  - id: enterprise",
        "  - id: sales",
        "queues[1].id",
        24,
        "queue id 'sales' is already used by queues[0]",
        id="duplicate-queue-id",
    ),
    pytest.param(
        "channel: C0ENTPR01",
        "channel: C0SALES01",
        "queues[1].channel",
        26,
        "channel 'C0SALES01' is already used by queues[0]",
        id="duplicate-channel",
    ),
    pytest.param(
        "    exclusivity_seconds: 300",
        "    default: true",
        "queues[1].default",
        30,
        "only one queue may be the default; queues[0] ('sales') already is",
        id="two-defaults",
    ),
    pytest.param(
        "    default: true",
        "    default: false",
        "queues",
        18,
        "no queue is the default; add 'default: true' to one of: sales, enterprise",
        id="no-default",
    ),
    pytest.param(
        "timezone: Europe/London",
        "timezone: Mars/Olympus",
        "workspace.timezone",
        3,
        "must be an IANA timezone name like Europe/London or UTC (got 'Mars/Olympus')",
        id="bad-workspace-timezone",
    ),
    pytest.param(
        "timezone: America/New_York",
        "timezone: EST-ish",
        "reps[1].timezone",
        13,
        "must be an IANA timezone name",
        id="bad-rep-timezone",
    ),
    pytest.param(
        "default_phone_region: GB",
        "default_phone_region: UK",
        "workspace.default_phone_region",
        4,
        "must be a two-letter ISO 3166 country code like US or GB (got 'UK')",
        id="bad-region",
    ),
    pytest.param(
        "  - U0MGR02",
        "  - maya",
        "managers[1]",
        7,
        "must be a Slack user id like U0123ABCD (got 'maya')",
        id="bad-manager-id",
    ),
    pytest.param(
        "capacity: 5",
        "capacity: 0",
        "reps[1].capacity",
        14,
        "must be at least 1 (got 0)",
        id="capacity-zero",
    ),
    pytest.param(
        "capacity: 5",
        "capacity: '5'",
        "reps[1].capacity",
        14,
        "must be a whole number (got '5')",
        id="capacity-text",
    ),
    pytest.param(
        "weight: 2",
        "weight: 11",
        "reps[1].weight",
        15,
        "must be at most 10 (got 11)",
        id="weight-too-big",
    ),
    pytest.param(
        "exclusivity_seconds: 300",
        "exclusivity_seconds: -5",
        "queues[1].exclusivity_seconds",
        30,
        "must be at least 0 (got -5)",
        id="negative-exclusivity",
    ),
    pytest.param(
        "    default: true",
        "    default: 'maybe'",
        "queues[0].default",
        23,
        "must be true or false (got 'maybe')",
        id="default-not-bool",
    ),
    pytest.param(
        "  - id: enterprise",
        "  - id: Big Deals",
        "queues[1].id",
        24,
        "must be a short id of lowercase letters",
        id="bad-queue-slug",
    ),
    pytest.param(
        "name: Carmen Ruiz",
        "name: '   '",
        "reps[2].name",
        17,
        "must not be empty",
        id="blank-name",
    ),
    pytest.param(
        "name: Enterprise",
        "name: " + "E" * 81,
        "queues[1].name",
        25,
        "must be at most 80 characters (got 81)",
        id="long-name",
    ),
    pytest.param(
        "name: Acme",
        "name: NO",  # YAML 1.1 reads this as false
        "workspace.name",
        2,
        "must be text (got false); put the value in quotes",
        id="yaml-boolean-for-text",
    ),
    pytest.param(
        "    name: Carmen Ruiz",
        "    # name removed",
        "reps[2].name",
        16,  # a missing key points at the mapping it is missing from
        "is required but missing",
        id="missing-rep-name",
    ),
    pytest.param(
        "    channel: C0ENTPR01",
        "    # channel removed",
        "queues[1].channel",
        24,
        "is required but missing",
        id="missing-queue-channel",
    ),
    pytest.param(
        "reps: [U0ALICE1, U0BOB001]",
        "reps: U0ALICE1",
        "queues[0].reps",
        22,
        "must be a list (got 'U0ALICE1')",
        id="scalar-for-list",
    ),
    pytest.param(
        "workspace:",
        "slack_bot_token: xoxb-1\nworkspace:",  # shifts BASE down one line
        "slack_bot_token",
        1,
        "unknown key 'slack_bot_token' (allowed: managers, queues, regions, reps, routing, "
        "scoring, script, sla, widget, workspace); "
        "secrets come from environment variables",
        id="unknown-top-level-key",
    ),
    pytest.param(
        "    capacity: 5",
        "    capacity: 5\n    capacity: 6",
        "reps[1].capacity",
        15,
        "duplicate key 'capacity' (first at line 14)",
        id="duplicate-yaml-key",
    ),
]


@pytest.mark.parametrize(("old", "new", "path", "line", "message"), SINGLE_PROBLEMS)
def test_each_problem_names_path_and_line(
    old: str, new: str, path: str, line: int, message: str
) -> None:
    problems = problems_of(edit((old, new)))
    assert [(p.path, p.line) for p in problems] == [(path, line)], problems
    assert message in problems[0].message
    assert problems[0].source == "leadbot.yaml"


def test_message_format_is_file_line_path_message() -> None:
    with pytest.raises(ConfigError) as caught:
        parse_config(edit(("channel: C0SALES01", "channel: sales")), source="leadbot.yaml")
    assert str(caught.value) == (
        "leadbot.yaml:21: queues[0].channel: "
        "must be a Slack channel id like C0123ABCD (got 'sales')"
    )


def test_misspelt_key_reports_the_typo_and_the_missing_key() -> None:
    problems = problems_of(edit(("channel: C0SALES01", "chanel: C0SALES01")))
    assert [(p.path, p.line) for p in problems] == [
        ("queues[0].channel", 19),
        ("queues[0].chanel", 21),
    ]
    assert problems[1].message.endswith("did you mean 'channel'?")


def test_all_problems_are_reported_in_file_order() -> None:
    text = edit(
        ("reps: [U0ALICE1, U0BOB001]", "reps: [U0ALICE1, U0GHOST1]"),
        ("timezone: Europe/London", "timezone: Nowhere"),
        ("  - U0MGR02", "  - maya"),
        ("channel: C0ENTPR01", "channel: C0SALES01"),
        ("    default: true", "    default: false"),
    )
    problems = problems_of(text)
    assert [(p.path, p.line) for p in problems] == [
        ("workspace.timezone", 3),
        ("managers[1]", 7),
        ("queues", 18),
        ("queues[0].reps[1]", 22),
        ("queues[1].channel", 26),
    ]
    assert len(str(ConfigError(problems)).splitlines()) == 5


def test_item_problems_are_reported_in_every_section() -> None:
    text = edit(
        ("capacity: 5", "capacity: 0"),
        ("channel: C0SALES01", "channel: sales"),
        ("exclusivity_seconds: 300", "exclusivity_seconds: soon"),
    )
    assert [(p.path, p.line) for p in problems_of(text)] == [
        ("reps[1].capacity", 14),
        ("queues[0].channel", 21),
        ("queues[1].exclusivity_seconds", 30),
    ]


@pytest.mark.parametrize(
    ("text", "line", "message"),
    [
        pytest.param("", 1, "the file is empty", id="empty"),
        pytest.param("# nothing yet\n", 1, "the file is empty", id="comments-only"),
        pytest.param("- a\n- b\n", 1, "top level must be a mapping with managers", id="list"),
        pytest.param("~\n", 1, "(got null)", id="null"),
        pytest.param(
            "reps:\n  - id: U0A1\n    name: [A\nqueues: []\n",
            4,
            "invalid YAML: expected ',' or ']'",
            id="unclosed-flow-list",
        ),
        pytest.param("workspace:\n\tname: x\n", 2, "not tabs", id="tab-indent"),
        pytest.param("reps: a: b\n", 1, "mapping values are not allowed here", id="key-in-value"),
        pytest.param(
            "workspace:\n  name: a\n name: b\n",
            3,
            "invalid YAML: expected <block end>",
            id="dedent",
        ),
        pytest.param("reps: []\n---\nqueues: []\n", 2, "single document", id="two-documents"),
        pytest.param("reps: *nowhere\n", 1, "undefined alias", id="bad-alias"),
        pytest.param("reps: []\nqueues: \x07\n", 2, "(U+0007)", id="control-character"),
    ],
)
def test_whole_file_problems(text: str, line: int, message: str) -> None:
    problems = problems_of(text)
    assert len(problems) == 1
    assert (problems[0].path, problems[0].line) == ("", line)
    assert message in problems[0].message
    assert str(problems[0]).startswith(f"leadbot.yaml:{line}: ")


def test_queues_must_not_be_empty() -> None:
    text = BASE[: BASE.index("queues:")] + "queues: []\n"
    problems = problems_of(text)
    assert [(p.path, p.line, p.message) for p in problems] == [
        ("queues", 18, "must define at least one queue")
    ]


def test_missing_required_sections_point_at_the_top() -> None:
    problems = problems_of("workspace:\n  name: Acme\n")
    assert [(p.path, p.line, p.message) for p in problems] == [
        ("reps", 1, "is required but missing"),
        ("queues", 1, "is required but missing"),
    ]


def test_non_text_key() -> None:
    problems = problems_of(BASE + "3: three\n")
    assert [(p.path, p.line, p.message) for p in problems] == [
        ("", 31, "keys must be text (got 3)")
    ]


def test_example_config_loads() -> None:
    assert EXAMPLE_CONFIG_PATH.parent == Path(__file__).parents[1] / "bot"
    cfg = load_config(EXAMPLE_CONFIG_PATH)
    assert cfg.workspace.name == "Acme"
    assert cfg.workspace.timezone == "Europe/London"
    assert "U0MGR01" in cfg.managers and len(cfg.managers) == 2
    assert len(cfg.reps) == 5
    assert [(q.id, q.channel, len(q.reps)) for q in cfg.queues] == [
        ("sales", "C0SALES01", 3),
        ("enterprise", "C0ENTPR01", 2),
    ]
    assert cfg.default_queue is cfg.queue("sales")


def test_lookups_and_defaults() -> None:
    cfg = parse_config(BASE)
    assert cfg.rep("U0ALICE1").name == "Alice Johnson"
    assert (cfg.rep("U0ALICE1").capacity, cfg.rep("U0ALICE1").weight) == (10, 1)
    assert cfg.queue("sales").exclusivity_seconds == 120
    assert cfg.rep("U0ALICE1").timezone is None
    assert cfg.rep_timezone("U0ALICE1") == ZoneInfo("Europe/London")
    assert cfg.rep_timezone("U0BOB001") == ZoneInfo("America/New_York")
    with pytest.raises(KeyError):
        cfg.queue("nope")
    with pytest.raises(KeyError):
        cfg.rep("U0NOBODY")


def test_minimal_file_uses_defaults_and_single_queue_is_default() -> None:
    cfg = parse_config(
        "reps: [{id: U0A1, name: A}]\n"
        "queues: [{id: q, name: Q, channel: C01, reps: [U0A1], default: false}]\n"
    )
    assert (cfg.workspace.name, cfg.workspace.timezone) == ("leadbot", "UTC")
    assert cfg.workspace.default_phone_region == "US"
    assert cfg.managers == ()
    assert cfg.default_queue.id == "q" and cfg.default_queue.default is True


def test_config_is_frozen() -> None:
    cfg = parse_config(BASE)
    with pytest.raises(pydantic.ValidationError):
        cfg.queues[0].channel = "C0OTHER"


def test_anchors_and_merge_keys_load() -> None:
    text = textwrap.dedent(
        """\
        reps:
          - {id: U0A1, name: A}
          - {id: U0B2, name: B}
        queues:
          - &queue_defaults
            id: inbound
            name: Inbound
            channel: C01
            reps: [U0A1, U0B2]
            exclusivity_seconds: 60
            default: true
          - <<: *queue_defaults
            id: partners
            name: Partners
            channel: C02
            default: false
        """
    )
    cfg = parse_config(text)
    assert cfg.queue("partners").exclusivity_seconds == 60
    assert cfg.default_queue.id == "inbound"


def test_missing_file(tmp_path: Path) -> None:
    path = tmp_path / "leadbot.yaml"
    with pytest.raises(ConfigError) as caught:
        load_config(path)
    assert caught.value.problems == [ConfigProblem("", None, "file not found", str(path))]
    assert str(caught.value) == f"{path}: file not found"


def test_directory_instead_of_file(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="is a directory"):
        load_config(tmp_path)


def test_unreadable_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = tmp_path / "leadbot.yaml"
    path.write_text(BASE)

    def deny(self: Path) -> bytes:
        raise PermissionError(13, "Permission denied")

    monkeypatch.setattr(Path, "read_bytes", deny)
    with pytest.raises(ConfigError) as caught:
        load_config(path)
    assert str(caught.value) == f"{path}: cannot read: Permission denied"


def test_non_utf8_file_names_the_line(tmp_path: Path) -> None:
    path = tmp_path / "leadbot.yaml"
    path.write_bytes(b"workspace:\n  name: Acme\n  timezone: Europe/Z\xfcrich\n")
    with pytest.raises(ConfigError) as caught:
        load_config(path)
    (problem,) = caught.value.problems
    assert (problem.path, problem.line) == ("", 3)
    assert "not UTF-8" in problem.message and "0xfc" in problem.message


def test_empty_file(tmp_path: Path) -> None:
    path = tmp_path / "leadbot.yaml"
    path.write_bytes(b"")
    with pytest.raises(ConfigError, match="the file is empty"):
        load_config(path)


def test_utf8_bom_and_source_name(tmp_path: Path) -> None:
    path = tmp_path / "leadbot.yaml"
    path.write_bytes(b"\xef\xbb\xbf" + BASE.encode())
    assert load_config(path).workspace.name == "Acme"
    with pytest.raises(ConfigError) as caught:
        path.write_text(edit(("capacity: 5", "capacity: 0")))
        load_config(str(path))
    assert str(caught.value).startswith(f"{path}:14: reps[1].capacity: ")


def test_parse_config_default_source() -> None:
    with pytest.raises(ConfigError) as caught:
        parse_config("")
    assert str(caught.value).startswith("<string>:1: ")


def test_model_built_in_code_is_checked_too() -> None:
    with pytest.raises(pydantic.ValidationError, match="must be one of the reps"):
        LeadbotConfig.model_validate(
            {
                "reps": [{"id": "U0A1", "name": "A"}],
                "queues": [{"id": "q", "name": "Q", "channel": "C01", "reps": ["U0B2"]}],
            }
        )

"""Scoring, regions, routing and working hours: good files load; problems name key and line."""

from __future__ import annotations

import textwrap
from datetime import UTC, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest

from bot.config import EXAMPLE_CONFIG_PATH, load_config, parse_config
from bot.domain.hours import WeeklyHours, is_open
from bot.domain.routing import AttributeTest, RouteRule, route_lead
from bot.domain.scoring import Grade, ScoringModel, score_lead
from bot.domain.script import Operator
from tests.config_edits import editor, problems_of
from tests.unit.facts import lead_facts as lead

# A valid file; the cases below edit single lines, so these numbers hold.
BASE = textwrap.dedent(
    """\
    reps:
      - id: U0ALICE1
        name: Alice
        timezone: America/New_York
        working_hours: {days: [mon, tue, wed, thu, fri], start: "09:00", end: "17:30"}
      - id: U0BOB001
        name: Bob
        working_hours:
          - days: [mon, tue, wed, thu, fri]
            start: "08:00"
            end: "12:00"
          - days: [sat]
            start: "22:00"
            end: "24:00"
    queues:
      - {id: sales, name: Sales, channel: C0SALES01, reps: [U0ALICE1], default: true}
      - {id: enterprise, name: Enterprise, channel: C0ENTPR01, reps: [U0BOB001]}
    script:
      questions:
        - {id: email, ask: Your email, type: email, field: email}
        - {id: size, ask: How many people, type: number}
        - id: budget
          ask: Budget?
          type: choice
          choices: [Small, Medium, Large]
        - {id: industry, ask: Your industry, type: text}
    scoring:
      thresholds:
        mql: 20
        sql: 40
      half_life_days: 14
      top_reasons: 2
      free_mail_domains: [mail.example]
      rules:
        - when: {answer: budget, equals: Large}
          points: 30
          label: big budget
        - when: {answer: size, at_least: 200}
          points: 20
          label: 200+ people
        - when: {page: /pricing}
          points: 15
          label: viewed pricing
        - when: {email: free_mail}
          points: -10
          label: free mail
        - when: {intake: [api, import]}
          points: 40
          label: form
        - when: {source: newsletter}
          points: 5
          label: newsletter
    regions:
      emea: [GB, de, FR]
      apac: [JP, AU]
    routing:
      - name: enterprise
        queue: enterprise
        when:
          - {attribute: size, at_least: 500}
          - {attribute: region, in: [emea, apac]}
      - name: banks
        queue: enterprise
        when:
          - attribute: industry
            equals: Banking
      - name: everyone-else
        queue: sales
    """
)
MINIMAL = BASE[: BASE.index("scoring:")]

edit = editor(BASE)


# --------------------------------------------------------------------------- good files


def test_base_loads_the_scoring_model() -> None:
    model = parse_config(BASE).scoring_model()
    assert (model.mql, model.sql, model.half_life, model.top_reasons) == (
        20,
        40,
        timedelta(days=14),
        2,
    )
    assert [(r.points, r.label) for r in model.rules] == [
        (30, "big budget"),
        (20, "200+ people"),
        (15, "viewed pricing"),
        (-10, "free mail"),
        (40, "form"),
        (5, "newsletter"),
    ]
    score = score_lead(
        model,
        lead(
            answers={"budget": "large", "size": 250},
            pages=("/pricing",),
            email_domain="mail.example",  # an extra free-mail domain from the file
            utm={"source": "Newsletter"},
        ),
    )
    assert (score.points, score.grade) == (60, Grade.SQL)
    assert [str(r) for r in score.top(model.top_reasons)] == ["+30 big budget", "+20 200+ people"]
    assert score_lead(model, lead(intake="import")).points == 40


def test_base_loads_regions_and_routing() -> None:
    cfg = parse_config(BASE)
    regions = cfg.regions_map()
    assert regions == {"emea": frozenset({"GB", "DE", "FR"}), "apac": frozenset({"JP", "AU"})}
    rules = cfg.routing_rules()
    assert rules[0] == RouteRule(
        "enterprise",
        "enterprise",
        (
            AttributeTest("size", Operator.AT_LEAST, (500,)),
            AttributeTest("region", Operator.IN, ("emea", "apac")),
        ),
    )
    assert [(r.name, r.queue_id, len(r.conditions)) for r in rules[1:]] == [
        ("banks", "enterprise", 1),
        ("everyone-else", "sales", 0),
    ]
    score = score_lead(cfg.scoring_model(), lead(intake="api", answers={"size": 900}))
    big_german = lead(intake="api", answers={"size": 900}, phone_region="DE")
    route = route_lead(rules, cfg.default_queue.id, regions, big_german, score, 40)
    assert (route.queue_id, route.rule) == ("enterprise", "enterprise")


def test_base_loads_working_hours() -> None:
    cfg = parse_config(BASE)
    alice = cfg.rep_hours("U0ALICE1")
    assert alice == WeeklyHours.weekly(range(5), time(9), time(17, 30))
    # 09:00 in New York, the rep's own timezone, is 13:00 UTC in summer.
    assert is_open(alice, cfg.rep_timezone("U0ALICE1"), datetime(2025, 7, 1, 13, tzinfo=UTC))
    assert not is_open(alice, ZoneInfo("America/New_York"), datetime(2025, 7, 1, 12, tzinfo=UTC))
    bob = cfg.rep_hours("U0BOB001")
    assert bob.windows[0] == ((time(8), time(12)),)
    assert bob.windows[5] == ((time(22), time(0)),)  # "24:00": midnight at the end of Saturday
    assert bob.windows[6] == ()


def test_sections_left_out() -> None:
    cfg = parse_config(MINIMAL.replace("    working_hours: {days", "    # working_hours: {days"))
    assert cfg.scoring is None
    assert cfg.scoring_model() == ScoringModel.default()
    assert cfg.routing_rules() == () and cfg.regions_map() == {}
    assert cfg.rep_hours("U0ALICE1") == WeeklyHours.always()


def test_the_example_file() -> None:
    cfg = load_config(EXAMPLE_CONFIG_PATH)
    model = cfg.scoring_model()
    assert (model.mql, model.sql, model.half_life) == (20, 40, timedelta(days=14))
    # A filled-in contact form is sales-ready on its own.
    assert score_lead(model, lead(intake="api")).grade is Grade.SQL
    hot = lead(
        answers={"budget": "Over $50k", "company_size": 250, "timeline": "This month"},
        pages=("/pricing",),
    )
    assert [str(r) for r in score_lead(model, hot).top(model.top_reasons)] == [
        "+30 budget over $50k",
        "+20 200+ employees",
        "+20 starting this month",
    ]
    researching = lead(answers={"timeline": "Just researching"}, email_domain="gmail.com")
    assert score_lead(model, researching).points == -30
    assert [(r.name, r.queue_id) for r in cfg.routing_rules()] == [("enterprise", "enterprise")]
    assert cfg.default_queue.id == "sales"
    # Reps work at any time unless the file says otherwise.
    assert all(cfg.rep_hours(r.id) == WeeklyHours.always() for r in cfg.reps)


# --------------------------------------------------------------------------- problems

# (old line, new line, path, line, message) — one problem each.
SINGLE_PROBLEMS = [
    # thresholds, decay, reasons
    pytest.param("    sql: 40", "    sql: 10", "scoring.thresholds.sql", 30,
                 "must be at least mql (20) (got 10)", id="sql-below-mql"),
    pytest.param("    mql: 20", "    mql: -1", "scoring.thresholds.mql", 29,
                 "must be at least 0 (got -1)", id="negative-mql"),
    pytest.param("    sql: 40", "    # no sql", "scoring.thresholds.sql", 28,
                 "is required but missing", id="missing-sql"),
    pytest.param("    sql: 40", "    sql: 40\n    sq: 40", "scoring.thresholds.sq", 31,
                 "unknown key 'sq' (allowed: mql, sql)", id="unknown-threshold-key"),
    pytest.param("  half_life_days: 14", "  half_life_days: 0", "scoring.half_life_days", 31,
                 "must be more than 0 (got 0)", id="half-life-zero"),
    pytest.param("  half_life_days: 14", "  half_life_days: soon", "scoring.half_life_days", 31,
                 "must be a number (got 'soon')", id="half-life-text"),
    pytest.param("  top_reasons: 2", "  top_reasons: 11", "scoring.top_reasons", 32,
                 "must be at most 10 (got 11)", id="too-many-reasons"),
    pytest.param("  top_reasons: 2", "  top_reason: 2", "scoring.top_reason", 32,
                 "did you mean 'top_reasons'?", id="unknown-scoring-key"),
    pytest.param("  free_mail_domains: [mail.example]", "  free_mail_domains: [mail]",
                 "scoring.free_mail_domains[0]", 33,
                 "must be an email domain like mail.example (got 'mail')", id="bad-domain"),
    # rules
    pytest.param("      points: 30", "      points: 0", "scoring.rules[0].points", 36,
                 "must not be 0", id="zero-points"),
    pytest.param("      points: 30", "      points: 5000", "scoring.rules[0].points", 36,
                 "must be at most 1000 (got 5000)", id="too-many-points"),
    pytest.param("      points: 30", "      points: lots", "scoring.rules[0].points", 36,
                 "must be a whole number (got 'lots')", id="points-text"),
    pytest.param("      label: big budget", "      label: " + "x" * 61, "scoring.rules[0].label",
                 37, "must be at most 60 characters (got 61)", id="long-label"),
    pytest.param("      label: big budget", "      # no label", "scoring.rules[0].label", 35,
                 "is required but missing", id="missing-label"),
    pytest.param("    - when: {answer: budget, equals: Large}",
                 "    - when: {answer: budget, equals: Huge}", "scoring.rules[0].when.equals", 35,
                 "must be one of the choices of 'budget': 'Small', 'Medium', 'Large' (got 'Huge')",
                 id="choice-value-not-among-choices"),
    pytest.param("    - when: {answer: budget, equals: Large}",
                 "    - when: {answer: budget, in: [Large, Giant]}",
                 "scoring.rules[0].when.in[1]", 35, "must be one of the choices of 'budget'",
                 id="in-value-not-among-choices"),
    pytest.param("    - when: {answer: budget, equals: Large}",
                 "    - when: {answer: cost, equals: Large}", "scoring.rules[0].when.answer", 35,
                 "no question has the id 'cost' (questions: email, size, budget, industry)",
                 id="unknown-question"),
    pytest.param("    - when: {answer: budget, equals: Large}",
                 "    - when: {answer: email, equals: Large}", "scoring.rules[0].when.answer", 35,
                 "'email' fills the lead's email, which is not kept as an answer",
                 id="contact-field-question"),
    pytest.param("    - when: {answer: size, at_least: 200}",
                 "    - when: {answer: size, equals: many}", "scoring.rules[1].when.equals", 38,
                 "must be a number, as 'size' is a number question (got 'many')",
                 id="text-for-a-number-question"),
    pytest.param("    - when: {answer: size, at_least: 200}",
                 "    - when: {answer: budget, at_least: 200}", "scoring.rules[1].when.at_least",
                 38, "compares numbers, but 'budget' is a choice question",
                 id="number-test-on-a-choice"),
    pytest.param("    - when: {answer: size, at_least: 200}",
                 "    - when: {answer: size}", "scoring.rules[1].when", 38,
                 "needs exactly one of equals, in, not_in, less_than, at_least",
                 id="answer-without-operator"),
    pytest.param("    - when: {page: /pricing}", "    - when: {page: /pricing, equals: x}",
                 "scoring.rules[2].when.equals", 41,
                 "'equals' goes with 'answer' (this rule tests 'page')",
                 id="operator-without-answer"),
    pytest.param("    - when: {page: /pricing}", "    - when: {page: pricing}",
                 "scoring.rules[2].when.page", 41,
                 'must be a URL path starting with "/", like /pricing', id="page-not-a-path"),
    pytest.param("    - when: {page: /pricing}", "    - when: {page: /docs/*/intro}",
                 "scoring.rules[2].when.page", 41, "(got '/docs/*/intro')",
                 id="star-in-the-middle"),
    pytest.param("    - when: {page: /pricing}", "    - when: {page: /pricing, return_visit: true}",
                 "scoring.rules[2].when", 41,
                 "needs exactly one of answer, page, return_visit, asked_for_human, email, "
                 "intake, source (found page and return_visit)", id="two-tests"),
    pytest.param("    - when: {page: /pricing}", "    - when: {}", "scoring.rules[2].when", 41,
                 "needs exactly one of answer, page", id="no-test"),
    pytest.param("    - when: {page: /pricing}", "    - when: {pages: /pricing}",
                 "scoring.rules[2].when.pages", 41, "did you mean 'page'?", id="unknown-test"),
    pytest.param("    - when: {page: /pricing}", "    - when: {return_visit: false}",
                 "scoring.rules[2].when.return_visit", 41, "must be true", id="false-test"),
    pytest.param("    - when: {email: free_mail}", "    - when: {email: freemail}",
                 "scoring.rules[3].when.email", 44,
                 "must be one of 'disposable' or 'free_mail' (got 'freemail')",
                 id="bad-email-test"),
    pytest.param("    - when: {intake: [api, import]}", "    - when: {intake: [api, csv]}",
                 "scoring.rules[4].when.intake[1]", 47,
                 "must be one of 'api', 'widget' or 'import' (got 'csv')", id="bad-intake-in-list"),
    pytest.param("    - when: {intake: [api, import]}", "    - when: {intake: form}",
                 "scoring.rules[4].when.intake", 47,
                 "must be one of 'api', 'widget' or 'import' (got 'form')", id="bad-intake"),
    pytest.param("    - when: {source: newsletter}", "    - when: {source: []}",
                 "scoring.rules[5].when.source", 50, "must list at least one source",
                 id="empty-sources"),
    pytest.param("    - when: {source: newsletter}", "    - when: {source: yes}",
                 "scoring.rules[5].when.source", 50,
                 "must be text (got true); put the value in quotes", id="source-yaml-boolean"),
    # regions
    pytest.param("  apac: [JP, AU]", "  apac: [JP, XX]", "regions.apac[1]", 55,
                 "must be a two-letter ISO 3166 country code like US or GB (got 'XX')",
                 id="bad-country"),
    pytest.param("  apac: [JP, AU]", "  apac: [JP, jp]", "regions.apac[1]", 55,
                 "country 'JP' is already listed at [0]", id="country-twice"),
    pytest.param("  apac: [JP, AU]", "  apac: []", "regions.apac", 55,
                 "must list at least one country code", id="empty-region"),
    pytest.param("  apac: [JP, AU]", "  Asia Pacific: [JP, AU]", "regions.Asia Pacific", 55,
                 "must be a short id of lowercase letters", id="bad-region-name"),
    # routing
    pytest.param("    queue: sales", "    queue: vip", "routing[2].queue", 68,
                 "must be one of the queues defined under 'queues' (got 'vip')",
                 id="unknown-queue"),
    pytest.param("  - name: banks", "  - name: enterprise", "routing[1].name", 62,
                 "rule name 'enterprise' is already used by routing[0]", id="duplicate-name"),
    pytest.param("      - {attribute: region, in: [emea, apac]}",
                 "      - {attribute: region, in: [emea, latam]}", "routing[0].when[1].in[1]", 61,
                 "must be a region defined under 'regions' (emea, apac) (got 'latam')",
                 id="unknown-region"),
    pytest.param("      - {attribute: region, in: [emea, apac]}",
                 "      - {attribute: region, at_least: 3}", "routing[0].when[1].at_least", 61,
                 "'region' is compared with equals, in or not_in, not at_least",
                 id="region-compared-as-number"),
    pytest.param("      - {attribute: region, in: [emea, apac]}",
                 "      - {attribute: country, equals: UK}", "routing[0].when[1].equals", 61,
                 "must be a two-letter ISO 3166 country code like US or GB (got 'UK')",
                 id="bad-country-in-rule"),
    pytest.param("      - {attribute: region, in: [emea, apac]}",
                 "      - {attribute: grade, equals: HOT}", "routing[0].when[1].equals", 61,
                 "must be one of IQL, MQL, SQL (got 'HOT')", id="bad-grade"),
    pytest.param("      - {attribute: region, in: [emea, apac]}",
                 "      - {attribute: intake, in: [api, fax]}", "routing[0].when[1].in[1]", 61,
                 "must be one of api, widget, import (got 'fax')", id="bad-intake-in-rule"),
    pytest.param("      - {attribute: region, in: [emea, apac]}",
                 "      - {attribute: score, at_least: high}", "routing[0].when[1].at_least", 61,
                 "must be a number (got 'high')", id="score-text"),
    pytest.param("      - {attribute: size, at_least: 500}",
                 "      - {attribute: headcount, at_least: 500}", "routing[0].when[0].attribute",
                 60, "must be one of country, region, score, grade, source, intake, industry, "
                 "company_size or a question id (size, budget, industry) (got 'headcount')",
                 id="unknown-attribute"),
    pytest.param("      - {attribute: size, at_least: 500}",
                 "      - {attribute: size, equals: big}", "routing[0].when[0].equals", 60,
                 "must be a number, as 'size' is a number question (got 'big')",
                 id="answer-value-checked"),
    pytest.param("      - {attribute: size, at_least: 500}",
                 "      - {attribute: size, at_least: 500, less_than: 900}", "routing[0].when[0]",
                 60, "needs exactly one of equals, in, not_in, less_than, at_least "
                 "(found less_than and at_least)", id="two-operators"),
    pytest.param("        equals: Banking", "        equals: Banking\n        value: x",
                 "routing[1].when[0].value", 67, "unknown key 'value' (allowed: at_least, "
                 "attribute, equals, in, less_than, not_in)", id="unknown-test-key"),
    pytest.param("    queue: sales", "    queue: sales\n    when: {attribute: size}",
                 "routing[2].when", 69, "must be a list (got a mapping)", id="when-not-a-list"),
    # working hours
    pytest.param('        start: "08:00"', '        start: "25:00"',
                 "reps[1].working_hours[0].start", 10,
                 'must be a time of day from "00:00" to "23:59", like "09:00" ' "(got '25:00')",
                 id="bad-time"),
    pytest.param('        end: "12:00"', '        end: "24:30"', "reps[1].working_hours[0].end",
                 11, 'must be a time of day from "00:00" to "24:00", like "09:00" ' "(got '24:30')",
                 id="bad-end-time"),
    pytest.param('        end: "12:00"', '        end: noon', "reps[1].working_hours[0].end",
                 11, "(got 'noon')", id="end-in-words"),
    pytest.param('        start: "08:00"', "        start: 8:00",
                 "reps[1].working_hours[0].start", 10,
                 'put it in quotes: "8:00" (YAML reads an unquoted 8:00 as 480)',
                 id="unquoted-time"),
    pytest.param('        end: "12:00"', '        end: "07:00"', "reps[1].working_hours[0].end",
                 11, 'must be after start ("08:00") (got "07:00"); for hours past midnight use '
                 "two blocks", id="end-before-start"),
    pytest.param('        end: "12:00"', '        end: "08:00"', "reps[1].working_hours[0].end",
                 11, 'must be after start ("08:00") (got "08:00")', id="start-equals-end"),
    pytest.param('        start: "22:00"', '        start: "24:00"',
                 "reps[1].working_hours[1].start", 13,
                 'must be a time of day from "00:00" to "23:59", like "09:00" (got \'24:00\')',
                 id="start-at-24"),
    pytest.param("      - days: [sat]", "      - days: [saturday, Sat]",
                 "reps[1].working_hours[1].days[1]", 12, "sat is already listed at days[0]",
                 id="day-twice"),
    pytest.param("      - days: [sat]", "      - days: [sab]", "reps[1].working_hours[1].days[0]",
                 12, "must be a day of the week: mon, tue, wed, thu, fri, sat, sun (got 'sab')",
                 id="bad-day"),
    pytest.param("      - days: [sat]", "      - days: []", "reps[1].working_hours[1].days", 12,
                 "must list at least one day, like [mon, tue, wed, thu, fri]", id="no-days"),
    pytest.param('    working_hours: {days: [mon, tue, wed, thu, fri], start: "09:00", '
                 'end: "17:30"}',
                 '    working_hours: {days: [mon, tue, wed, thu, fri], start: "09:00", '
                 'end: "17:30", lunch: "12:00"}',
                 "reps[0].working_hours.lunch", 5,
                 "unknown key 'lunch' (allowed: days, end, start)", id="unknown-hours-key"),
    pytest.param('    working_hours: {days: [mon, tue, wed, thu, fri], start: "09:00", '
                 'end: "17:30"}',
                 '    working_hours: {days: [mon, tue, wed, thu, fri], start: "09:00"}',
                 "reps[0].working_hours.end", 5, "is required but missing",
                 id="single-block-missing-end"),
    pytest.param('    working_hours: {days: [mon, tue, wed, thu, fri], start: "09:00", '
                 'end: "17:30"}', "    working_hours: []", "reps[0].working_hours", 5,
                 "must list at least one block; leave it out to work at any time",
                 id="no-blocks"),
    pytest.param('    working_hours: {days: [mon, tue, wed, thu, fri], start: "09:00", '
                 'end: "17:30"}', "    working_hours: weekdays", "reps[0].working_hours", 5,
                 "must be a mapping or a list of mappings (got 'weekdays')",
                 id="hours-not-a-mapping"),
]  # fmt: skip


@pytest.mark.parametrize(("old", "new", "path", "line", "message"), SINGLE_PROBLEMS)
def test_each_problem_names_path_and_line(
    old: str, new: str, path: str, line: int, message: str
) -> None:
    problems = problems_of(edit((old, new)))
    assert [(p.path, p.line) for p in problems] == [(path, line)], problems
    assert message in problems[0].message
    assert problems[0].source == "leadbot.yaml"


def test_cross_section_checks_wait_for_the_sections_they_read() -> None:
    # A broken script: the scoring and routing checks against it are not run.
    text = edit(("      choices: [Small, Medium, Large]", "      choices: []"))
    assert [(p.path, p.line) for p in problems_of(text)] == [("script.questions[2].choices", 25)]


def test_problems_in_several_sections_come_in_file_order() -> None:
    text = edit(
        ('        end: "12:00"', '        end: "07:00"'),
        ("    sql: 40", "    sql: 10"),
        ("  apac: [JP, AU]", "  apac: [JP, XX]"),
        ("    queue: sales", "    queue: vip"),
    )
    assert [(p.path, p.line) for p in problems_of(text)] == [
        ("reps[1].working_hours[0].end", 11),
        ("scoring.thresholds.sql", 30),
        ("regions.apac[1]", 55),
    ]  # routing is checked once the regions it refers to are valid


def test_a_rule_may_test_industry_and_company_size_the_script_does_not_ask() -> None:
    text = edit(
        (
            "      - {attribute: size, at_least: 500}",
            "      - {attribute: company_size, at_least: 500}",
        ),
        (
            "    - {id: industry, ask: Your industry, type: text}",
            "    - {id: notes, ask: Any notes, type: text}",
        ),
    )
    rules = parse_config(text).routing_rules()
    assert rules[0].conditions[0] == AttributeTest("company_size", Operator.AT_LEAST, (500,))
    assert rules[1].conditions[0] == AttributeTest("industry", Operator.EQUALS, ("Banking",))


def test_country_values_are_upper_cased() -> None:
    text = edit(
        (
            "      - {attribute: region, in: [emea, apac]}",
            "      - {attribute: country, in: [gb, Ie]}",
        )
    )
    rule = parse_config(text).routing_rules()[0]
    assert rule.conditions[1] == AttributeTest("country", Operator.IN, ("GB", "IE"))


def test_working_hours_decide_with_the_rep_timezone() -> None:
    cfg = parse_config(BASE)
    tz = cfg.rep_timezone("U0ALICE1")
    # Winter: 09:00 New York is 14:00 UTC.
    assert not is_open(cfg.rep_hours("U0ALICE1"), tz, datetime(2025, 1, 6, 13, 59, tzinfo=UTC))
    assert is_open(cfg.rep_hours("U0ALICE1"), tz, datetime(2025, 1, 6, 14, tzinfo=UTC))

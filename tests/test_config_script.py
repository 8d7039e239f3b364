"""The widget and script sections: a good file loads; every problem names its key and line."""

from __future__ import annotations

import textwrap

import pytest

from bot.config import (
    EXAMPLE_CONFIG_PATH,
    ConfigError,
    ScriptSection,
    Widget,
    load_config,
    parse_config,
)
from bot.domain.script import AnswerKind, Condition, Operator, Outcome, answer, start
from tests.config_edits import editor, problems_of

# A valid file; the cases below edit single lines, so these numbers hold.
BASE = textwrap.dedent(
    """\
    reps: [{id: U0ALICE1, name: Alice}]
    queues: [{id: sales, name: Sales, channel: C0SALES01, reps: [U0ALICE1]}]
    widget:
      allowed_origins:
        - https://www.acme.example
        - HTTP://127.0.0.1:8000/
      max_frame_bytes: 4096
      new_sessions_per_ip_per_minute: 5
      messages_per_session_per_minute: 12
      idle_capture_seconds: 60
    script:
      greeting: Hello!
      max_attempts: 3
      human_phrases: [get me a person]
      closing:
        completed: Done.
        human: A person is coming.
      questions:
        - id: email
          ask: Your email?
          type: email
          field: email
          reject_disposable: false
        - id: size
          ask: How many people?
          type: number
          min: 1
          max: 5000
        - id: budget
          ask: Budget?
          type: choice
          choices: [Small, Medium, Large]
          reask: Pick one, please.
        - id: notes
          ask: Anything else?
          type: text
          max_length: 300
          optional: true
          skip_if:
            question: size
            less_than: 10
    """
)

MINIMAL = BASE[: BASE.index("widget:")]


edit = editor(BASE)


# --------------------------------------------------------------------------- good files


def test_base_loads_widget_settings() -> None:
    widget = parse_config(BASE).widget
    # Origins are kept as browsers send them: lowercase, no trailing slash.
    assert widget.allowed_origins == ("https://www.acme.example", "http://127.0.0.1:8000")
    assert (
        widget.max_frame_bytes,
        widget.new_sessions_per_ip_per_minute,
        widget.messages_per_session_per_minute,
        widget.idle_capture_seconds,
    ) == (4096, 5, 12, 60)


@pytest.mark.parametrize(
    ("origin", "allowed"),
    [
        ("https://www.acme.example", True),
        ("HTTPS://WWW.ACME.EXAMPLE:443", True),
        ("http://127.0.0.1:8000", True),
        ("http://www.acme.example", False),
        ("https://acme.example", False),
        ("http://127.0.0.1:8001", False),
        ("null", False),
        (None, False),
    ],
)
def test_allows_origin_compares_as_browsers_send_it(origin: str | None, allowed: bool) -> None:
    assert parse_config(BASE).widget.allows_origin(origin) is allowed


def test_base_loads_the_script() -> None:
    cfg = parse_config(BASE)
    script = cfg.qualification_script()
    assert script is cfg.qualification_script()
    assert (script.greeting, script.max_attempts, script.human_phrases) == (
        "Hello!",
        3,
        ("get me a person",),
    )
    assert (script.closing_completed, script.closing_human) == ("Done.", "A person is coming.")
    assert script.closing_partial == ScriptSection().closing.partial  # a default
    email, size, budget, notes = script.questions
    assert (email.kind, email.field, email.reject_disposable) == (AnswerKind.EMAIL, "email", False)
    assert "disposable" not in email.reask
    assert (size.kind, size.minimum, size.maximum) == (AnswerKind.NUMBER, 1, 5000)
    assert size.reask == "Please answer with a number from 1 to 5,000, like 25 or 1,200."
    assert (budget.choices, budget.reask) == (("Small", "Medium", "Large"), "Pick one, please.")
    assert (notes.max_length, notes.optional) == (300, True)
    assert notes.skip_if == Condition("size", Operator.LESS_THAN, (10,))
    assert notes.reask.endswith('You can also type "skip".')
    assert size.max_length == 500 and size.skip_if is None and not size.optional


def test_the_base_script_runs() -> None:
    script = parse_config(BASE).qualification_script()
    turn = start(script)
    for text in ["jane@mailinator.com", "8", "3"]:
        turn = answer(script, turn.state, text, phone_region="US")
    # notes is skipped (size < 10), so the script is done.
    assert turn.finished is Outcome.COMPLETED
    assert dict(turn.state.answers) == {
        "email": "jane@mailinator.com",
        "size": 8,
        "budget": "Large",
    }


def test_sections_left_out_get_defaults() -> None:
    cfg = parse_config(MINIMAL)
    assert cfg.widget == Widget()
    assert cfg.widget.allowed_origins == ()  # no site may embed the widget until listed
    assert (cfg.widget.max_frame_bytes, cfg.widget.idle_capture_seconds) == (8192, 300)
    assert (
        cfg.widget.new_sessions_per_ip_per_minute,
        cfg.widget.messages_per_session_per_minute,
    ) == (20, 30)
    script = cfg.qualification_script()
    assert [q.id for q in script.questions] == [
        "name", "email", "company", "company_size", "budget", "timeline", "phone"
    ]  # fmt: skip
    assert [q.field for q in script.questions if q.field] == ["name", "email", "company", "phone"]
    email = script.questions[1]
    assert email.reject_disposable and "disposable" in email.reask
    assert script.max_attempts == 2 and "talk to a human" in script.human_phrases


def test_questions_left_out_get_the_default_questions() -> None:
    cfg = parse_config(MINIMAL + "script:\n  greeting: Howdy!\n")
    assert cfg.script.greeting == "Howdy!"
    assert cfg.script.questions == ScriptSection().questions


def test_the_example_file_spells_out_the_default_script() -> None:
    assert load_config(EXAMPLE_CONFIG_PATH).script == ScriptSection()


def test_human_phrase_defaults_reach_the_engine() -> None:
    script = parse_config(MINIMAL).qualification_script()
    turn = answer(script, start(script).state, "Can I speak to a human?", phone_region="US")
    assert turn.finished is Outcome.HUMAN


# --------------------------------------------------------------------------- problems

# (old line, new line, path, line, message) — one problem each.
SINGLE_PROBLEMS = [
    pytest.param("    - https://www.acme.example", "    - https://www.acme.example/pricing",
                 "widget.allowed_origins[0]", 5,
                 "must be a web origin: http:// or https://, a host and an optional port, no path",
                 id="origin-with-path"),
    pytest.param("    - https://www.acme.example", "    - www.acme.example",
                 "widget.allowed_origins[0]", 5, "(got 'www.acme.example')", id="origin-no-scheme"),
    pytest.param("    - https://www.acme.example", "    - ftp://acme.example",
                 "widget.allowed_origins[0]", 5, "must be a web origin", id="origin-ftp"),
    pytest.param("    - https://www.acme.example", "    - https://acme.example:99999",
                 "widget.allowed_origins[0]", 5, "must be a web origin", id="origin-bad-port"),
    pytest.param("    - https://www.acme.example", "    - https://*.acme.example",
                 "widget.allowed_origins[0]", 5, "must be a web origin", id="origin-wildcard"),
    pytest.param("    - HTTP://127.0.0.1:8000/", "    - https://WWW.acme.example:443",
                 "widget.allowed_origins[1]", 6,
                 "origin 'https://www.acme.example' is already listed at allowed_origins[0]",
                 id="origin-twice"),
    pytest.param("  max_frame_bytes: 4096", "  max_frame_bytes: 512",
                 "widget.max_frame_bytes", 7, "must be at least 1024 (got 512)",
                 id="frame-too-small"),
    pytest.param("  max_frame_bytes: 4096", "  max_frame_bytes: 100000",
                 "widget.max_frame_bytes", 7, "must be at most 65536 (got 100000)",
                 id="frame-too-big"),
    pytest.param("  new_sessions_per_ip_per_minute: 5", "  new_sessions_per_ip_per_minute: 0",
                 "widget.new_sessions_per_ip_per_minute", 8, "must be at least 1 (got 0)",
                 id="sessions-zero"),
    pytest.param("  messages_per_session_per_minute: 12", "  messages_per_session_per_minute: 0",
                 "widget.messages_per_session_per_minute", 9, "must be at least 1 (got 0)",
                 id="messages-zero"),
    pytest.param("  idle_capture_seconds: 60", "  idle_capture_seconds: 5",
                 "widget.idle_capture_seconds", 10, "must be at least 10 (got 5)",
                 id="idle-too-short"),
    pytest.param("  max_frame_bytes: 4096", "  max_frame_size: 4096",
                 "widget.max_frame_size", 7, "did you mean 'max_frame_bytes'?",
                 id="unknown-widget-key"),
    pytest.param("  max_attempts: 3", "  max_attempts: 0",
                 "script.max_attempts", 13, "must be at least 1 (got 0)", id="attempts-zero"),
    pytest.param("  human_phrases: [get me a person]", "  human_phrases: []",
                 "script.human_phrases", 14, "must have at least 1 item (got 0)",
                 id="no-human-phrases"),
    pytest.param("    human: A person is coming.", "    humans: A person is coming.",
                 "script.closing.humans", 17, "did you mean 'human'?", id="unknown-closing-key"),
    pytest.param("      type: number", "      type: date",
                 "script.questions[1].type", 26,
                 "must be one of 'text', 'email', 'phone', 'choice' or 'number' (got 'date')",
                 id="unknown-type"),
    pytest.param("      field: email", "      field: mail",
                 "script.questions[0].field", 22,
                 "must be one of 'name', 'email', 'phone' or 'company' (got 'mail')",
                 id="unknown-field"),
    pytest.param("    - id: budget", "    - id: Budget Q",
                 "script.questions[2].id", 29, "must be a short id of lowercase letters",
                 id="bad-question-id"),
    pytest.param("      max_length: 300", "      choices: [a, b]",
                 "script.questions[3].choices", 37,
                 "only choice questions take 'choices' (this one is text)",
                 id="choices-on-text"),
    pytest.param("      choices: [Small, Medium, Large]", "      # no choices",
                 "script.questions[2].choices", 29,
                 "a choice question needs a list of 'choices'", id="missing-choices"),
    pytest.param("      choices: [Small, Medium, Large]", "      choices: []",
                 "script.questions[2].choices", 32,
                 "a choice question needs a list of 'choices'", id="empty-choices"),
    pytest.param("      choices: [Small, Medium, Large]",
                 "      choices: [a, b, c, d, e, f, g, h, i, j, k]",
                 "script.questions[2].choices", 32, "must have at most 10 items (got 11)",
                 id="too-many-choices"),
    pytest.param("      choices: [Small, Medium, Large]",
                 "      choices: [Small, " + "M" * 76 + "]",
                 "script.questions[2].choices[1]", 32, "must be at most 75 characters (got 76)",
                 id="choice-too-long"),
    pytest.param("      choices: [Small, Medium, Large]", "      choices: [Small, medium, Medium]",
                 "script.questions[2].choices[2]", 32, "choice 'Medium' is already listed at [1]",
                 id="duplicate-choice"),
    pytest.param("      choices: [Small, Medium, Large]", "      choices: [Small, Yes, Maybe]",
                 "script.questions[2].choices[1]", 32,
                 "must be text (got true); put the value in quotes", id="choice-yaml-boolean"),
    pytest.param("      max: 5000", "      max: 0",
                 "script.questions[1].max", 28, "must be at least min (1) (got 0)",
                 id="min-above-max"),
    pytest.param("      max: 5000", "      max: lots",
                 "script.questions[1].max", 28, "must be a number (got 'lots')", id="max-text"),
    pytest.param("      max_length: 300", "      min: 3",
                 "script.questions[3].min", 37,
                 "only number questions take 'min' (this one is text)", id="min-on-text"),
    pytest.param("      max_length: 300", "      max_length: 3000",
                 "script.questions[3].max_length", 37, "must be at most 2000 (got 3000)",
                 id="max-length-too-big"),
    pytest.param("      min: 1", "      min: 1\n      max_length: 10",
                 "script.questions[1].max_length", 28,
                 "only text questions take 'max_length' (this one is number)",
                 id="max-length-on-number"),
    pytest.param("      min: 1", "      min: 1\n      reject_disposable: true",
                 "script.questions[1].reject_disposable", 28,
                 "only email questions take 'reject_disposable' (this one is number)",
                 id="reject-disposable-on-number"),
    pytest.param("      max: 5000", "      max: 5000\n      field: company",
                 "script.questions[1].field", 29,
                 "the lead's company needs a text question (this is number)",
                 id="field-on-wrong-type"),
    pytest.param("      optional: true", "      optinal: true",
                 "script.questions[3].optinal", 38, "did you mean 'optional'?",
                 id="unknown-question-key"),
    pytest.param("      optional: true", "      optional: maybe",
                 "script.questions[3].optional", 38, "must be true or false (got 'maybe')",
                 id="optional-not-bool"),
    pytest.param("    - id: budget", "    - id: size",
                 "script.questions[2].id", 29, "question id 'size' is already used by questions[1]",
                 id="duplicate-question-id"),
    pytest.param("        less_than: 10",
                 "        less_than: 10\n    - id: email2\n      ask: Again?\n"
                 "      type: email\n      field: email",
                 "script.questions[4].field", 45,
                 "the lead's email is already filled by questions[0]", id="duplicate-field"),
    pytest.param("        question: size", "        question: headcount",
                 "script.questions[3].skip_if.question", 40,
                 "no question has the id 'headcount'", id="skip-if-unknown-question"),
    pytest.param("      reask: Pick one, please.",
                 "      reask: Pick one, please.\n      skip_if: {question: notes, equals: x}",
                 "script.questions[2].skip_if.question", 34,
                 "must name an earlier question ('notes' is questions[3], which comes later)",
                 id="skip-if-later-question"),
    pytest.param("        question: size", "        question: notes",
                 "script.questions[3].skip_if.question", 40,
                 "must name an earlier question ('notes' is this question itself)",
                 id="skip-if-itself"),
    pytest.param("        less_than: 10", "        less_than: 10\n        at_least: 2",
                 "script.questions[3].skip_if", 39,
                 "needs exactly one of equals, in, not_in, less_than, at_least "
                 "(found less_than and at_least)", id="skip-if-two-tests"),
    pytest.param("        less_than: 10", "        # no test",
                 "script.questions[3].skip_if", 39,
                 "needs exactly one of equals, in, not_in, less_than, at_least",
                 id="skip-if-no-test"),
    pytest.param("        less_than: 10", "        less_than: 10\n        in_: [1]",
                 "script.questions[3].skip_if.in_", 42,
                 "unknown key 'in_' (allowed: at_least, equals, in, less_than, not_in, question)",
                 id="unknown-skip-if-key"),
    pytest.param("        less_than: 10", "        less_than: ten",
                 "script.questions[3].skip_if.less_than", 41, "must be a number (got 'ten')",
                 id="less-than-text"),
    pytest.param("        less_than: 10", "        equals: many",
                 "script.questions[3].skip_if.equals", 41,
                 "must be a number, as 'size' is a number question (got 'many')",
                 id="equals-text-on-number"),
    pytest.param("        less_than: 10", "        equals: yes",
                 "script.questions[3].skip_if.equals", 41,
                 "must be text or a number (got true); put the value in quotes",
                 id="equals-yaml-boolean"),
    pytest.param("        less_than: 10", "        not_in: []",
                 "script.questions[3].skip_if.not_in", 41, "must have at least 1 item (got 0)",
                 id="not-in-empty"),
]  # fmt: skip


@pytest.mark.parametrize(("old", "new", "path", "line", "message"), SINGLE_PROBLEMS)
def test_each_problem_names_path_and_line(
    old: str, new: str, path: str, line: int, message: str
) -> None:
    problems = problems_of(edit((old, new)))
    assert [(p.path, p.line) for p in problems] == [(path, line)], problems
    assert message in problems[0].message
    assert problems[0].source == "leadbot.yaml"


# Two-line edits: a condition on the choice question `budget`.
ON_BUDGET = ("        question: size", "        question: budget")


@pytest.mark.parametrize(
    ("new", "path", "message"),
    [
        pytest.param("        less_than: 10", "script.questions[3].skip_if.less_than",
                     "compares numbers, but 'budget' is a choice question", id="less-than"),
        pytest.param("        at_least: 10", "script.questions[3].skip_if.at_least",
                     "compares numbers, but 'budget' is a choice question", id="at-least"),
        pytest.param("        equals: Huge", "script.questions[3].skip_if.equals",
                     "must be one of the choices of 'budget': 'Small', 'Medium', 'Large' "
                     "(got 'Huge')", id="equals-not-a-choice"),
        pytest.param("        in: [large, Huge]", "script.questions[3].skip_if.in[1]",
                     "must be one of the choices of 'budget'", id="in-not-a-choice"),
        pytest.param("        not_in: [3]", "script.questions[3].skip_if.not_in[0]",
                     "(got 3)", id="not-in-a-number"),
    ],
)  # fmt: skip
def test_conditions_on_a_choice_question(new: str, path: str, message: str) -> None:
    problems = problems_of(edit(ON_BUDGET, ("        less_than: 10", new)))
    assert [(p.path, p.line) for p in problems] == [(path, 41)], problems
    assert message in problems[0].message


def test_a_condition_may_name_a_choice_in_any_case() -> None:
    cfg = parse_config(edit(ON_BUDGET, ("        less_than: 10", "        in: [large, MEDIUM]")))
    condition = cfg.qualification_script().questions[3].skip_if
    assert condition == Condition("budget", Operator.IN, ("large", "MEDIUM"))


def test_message_format_is_file_line_path_message() -> None:
    with pytest.raises(ConfigError) as caught:
        parse_config(edit(("      type: number", "      type: date")), source="leadbot.yaml")
    assert str(caught.value) == (
        "leadbot.yaml:26: script.questions[1].type: must be one of "
        "'text', 'email', 'phone', 'choice' or 'number' (got 'date')"
    )


def test_problems_in_several_questions_are_all_reported_in_file_order() -> None:
    text = edit(
        ("  idle_capture_seconds: 60", "  idle_capture_seconds: 1"),
        ("    - id: budget", "    - id: email"),
        ("      max_length: 300", "      max_length: 0"),
        ("        question: size", "        question: later"),
    )
    assert [(p.path, p.line) for p in problems_of(text)] == [
        ("widget.idle_capture_seconds", 10),
        ("script.questions[3].max_length", 37),
    ]
    # Cross-question checks run once every question is valid on its own.
    text = edit(
        ("    - id: budget", "    - id: email"),
        ("        question: size", "        question: later"),
    )
    assert [(p.path, p.line) for p in problems_of(text)] == [
        ("script.questions[2].id", 29),
        ("script.questions[3].skip_if.question", 40),
    ]


def test_questions_must_not_be_empty() -> None:
    problems = problems_of(MINIMAL + "script:\n  questions: []\n")
    assert [(p.path, p.line, p.message) for p in problems] == [
        ("script.questions", 4, "must list at least one question")
    ]


def test_unknown_top_level_key_lists_the_new_sections() -> None:
    (problem,) = problems_of(MINIMAL + "widgets: {}\n")
    assert problem.message.startswith(
        "unknown key 'widgets' (allowed: managers, queues, regions, reps, routing, scoring, "
        "script, sla, widget, workspace)"
    )
    assert problem.message.endswith("did you mean 'widget'?")

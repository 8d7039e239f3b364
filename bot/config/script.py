"""The ``script:`` section: the qualification questions the widget asks (SPEC §3).

The section checks everything the engine (``bot/domain/script.py``) relies
on, each problem at its own key: answer types and the keys that only make
sense for one of them, unique ids and lead fields, and skip conditions that
look back at an earlier question with a value that question can produce.
``ScriptSection.to_script()`` gives the domain ``Script``.

Leaving the section out, or its ``questions``, gives the default script
below; ``bot/example-config.yaml`` spells out the same script (a test keeps
the two equal).
"""

from __future__ import annotations

from typing import Annotated, Any, Literal, Self

from pydantic import Field, PrivateAttr, field_validator, model_validator

from bot.config.fields import LongText, Scalar, ShortText, Slug, _duplicates, _Section
from bot.config.problems import Loc, _Refs, _show
from bot.domain.script import (
    AnswerKind,
    Condition,
    Operator,
    Question,
    Script,
)

QuestionType = Literal["text", "email", "phone", "choice", "number"]
LeadField = Literal["name", "email", "phone", "company"]
ChoiceLabel = Annotated[str, Field(min_length=1, max_length=75)]
HumanPhrase = Annotated[str, Field(min_length=1, max_length=60)]

#: Which answer type each lead field needs (the lead stores and deduplicates on them).
FIELD_TYPES: dict[str, str] = {
    "name": "text",
    "company": "text",
    "email": "email",
    "phone": "phone",
}

DEFAULT_TEXT_LENGTH = 500
MAX_CHOICES = 10


class Comparison(_Section):
    """A test on one value with one operator, as skip conditions, scoring and routing write it.

    Subclasses add the key naming what is compared (``question``,
    ``answer``, ``attribute``); one whose operator may be left out
    overrides ``_one_test``.
    """

    equals: Scalar | None = None
    in_: tuple[Scalar, ...] | None = Field(default=None, alias="in", min_length=1)
    not_in: tuple[Scalar, ...] | None = Field(default=None, min_length=1)
    less_than: float | None = Field(default=None, strict=True)
    at_least: float | None = Field(default=None, strict=True)

    @model_validator(mode="after")
    def _one_test(self) -> Self:
        self._check_one_operator()
        return self

    def _given(self) -> list[Operator]:
        return [op for op in Operator if self._raw(op) is not None]

    def _check_one_operator(self) -> None:
        given = self._given()
        if len(given) != 1:
            names = ", ".join(op.value for op in Operator)
            found = f" (found {' and '.join(op.value for op in given)})" if given else ""
            raise _Refs([((), f"needs exactly one of {names}{found}")])

    @property
    def operator(self) -> Operator:
        return next(op for op in Operator if self._raw(op) is not None)

    @property
    def values(self) -> tuple[str | float, ...]:
        raw = self._raw(self.operator)
        return tuple(raw) if isinstance(raw, tuple) else (raw,)

    def condition(self, name: str) -> Condition:
        """The domain condition: this test on the value called ``name``."""
        return Condition(name, self.operator, self.values)

    def _raw(self, op: Operator) -> Any:
        return getattr(self, "in_" if op is Operator.IN else op.value)


class SkipIf(Comparison):
    """Skip the question when an earlier answer meets one test."""

    question: Slug


class QuestionConfig(_Section):
    """One question; the keys after ``type`` depend on it (see ``_fits_type``)."""

    id: Slug
    ask: ShortText
    type: QuestionType
    field: LeadField | None = None
    choices: tuple[ChoiceLabel, ...] | None = Field(default=None, max_length=MAX_CHOICES)
    min: float | None = Field(default=None, strict=True)
    max: float | None = Field(default=None, strict=True)
    max_length: int | None = Field(default=None, ge=1, le=2000, strict=True)
    reask: ShortText | None = None
    optional: bool = Field(default=False, strict=True)
    skip_if: SkipIf | None = None
    reject_disposable: bool | None = Field(default=None, strict=True)

    @model_validator(mode="after")
    def _fits_type(self) -> QuestionConfig:
        found: list[tuple[Loc, str]] = []
        only = {
            "choices": "choice",
            "min": "number",
            "max": "number",
            "max_length": "text",
            "reject_disposable": "email",
        }
        for key, kind in only.items():
            if getattr(self, key) is not None and self.type != kind:
                found.append(
                    ((key,), f"only {kind} questions take '{key}' (this one is {self.type})")
                )
        if self.type == "choice":
            if not self.choices:
                found.append((("choices",), "a choice question needs a list of 'choices'"))
            else:
                folded = [" ".join(c.casefold().split()) for c in self.choices]
                found += [
                    (("choices", i), f"choice {self.choices[i]!r} is already listed at [{j}]")
                    for i, j in _duplicates(folded)
                ]
        if self.min is not None and self.max is not None and self.min > self.max:
            found.append((("max",), f"must be at least min ({self.min:g}) (got {self.max:g})"))
        if self.field is not None and FIELD_TYPES[self.field] != self.type:
            need = FIELD_TYPES[self.field]
            message = f"the lead's {self.field} needs a {need} question (this is {self.type})"
            found.append((("field",), message))
        if found:
            raise _Refs(found)
        return self

    def to_question(self) -> Question:
        kind = AnswerKind(self.type)
        reject = self.reject_disposable is not False
        return Question(
            id=self.id,
            ask=self.ask,
            kind=kind,
            field=self.field,
            choices=self.choices or (),
            minimum=self.min,
            maximum=self.max,
            max_length=self.max_length or DEFAULT_TEXT_LENGTH,
            reask=self.reask or default_reask(self, reject),
            optional=self.optional,
            skip_if=None if self.skip_if is None else self.skip_if.condition(self.skip_if.question),
            reject_disposable=kind is AnswerKind.EMAIL and reject,
        )


def default_reask(q: QuestionConfig, reject_disposable: bool) -> str:
    """A friendly re-ask for a question that has none of its own."""
    if q.type == "email":
        text = "That doesn't look like an email address I can use. Could you check it?"
        if reject_disposable:
            text += " (Temporary or disposable addresses aren't accepted.)"
    elif q.type == "phone":
        text = (
            "That doesn't look like a phone number. Could you check it, "
            "with the country code if you're abroad (e.g. +44 20 7946 0958)?"
        )
    elif q.type == "number":
        text = f"Please answer with a number{_range(q.min, q.max)}, like 25 or 1,200."
    elif q.type == "choice":
        text = "Please pick one of these options (or type its number)."
    else:
        text = "Sorry, I didn't catch that. Could you type your answer?"
    return text + (' You can also type "skip".' if q.optional else "")


def _range(low: float | None, high: float | None) -> str:
    if low is not None and high is not None:
        return f" from {low:,g} to {high:,g}"
    if low is not None:
        return f" of at least {low:,g}"
    if high is not None:
        return f" of at most {high:,g}"
    return ""


class Closing(_Section):
    """What the bot says when qualification ends, by how it ended."""

    completed: LongText = (
        "Thanks, that's everything I need! Someone from our team will reply right here shortly."
    )
    human: LongText = (
        "Of course, I'm bringing in a person from our team. They'll reply right here shortly."
    )
    partial: LongText = "Thanks for your time! Someone from our team will be in touch."
    #: A completed script whose lead is not sales-ready yet (nurtured: no rep is coming now).
    nurtured: LongText = "Thanks, that's everything I need! Someone from our team will be in touch."


DEFAULT_GREETING = (
    "Hi there! A few quick questions so we can put you in touch with the right person. "
    'You can type "talk to a human" at any time.'
)
DEFAULT_HUMAN_PHRASES = (
    "talk to a human",
    "speak to a human",
    "talk to a person",
    "speak to a person",
    "real person",
    "human please",
    "agent",
    "human",
)
# The default questions, as they would be written in the file.
DEFAULT_QUESTIONS: tuple[dict[str, Any], ...] = (
    {
        "id": "name",
        "ask": "First, what's your name?",
        "type": "text",
        "field": "name",
        "max_length": 80,
    },
    {"id": "email", "ask": "Thanks! What's your work email?", "type": "email", "field": "email"},
    {
        "id": "company",
        "ask": "Which company are you with?",
        "type": "text",
        "field": "company",
        "max_length": 120,
    },
    {
        "id": "company_size",
        "ask": "Roughly how many people work there?",
        "type": "number",
        "min": 1,
        "max": 1000000,
    },
    {
        "id": "budget",
        "ask": "What budget do you have in mind?",
        "type": "choice",
        "choices": ["Under $10k", "$10k to $50k", "Over $50k", "Not sure yet"],
    },
    {
        "id": "timeline",
        "ask": "When would you like to get started?",
        "type": "choice",
        "choices": ["This month", "This quarter", "Later this year", "Just researching"],
    },
    {
        "id": "phone",
        "ask": 'What\'s the best number to call you on? (optional: type "skip")',
        "type": "phone",
        "field": "phone",
        "optional": True,
        "skip_if": {"question": "timeline", "equals": "Just researching"},
    },
)


class ScriptSection(_Section):
    """The ``script:`` section: greeting, questions, talk-to-a-human and closings."""

    greeting: LongText = DEFAULT_GREETING
    max_attempts: int = Field(default=2, ge=1, le=5, strict=True)
    human_phrases: tuple[HumanPhrase, ...] = Field(
        default=DEFAULT_HUMAN_PHRASES, min_length=1, max_length=30
    )
    closing: Closing = Closing()
    questions: tuple[QuestionConfig, ...] = Field(
        default_factory=lambda: tuple(QuestionConfig.model_validate(q) for q in DEFAULT_QUESTIONS),
        max_length=30,
    )

    # Built once per section; private attributes take part in ==, and two equal
    # sections build equal scripts, so equality still means "same file".
    _script: Script = PrivateAttr()

    @field_validator("questions")
    @classmethod
    def _questions_consistent(
        cls, questions: tuple[QuestionConfig, ...]
    ) -> tuple[QuestionConfig, ...]:
        if not questions:
            raise _Refs([((), "must list at least one question")])
        found: list[tuple[Loc, str]] = [
            ((i, "id"), f"question id {questions[i].id!r} is already used by questions[{j}]")
            for i, j in _duplicates([q.id for q in questions])
        ]
        fields = [q.field for q in questions]
        found += [
            ((i, "field"), f"the lead's {fields[i]} is already filled by questions[{j}]")
            for i, j in _duplicates(fields)
            if fields[i] is not None
        ]
        position: dict[str, int] = {}
        for i, q in enumerate(questions):
            position.setdefault(q.id, i)
        for i, q in enumerate(questions):
            if q.skip_if is not None:
                found += _check_skip_if(q.skip_if, i, questions, position)
        if found:
            raise _Refs(found)
        return questions

    def model_post_init(self, context: Any, /) -> None:
        self._script = Script(
            questions=tuple(q.to_question() for q in self.questions),
            greeting=self.greeting,
            max_attempts=self.max_attempts,
            human_phrases=self.human_phrases,
            closing_completed=self.closing.completed,
            closing_human=self.closing.human,
            closing_partial=self.closing.partial,
            closing_nurtured=self.closing.nurtured,
        )

    def to_script(self) -> Script:
        """The domain script this section describes (built once, then shared)."""
        return self._script


def _check_skip_if(
    cond: SkipIf, i: int, questions: tuple[QuestionConfig, ...], position: dict[str, int]
) -> list[tuple[Loc, str]]:
    """Problems with question ``i``'s condition: it must look back, with usable values."""
    here: Loc = (i, "skip_if")
    j = position.get(cond.question)
    if j is None:
        return [((*here, "question"), f"no question has the id {cond.question!r}")]
    if j >= i:
        which = "this question itself" if j == i else f"questions[{j}], which comes later"
        message = f"must name an earlier question ({cond.question!r} is {which})"
        return [((*here, "question"), message)]
    return check_values(cond, cond.question, questions[j], here)


def check_values(
    test: Comparison, qid: str, target: QuestionConfig, here: Loc
) -> list[tuple[Loc, str]]:
    """Problems with a test on the answer to ``target``: values that answer cannot have.

    Shared by skip conditions, scoring rules and routing rules; ``here`` is
    where ``test`` is, so each bad value is reported at its own key.
    """
    op = test.operator
    key: Loc = (*here, op.value)  # the key as written: `in`, not the field `in_`
    if op in (Operator.LESS_THAN, Operator.AT_LEAST):
        if target.type != "number":
            return [(key, f"compares numbers, but {qid!r} is a {target.type} question")]
        return []
    many = op in (Operator.IN, Operator.NOT_IN)
    found: list[tuple[Loc, str]] = []
    for k, value in enumerate(test.values):
        at = (*key, k) if many else key
        if target.type == "choice":
            choices = target.choices or ()
            if isinstance(value, str) and _exact(choices, value) is not None:
                continue
            listed = ", ".join(repr(c) for c in choices)
            message = f"must be one of the choices of {qid!r}: {listed}"
            found.append((at, f"{message} (got {_show(value)})"))
        elif target.type == "number" and isinstance(value, str):
            message = f"must be a number, as {qid!r} is a number question"
            found.append((at, f"{message} (got {_show(value)})"))
    return found


def _exact(choices: tuple[str, ...], value: str) -> str | None:
    folded = " ".join(value.casefold().split())
    return next((c for c in choices if " ".join(c.casefold().split()) == folded), None)

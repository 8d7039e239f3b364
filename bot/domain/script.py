"""The qualification script engine: what the bot says next and what an answer means. Pure.

A script is configuration (``bot/config/script.py`` builds one); how far a
conversation has got is a ``ScriptState``, a plain value the caller stores as
JSON between turns.  Each visitor message is one call to ``answer``, which
returns the next state, the bot's lines and the input the widget should offer.
Nothing here reads the clock, so the idle timeout that turns a quiet visitor
into a partial lead belongs to the caller; ``abandon`` only says whether what
was answered so far is worth keeping.

How answers are read (each kind's normal form is what ``answers`` stores):

- text: trimmed, must not be empty, cut to the question's ``max_length``.
- email: ``parse_email``; its lowercased normal form is stored.  With
  ``reject_disposable`` a throwaway domain is a bad answer.
- phone: ``parse_phone`` against the caller's region; stored in E.164.
- number: ``25``, ``-3``, ``1,200``, ``2.5``, ``1.5k``, ``2M``, ``$50,000``,
  ``500+`` (a currency sign before, ``k``/``m`` and ``+`` after); a range such
  as ``10-50``, words, or a decimal comma are bad answers, so the visitor is
  asked again rather than guessed at.  Whole numbers are stored as ``int``.
- choice: a label (case and spacing ignored), its 1-based number, or the
  start of exactly one label; the label itself is stored.  A reply of only
  digits is read as a number, never as the start of a label.

Words such as "skip" skip an ``optional`` question; on any other question
they are a bad answer.  A bad answer gets the question's ``reask`` (with the
choices again); after ``max_attempts`` bad answers the script moves on and
the question stays unanswered, so a visitor is never stuck in a loop.
"""

from __future__ import annotations

import functools
from collections.abc import Mapping
from dataclasses import dataclass, replace
from enum import StrEnum
from types import MappingProxyType
from typing import Any

from bot.domain.answers import (
    fold,
    is_int,
    is_number,
    match_choice,
    parse_number,
    same,
    words,
)
from bot.domain.contact import ContactError, is_disposable, parse_email, parse_phone

__all__ = [
    "AnswerKind",
    "BotLine",
    "Condition",
    "InputHint",
    "Operator",
    "Outcome",
    "Question",
    "Script",
    "ScriptState",
    "Turn",
    "abandon",
    "answer",
    "answers_for_lead",
    "closing",
    "contact_fields",
    "match_choice",
    "parse_number",
    "start",
    "wants_human",
]

#: Longest raw text kept per question in ``ScriptState.given`` (a widget message's limit).
GIVEN_LIMIT = 2000

#: What a visitor may type to leave out an optional question.
SKIP_WORDS = frozenset({"skip", "pass", "n/a", "no thanks", "prefer not to say", "skip it"})


class AnswerKind(StrEnum):
    TEXT = "text"
    EMAIL = "email"
    PHONE = "phone"
    CHOICE = "choice"
    NUMBER = "number"


class Outcome(StrEnum):
    COMPLETED = "completed"  # every question was asked
    HUMAN = "human"  # the visitor asked for a person
    PARTIAL = "partial"  # the visitor went quiet after leaving an email or phone


class Operator(StrEnum):
    EQUALS = "equals"
    IN = "in"
    NOT_IN = "not_in"
    LESS_THAN = "less_than"
    AT_LEAST = "at_least"


@dataclass(frozen=True)
class Condition:
    """Skip a question when the answer to ``question``, an earlier one, passes a test.

    ``values`` holds one value for equals, less_than and at_least, and the set
    for in and not_in.  Text compares without regard to case or spacing;
    numbers compare as numbers.
    """

    question: str
    operator: Operator
    values: tuple[str | float, ...]

    def holds(self, answers: Mapping[str, str | float]) -> bool | None:
        """Whether the condition is true; None when the question was not answered."""
        if self.question not in answers:
            return None
        got = answers[self.question]
        if self.operator in (Operator.LESS_THAN, Operator.AT_LEAST):
            limit = self.values[0]
            if isinstance(got, str) or isinstance(limit, str):
                return False
            return got < limit if self.operator is Operator.LESS_THAN else got >= limit
        hit = any(same(got, value) for value in self.values)
        return not hit if self.operator is Operator.NOT_IN else hit


@dataclass(frozen=True)
class Question:
    id: str
    ask: str
    kind: AnswerKind
    field: str | None  # the lead field it fills: name, email, phone or company
    choices: tuple[str, ...]
    minimum: float | None
    maximum: float | None
    max_length: int
    reask: str
    optional: bool
    skip_if: Condition | None
    reject_disposable: bool


@dataclass(frozen=True)
class Script:
    questions: tuple[Question, ...]
    greeting: str
    max_attempts: int
    human_phrases: tuple[str, ...]
    closing_completed: str
    closing_human: str
    closing_partial: str
    closing_nurtured: str = (
        "Thanks, that's everything I need! Someone from our team will be in touch."
    )

    @functools.cached_property
    def human_words(self) -> tuple[frozenset[str], tuple[str, ...]]:
        """`human_phrases` as `words`, once per script (every message is checked): the
        one-word phrases, which must be the whole message, and the longer ones."""
        normal = [w for w in (words(p) for p in self.human_phrases) if w]
        return frozenset(w for w in normal if " " not in w), tuple(w for w in normal if " " in w)


@dataclass(frozen=True)
class BotLine:
    """Something the bot says; ``choices`` are shown as buttons under it."""

    text: str
    choices: tuple[str, ...] = ()


@dataclass(frozen=True)
class InputHint:
    """What the widget should offer for the next reply (docs/widget-protocol.md)."""

    kind: AnswerKind
    choices: tuple[str, ...] = ()
    placeholder: str = ""


@dataclass(frozen=True)
class ScriptState:
    """Everything needed to resume a conversation's script; survives a JSON round trip.

    ``index`` is the question waiting for an answer (None once finished);
    ``attempts`` the bad answers to it so far; ``answers`` the normal form of
    each valid answer by question id; ``given`` the visitor's last raw text
    for each question asked, valid or not (trimmed, at most GIVEN_LIMIT).
    """

    index: int | None
    attempts: int
    answers: Mapping[str, str | float]
    given: Mapping[str, str]
    finished: Outcome | None
    asked_for_human: bool

    def __post_init__(self) -> None:
        # Read-only copies, so a state handed out can never change under its holder.
        object.__setattr__(self, "answers", MappingProxyType(dict(self.answers)))
        object.__setattr__(self, "given", MappingProxyType(dict(self.given)))

    def to_json(self) -> dict[str, Any]:
        return {
            "index": self.index,
            "attempts": self.attempts,
            "answers": dict(self.answers),
            "given": dict(self.given),
            "finished": None if self.finished is None else self.finished.value,
            "asked_for_human": self.asked_for_human,
        }

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> ScriptState:
        """Rebuild a state from ``to_json`` output; ValueError if it is not one."""
        index = data.get("index")
        attempts = data.get("attempts")
        answers = data.get("answers")
        given = data.get("given")
        finished = data.get("finished")
        human = data.get("asked_for_human")
        if index is not None and not is_int(index):
            raise ValueError(f"script state: index must be a whole number or null: {index!r}")
        if not isinstance(attempts, int) or isinstance(attempts, bool) or attempts < 0:
            raise ValueError(f"script state: attempts must be a whole number >= 0: {attempts!r}")
        if not isinstance(answers, Mapping) or not all(
            isinstance(k, str) and (isinstance(v, str) or is_number(v)) for k, v in answers.items()
        ):
            raise ValueError("script state: answers must map question ids to text or numbers")
        if not isinstance(given, Mapping) or not all(
            isinstance(k, str) and isinstance(v, str) for k, v in given.items()
        ):
            raise ValueError("script state: given must map question ids to text")
        try:
            outcome = None if finished is None else Outcome(finished)
        except ValueError:
            raise ValueError(f"script state: unknown outcome {finished!r}") from None
        if not isinstance(human, bool):
            raise ValueError("script state: asked_for_human must be true or false")
        return cls(
            index=index,
            attempts=attempts,
            answers=answers,
            given=given,
            finished=outcome,
            asked_for_human=human,
        )


@dataclass(frozen=True)
class Turn:
    """The result of one step: the new state, what to say, what input to offer next."""

    state: ScriptState
    say: tuple[BotLine, ...]
    input: InputHint | None
    finished: Outcome | None


# --------------------------------------------------------------------------- steps


def start(script: Script) -> Turn:
    """Open a conversation: the greeting and the first question that is not skipped."""
    empty = ScriptState(
        index=None, attempts=0, answers={}, given={}, finished=None, asked_for_human=False
    )
    return _advance(script, empty, after=-1, say=(BotLine(script.greeting),))


def answer(script: Script, state: ScriptState, text: str, *, phone_region: str) -> Turn:
    """Take one visitor message: validate it, re-ask or move on, or finish.

    ``phone_region`` is the ISO country used for phone numbers typed without
    ``+country``.  Once the script has finished, messages belong to the live
    chat: the state is returned unchanged and the bot says nothing.
    """
    if state.finished is not None:
        return Turn(state, (), None, state.finished)
    if wants_human(script, text):
        return _finish(script, replace(state, asked_for_human=True), Outcome.HUMAN)
    question = _current(script, state)
    if question is None:  # the script changed under a stored state; nothing left to ask
        return _finish(script, state, Outcome.COMPLETED)
    raw = _cap(text)
    state = replace(state, given={**state.given, question.id: raw})
    if _is_skip(question, raw):
        if question.optional:
            return _advance(script, state, after=_index(state))
        value: str | float | None = None
    else:
        value = _normalize(question, raw, phone_region)
    if value is not None:
        answered = replace(state, answers={**state.answers, question.id: value})
        return _advance(script, answered, after=_index(state))
    attempts = state.attempts + 1
    if attempts >= script.max_attempts:
        return _advance(script, state, after=_index(state))
    line = BotLine(question.reask, question.choices)
    return Turn(replace(state, attempts=attempts), (line,), _hint(question), None)


def abandon(script: Script, state: ScriptState) -> Outcome | None:
    """On idle: PARTIAL if an email or phone was answered and the script is unfinished.

    None means there is nothing worth a lead yet (or the script already ended).
    """
    if state.finished is not None:
        return None
    contact = any(
        q.kind in (AnswerKind.EMAIL, AnswerKind.PHONE) and q.id in state.answers
        for q in script.questions
    )
    return Outcome.PARTIAL if contact else None


def closing(script: Script, outcome: Outcome, *, nurtured: bool = False) -> BotLine:
    """The closing line for an outcome.

    The engine says only the HUMAN one itself. A COMPLETED script's closing
    depends on where the lead went (a rep replies in the chat; a nurtured lead
    hears "we'll be in touch"), so the caller says it once the capture has
    decided, with `nurtured`; the caller also says the PARTIAL one on idle.
    """
    if outcome is Outcome.COMPLETED and nurtured:
        return BotLine(script.closing_nurtured)
    text = {
        Outcome.COMPLETED: script.closing_completed,
        Outcome.HUMAN: script.closing_human,
        Outcome.PARTIAL: script.closing_partial,
    }[outcome]
    return BotLine(text)


def contact_fields(script: Script, state: ScriptState) -> dict[str, str]:
    """The lead's contact fields from the questions that fill one.

    Email and phone are the visitor's text as given (the lead normalizes them
    itself when it deduplicates); name and company are the trimmed answers.
    """
    out: dict[str, str] = {}
    for q in script.questions:
        if q.field is None or q.id not in state.answers:
            continue
        if q.kind in (AnswerKind.EMAIL, AnswerKind.PHONE) and q.id in state.given:
            out[q.field] = state.given[q.id]
        else:
            out[q.field] = str(state.answers[q.id])
    return out


def answers_for_lead(script: Script, state: ScriptState) -> dict[str, str | float]:
    """The answers that are not contact fields, by question id, in script order."""
    return {
        q.id: state.answers[q.id]
        for q in script.questions
        if q.field is None and q.id in state.answers
    }


def wants_human(script: Script, text: str) -> bool:
    """Whether a message asks for a person.

    A phrase of several words matches anywhere in the message as whole words
    ("can I talk to a human please?"); a one-word phrase such as "agent" only
    when it is the whole message, so "Acme Agent Services" is a company name.
    """
    said = words(text)
    whole, anywhere = script.human_words
    padded = f" {said} "
    return said in whole or any(f" {phrase} " in padded for phrase in anywhere)


# --------------------------------------------------------------------------- moving along


def _advance(
    script: Script, state: ScriptState, *, after: int, say: tuple[BotLine, ...] = ()
) -> Turn:
    """Ask the first question after ``after`` whose skip condition does not hold."""
    for i in range(after + 1, len(script.questions)):
        q = script.questions[i]
        if q.skip_if is not None and q.skip_if.holds(state.answers):
            continue
        asked = replace(state, index=i, attempts=0)
        return Turn(asked, (*say, BotLine(q.ask, q.choices)), _hint(q), None)
    return _finish(script, state, Outcome.COMPLETED, say=say)


def _finish(
    script: Script, state: ScriptState, outcome: Outcome, *, say: tuple[BotLine, ...] = ()
) -> Turn:
    done = replace(state, index=None, attempts=0, finished=outcome)
    said = (*say, closing(script, outcome)) if outcome is Outcome.HUMAN else say
    return Turn(done, said, None, outcome)


def _current(script: Script, state: ScriptState) -> Question | None:
    if state.index is None or not 0 <= state.index < len(script.questions):
        return None
    return script.questions[state.index]


def _index(state: ScriptState) -> int:
    assert state.index is not None  # _current returned a question
    return state.index


_PLACEHOLDERS = {
    AnswerKind.TEXT: "Type your answer",
    AnswerKind.EMAIL: "name@company.com",
    AnswerKind.PHONE: "Phone number, e.g. +44 20 7946 0958",
    AnswerKind.NUMBER: "A number, e.g. 25",
    AnswerKind.CHOICE: "Pick an option or type it",
}


def _hint(q: Question) -> InputHint:
    placeholder = _PLACEHOLDERS[q.kind] + (' (or "skip")' if q.optional else "")
    return InputHint(q.kind, q.choices, placeholder)


# --------------------------------------------------------------------------- reading answers


def _normalize(q: Question, raw: str, phone_region: str) -> str | float | None:
    """The answer's normal form, or None when it is not a valid answer to ``q``."""
    if not raw:
        return None
    if q.kind is AnswerKind.TEXT:
        return raw[: q.max_length].rstrip()
    if q.kind is AnswerKind.EMAIL:
        try:
            email = parse_email(raw)
        except ContactError:
            return None
        if q.reject_disposable and is_disposable(email.normalized):
            return None
        return email.normalized
    if q.kind is AnswerKind.PHONE:
        try:
            return parse_phone(raw, phone_region).e164
        except ContactError:
            return None
    if q.kind is AnswerKind.NUMBER:
        number = parse_number(raw)
        if number is None:
            return None
        if (q.minimum is not None and number < q.minimum) or (
            q.maximum is not None and number > q.maximum
        ):
            return None
        return number
    return match_choice(q.choices, raw)


def _is_skip(q: Question, raw: str) -> bool:
    said = fold(raw)
    if said not in SKIP_WORDS:
        return False
    # A choice labelled "Pass" (say) is an answer, not a skip.
    return not any(fold(label) == said for label in q.choices)


def _cap(text: str) -> str:
    return text.strip()[:GIVEN_LIMIT].rstrip()

"""The ``scoring:`` section: points for answers and behaviour, thresholds, decay (SPEC §4).

Each rule is ``{when: {one test}, points: N, label: why}``; the tests are

- ``{answer: budget, equals: Over $50k}`` (or ``in``, ``not_in``,
  ``less_than``, ``at_least``, as in a skip condition);
- ``{page: /pricing}`` or ``{page: /docs/*}``: the visitor viewed it;
- ``{return_visit: true}``, ``{asked_for_human: true}``;
- ``{email: disposable}`` or ``{email: free_mail}``;
- ``{intake: api}`` or ``{intake: [api, import]}``;
- ``{source: newsletter}`` or ``{source: [google, bing]}`` (case ignored).

Answer tests name a question of the script and use values its answers can
have; ``LeadbotConfig`` checks that (``check_scoring``), since it needs both
sections.  Leaving the section out gives ``ScoringModel.default()``: every
lead is SQL and nothing decays.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Annotated, Any, Literal, Self

from pydantic import AfterValidator, Field, PrivateAttr, model_validator

from bot.config.fields import Domain, OneOrMany, Slug, _pattern, _Section, as_tuple
from bot.config.problems import Loc, _Refs
from bot.config.script import Comparison, QuestionConfig, check_values
from bot.domain.scoring import (
    AnswerTest,
    AskedForHuman,
    EmailTest,
    FactTest,
    IntakeTest,
    PageTest,
    ReturnVisit,
    ScoreRule,
    ScoringModel,
    SourceTest,
)

Intake = Literal["api", "widget", "import"]
SourceName = Annotated[str, Field(min_length=1, max_length=100)]
PagePath = Annotated[
    str,
    AfterValidator(
        _pattern(
            r"/[^\s*?#]*\*?",
            'a URL path starting with "/", like /pricing, or a section ending in "*", like /docs/*',
        )
    ),
]
Label = Annotated[str, Field(min_length=1, max_length=60)]

#: The kinds of test a rule's ``when`` may hold, one per rule.
TEST_KINDS = ("answer", "page", "return_visit", "asked_for_human", "email", "intake", "source")


class When(Comparison):
    """What a scoring rule looks for: exactly one test (see the module docstring)."""

    answer: Slug | None = None
    page: PagePath | None = None
    return_visit: bool | None = Field(default=None, strict=True)
    asked_for_human: bool | None = Field(default=None, strict=True)
    email: Literal["disposable", "free_mail"] | None = None
    intake: OneOrMany[Intake] | None = None
    source: OneOrMany[SourceName] | None = None

    @model_validator(mode="after")
    def _one_test(self) -> Self:  # overrides Comparison's: the operator goes with 'answer' only
        kinds = [kind for kind in TEST_KINDS if getattr(self, kind) is not None]
        if len(kinds) != 1:
            found = f" (found {' and '.join(kinds)})" if kinds else ""
            raise _Refs([((), f"needs exactly one of {', '.join(TEST_KINDS)}{found}")])
        kind = kinds[0]
        if kind == "answer":
            self._check_one_operator()
            return self
        found_ops: list[tuple[Loc, str]] = [
            ((op.value,), f"'{op.value}' goes with 'answer' (this rule tests '{kind}')")
            for op in self._given()
        ]
        if getattr(self, kind) is False:
            message = "must be true (a rule that scores its absence is not supported)"
            found_ops.append(((kind,), message))
        if isinstance(self.intake, tuple) and not self.intake:
            found_ops.append((("intake",), "must list at least one of api, widget, import"))
        if isinstance(self.source, tuple) and not self.source:
            found_ops.append((("source",), "must list at least one source"))
        if found_ops:
            raise _Refs(found_ops)
        return self

    def to_test(self, free_mail_domains: frozenset[str]) -> FactTest:
        if self.answer is not None:
            return AnswerTest(self.condition(self.answer))
        if self.page is not None:
            return PageTest(self.page)
        if self.return_visit:
            return ReturnVisit()
        if self.asked_for_human:
            return AskedForHuman()
        if self.email is not None:
            extra = free_mail_domains if self.email == "free_mail" else frozenset()
            return EmailTest(self.email, extra)
        if self.intake is not None:
            return IntakeTest(frozenset(as_tuple(self.intake)))
        return SourceTest(as_tuple(self.source))


class ScoreRuleConfig(_Section):
    """``points`` (-1000 to 1000, not 0) when the test in ``when`` holds."""

    when: When
    points: int = Field(ge=-1000, le=1000, strict=True)
    label: Label

    @model_validator(mode="after")
    def _worth_something(self) -> ScoreRuleConfig:
        if self.points == 0:
            raise _Refs([(("points",), "must not be 0 (a rule worth no points does nothing)")])
        return self


class Thresholds(_Section):
    """Points from which a lead is MQL and SQL (SQL leads go to reps)."""

    mql: int = Field(ge=0, strict=True)
    sql: int = Field(ge=0, strict=True)

    @model_validator(mode="after")
    def _ordered(self) -> Thresholds:
        if self.sql < self.mql:
            raise _Refs([(("sql",), f"must be at least mql ({self.mql}) (got {self.sql})")])
        return self


class ScoringSection(_Section):
    """The ``scoring:`` section."""

    thresholds: Thresholds
    half_life_days: float | None = Field(default=None, gt=0, le=3650, strict=True)
    top_reasons: int = Field(default=3, ge=1, le=10, strict=True)
    free_mail_domains: tuple[Domain, ...] = ()
    rules: tuple[ScoreRuleConfig, ...] = Field(default=(), max_length=200)

    _model: ScoringModel = PrivateAttr()

    def model_post_init(self, context: Any, /) -> None:
        extra = frozenset(self.free_mail_domains)
        self._model = ScoringModel(
            rules=tuple(
                ScoreRule(rule.when.to_test(extra), rule.points, rule.label) for rule in self.rules
            ),
            mql=self.thresholds.mql,
            sql=self.thresholds.sql,
            half_life=None if self.half_life_days is None else timedelta(days=self.half_life_days),
            top_reasons=self.top_reasons,
        )

    def to_model(self) -> ScoringModel:
        """The domain scoring model (built once, then shared)."""
        return self._model


def answer_problems(
    qid: str, test: Comparison, questions: tuple[QuestionConfig, ...], here: Loc, key: str
) -> list[tuple[Loc, str]]:
    """Problems with a test on the answer ``qid``: it must be a kept answer, with usable values.

    ``here`` locates the test and ``key`` the key that names the question.
    """
    target = next((q for q in questions if q.id == qid), None)
    if target is None:
        ids = ", ".join(q.id for q in questions)
        return [((*here, key), f"no question has the id {qid!r} (questions: {ids})")]
    if target.field is not None:
        message = (
            f"{qid!r} fills the lead's {target.field}, which is not kept as an answer; "
            "test a question without 'field'"
        )
        return [((*here, key), message)]
    return check_values(test, qid, target, here)


def check_scoring(
    scoring: ScoringSection, questions: tuple[QuestionConfig, ...]
) -> list[tuple[Loc, str]]:
    """Problems with the answer tests of the rules, against the script's questions."""
    found: list[tuple[Loc, str]] = []
    for i, rule in enumerate(scoring.rules):
        if rule.when.answer is not None:
            here: Loc = ("rules", i, "when")
            found += answer_problems(rule.when.answer, rule.when, questions, here, "answer")
    return found

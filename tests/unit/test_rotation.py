"""Round robin by balance (bot/domain/rotation.py): table tests and fairness over time."""

from __future__ import annotations

import random
from collections.abc import Collection, Sequence
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from bot.domain.rotation import Candidate, Choice, Skipped, SkipReason, choose_rep
from tests.factories import fairness_bound

T0 = datetime(2024, 3, 4, 9, 0, tzinfo=UTC)


def at(minutes: int) -> datetime:
    return T0 + timedelta(minutes=minutes)


@dataclass
class Team:
    """The rotation state the store keeps, applied in memory, plus the fair share each rep
    is owed as computed here from availability alone (not from `Choice.shares`).

    `plain=True` forgets balances, which leaves plain least-recently-offered order.
    """

    weights: Sequence[int]
    plain: bool = False
    earned: list[float] = field(init=False)
    offers: list[int] = field(init=False)
    last: list[datetime | None] = field(init=False)
    fair: list[float] = field(init=False)
    leads: int = 0
    worst: float = 0.0

    def __post_init__(self) -> None:
        n = len(self.weights)
        self.earned, self.offers, self.last = [0.0] * n, [0] * n, [None] * n
        self.fair = [0.0] * n

    def offer(self, available: Collection[int]) -> int | None:
        """Offer one lead with only the reps at `available` positions able to take it."""
        self.leads += 1
        choice = choose_rep(
            [
                Candidate(
                    rep_id=f"r{i}",
                    position=i,
                    weight=w,
                    earned=0.0 if self.plain else self.earned[i],
                    offers=0 if self.plain else self.offers[i],
                    last_offered_at=self.last[i],
                    away=i not in available,
                )
                for i, w in enumerate(self.weights)
            ]
        )
        total = sum(self.weights[i] for i in available)
        for i in available:
            self.fair[i] += self.weights[i] / total
        for rep_id, share in choice.shares.items():
            self.earned[int(rep_id[1:])] += share
        chosen = None if choice.rep_id is None else int(choice.rep_id[1:])
        if chosen is not None:
            self.offers[chosen] += 1
            self.last[chosen] = at(self.leads)
        self.worst = max(self.worst, self.deviation())
        return chosen

    def deviation(self) -> float:
        return max(abs(o - f) for o, f in zip(self.offers, self.fair, strict=True))


def cand(rep_id: str, position: int, **fields: Any) -> Candidate:
    return replace(Candidate(rep_id=rep_id, position=position), **fields)


# --- who is next --------------------------------------------------------------------------


def test_equal_weights_in_steady_state_is_least_recently_offered_order() -> None:
    team = Team([1, 1, 1, 1])
    everyone = range(4)
    first = [team.offer(everyone) for _ in range(4)]
    assert first == [0, 1, 2, 3]
    assert [team.offer(everyone) for _ in range(12)] == first * 3
    # Order by who was offered least recently, not by queue position.
    assert [team.offer({1, 2}), team.offer({1, 2})] == [1, 2]
    assert [team.offer(everyone) for _ in range(4)] == [0, 3, 1, 2]


@pytest.mark.parametrize(
    ("candidates", "chosen"),
    [
        pytest.param(
            [
                cand("a", 0, last_offered_at=at(1)),
                cand("b", 1),
                cand("c", 2, last_offered_at=at(2)),
            ],
            "b",
            id="never-offered-first",
        ),
        pytest.param(
            [cand("a", 0, last_offered_at=at(5)), cand("b", 1, last_offered_at=at(3))],
            "b",
            id="least-recently-offered",
        ),
        pytest.param([cand("c", 2), cand("b", 1), cand("a", 0)], "a", id="tie-by-position"),
        pytest.param(
            [cand("c", 2, last_offered_at=at(1)), cand("b", 1, last_offered_at=at(1))],
            "b",
            id="same-moment-by-position",
        ),
        pytest.param(
            [
                cand("a", 0, earned=2.0, offers=2),
                cand("b", 1, earned=2.5, offers=2, last_offered_at=at(9)),
            ],
            "b",
            id="balance-before-recency",
        ),
        pytest.param(
            [
                # Six shares of a third as they accrue: 1.9999999999999998.
                cand("a", 0, earned=sum([1 / 3] * 6), offers=2, last_offered_at=at(1)),
                cand("b", 1, earned=2.0, offers=2, last_offered_at=at(2)),
                cand("c", 2, earned=2.0, offers=3, last_offered_at=at(3)),
            ],
            "a",
            id="float-noise-is-a-tie",
        ),
    ],
)
def test_who_is_next(candidates: list[Candidate], chosen: str) -> None:
    assert choose_rep(candidates).rep_id == chosen


# --- who is passed over, and why ------------------------------------------------------------


@pytest.mark.parametrize(
    ("fields", "excluded", "reason"),
    [
        ({"away": True}, (), SkipReason.AWAY),
        ({"working": False}, (), SkipReason.OFF_HOURS),
        ({"open_leads": 3, "capacity": 3}, (), SkipReason.AT_CAPACITY),
        ({"open_leads": 4, "capacity": 3}, (), SkipReason.AT_CAPACITY),
        ({}, ("a",), SkipReason.EXCLUDED),
    ],
)
def test_each_skip_reason(
    fields: dict[str, object], excluded: tuple[str, ...], reason: SkipReason
) -> None:
    choice = choose_rep([cand("a", 0, **fields), cand("b", 1)], excluded)
    assert choice == Choice("b", (Skipped("a", reason),), {"b": 1.0})


def test_one_below_capacity_is_available() -> None:
    assert choose_rep([cand("a", 0, open_leads=2, capacity=3)]).rep_id == "a"


def test_skipped_reps_are_listed_in_queue_order() -> None:
    choice = choose_rep(
        [
            cand("e", 4),
            cand("d", 3, open_leads=10),
            cand("c", 2, working=False),
            cand("b", 1),
            cand("a", 0, away=True),
        ],
        excluded={"b"},
    )
    assert choice.rep_id == "e"
    assert choice.skipped == (
        Skipped("a", SkipReason.AWAY),
        Skipped("b", SkipReason.EXCLUDED),
        Skipped("c", SkipReason.OFF_HOURS),
        Skipped("d", SkipReason.AT_CAPACITY),
    )


def test_nobody_available_offers_to_nobody_and_shares_nothing() -> None:
    choice = choose_rep([cand("a", 0, away=True), cand("b", 1, working=False)])
    assert choice.rep_id is None and choice.shares == {}
    assert [s.rep_id for s in choice.skipped] == ["a", "b"]
    assert choose_rep([]) == Choice(None, (), {})


# --- shares and weights ---------------------------------------------------------------------


def test_shares_go_to_available_reps_by_weight_and_sum_to_one() -> None:
    choice = choose_rep(
        [
            cand("a", 0, weight=3),
            cand("b", 1, weight=1, away=True),
            cand("c", 2, weight=2),
            cand("d", 3, weight=1),
        ]
    )
    assert choice.shares == pytest.approx({"a": 0.5, "c": 1 / 3, "d": 1 / 6})
    assert sum(choice.shares.values()) == pytest.approx(1.0)


def test_weights_two_to_one_give_two_to_one_offers() -> None:
    team = Team([2, 1])
    for n in range(1, 301):
        team.offer({0, 1})
        assert abs(team.offers[0] - 2 * n / 3) <= 1
    assert team.offers == [200, 100]


# --- fairness while availability changes ------------------------------------------------------


def availability_periods(rnd: random.Random, reps: int, leads: int) -> list[set[int]]:
    """Who is available for each lead: a new random set every 10-100 leads."""
    schedule: list[set[int]] = []
    while len(schedule) < leads:
        available = {i for i in range(reps) if rnd.random() < 0.7}
        schedule += [available] * rnd.randint(10, 100)
    return schedule[:leads]


@pytest.mark.parametrize("weighted", [False, True], ids=["equal", "weighted"])
def test_offers_stay_near_fair_share_as_availability_changes(weighted: bool) -> None:
    worst = 0.0
    for seed in range(20):
        rnd = random.Random(seed)
        reps = rnd.randint(3, 6)
        weights = [rnd.randint(1, 4) if weighted else 1 for _ in range(reps)]
        team = Team(weights)
        for available in availability_periods(rnd, reps, 1000):
            team.offer(available)
            assert team.deviation() <= fairness_bound(reps), (seed, weights, team.leads)
        worst = max(worst, team.worst)
    # In practice far inside the worst case: past one only now and then, and only just
    # (reps who were owed went away at the wrong moment; 1.05 in 120 runs of 1,000 leads).
    assert worst <= 1.25, worst


def test_three_equal_reps_stay_within_one() -> None:
    for seed in range(50):
        rnd = random.Random(seed)
        team = Team([1, 1, 1])
        for available in availability_periods(rnd, 3, 300):
            team.offer(available)
        assert team.worst < 1, seed


def test_no_rule_keeps_five_reps_within_one() -> None:
    """Two leads among five reps leave two of them offered once; if the other three then
    go away, one of the two gets a second offer on a fair share of 2/5 + 1/2. Any rule
    must offer that lead to one of them: the bound of one is out of reach, not a bug."""
    team = Team([1] * 5)
    team.offer(range(5))
    team.offer(range(5))
    assert team.offer({0, 1}) == 0
    assert team.offers[0] - team.fair[0] == pytest.approx(1.1)


def test_plain_least_recently_offered_drifts_where_balances_do_not() -> None:
    """Carmen is away except for one lead in three, and plain rotation gives her every one
    of those: she was offered least recently. The balance remembers she is owed only a
    third of each of them."""
    plain, balanced = Team([1, 1, 1], plain=True), Team([1, 1, 1])
    for team in (plain, balanced):
        for _ in range(30):
            team.offer({0, 1})
            team.offer({0, 1})
            team.offer({0, 1, 2})
    assert plain.offers[2] == 30 and plain.fair[2] == pytest.approx(10)
    assert plain.worst == pytest.approx(20)
    assert abs(balanced.offers[2] - 10) <= 1 and balanced.worst < 1

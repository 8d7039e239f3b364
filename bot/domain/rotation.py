"""Round robin that stays fair while reps come and go (SPEC §5). Pure.

Each lead offered in a queue earns every rep *available* for it a share of
that lead in proportion to their weight (1/k each for k equal reps). A rep's
*balance* is the shares they have earned minus the offers they have had. The
next lead goes to the available rep with the highest balance; ties go to the
one least recently offered a lead, then to the earlier place in the queue.

While the same reps stay available this is exactly "the rep least recently
offered a lead" in turn. It differs when availability changes: a plain
least-recently-offered rotation gives a rep who is seldom available every lead
that comes in while they are (they were offered least recently), so the others
fall further and further behind (an unbounded drift), whereas the balance
remembers what each rep is owed, so the count of offers stays within
about one of each rep's fair share of the leads that came in while they were
available (tests/unit/test_rotation.py, tests/store/test_rotation_fairness.py).
Not always within one: when reps who are owed go away at the wrong moment no
rule can promise that once a queue has five reps; for this rule the worst case
with n equal reps is (n-1)/2 (the carpool problem's greedy schedule).
The balances live in the database, so fairness survives restarts and holds
across replicas that take the queue's lock before choosing.
"""

from __future__ import annotations

from collections.abc import Collection, Sequence
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum

#: Balances are compared after rounding, so float noise never decides a tie.
_PRECISION = 9


class SkipReason(StrEnum):
    AWAY = "away"
    OFF_HOURS = "outside working hours"
    AT_CAPACITY = "at capacity"
    EXCLUDED = "released it"


@dataclass(frozen=True)
class Candidate:
    """One rep of the queue as the rotation sees them at the moment of an offer."""

    rep_id: str
    position: int
    weight: int = 1
    earned: float = 0.0  # fair share of this queue's leads accrued while available
    offers: int = 0
    last_offered_at: datetime | None = None
    away: bool = False
    working: bool = True
    open_leads: int = 0
    capacity: int = 10

    @property
    def balance(self) -> float:
        return self.earned - self.offers


@dataclass(frozen=True)
class Skipped:
    rep_id: str
    reason: SkipReason


@dataclass(frozen=True)
class Choice:
    """Who gets the offer (None: nobody is available), who was passed over and why,
    and the share of this lead each available rep earns."""

    rep_id: str | None
    skipped: tuple[Skipped, ...]
    shares: dict[str, float]


def unavailable_because(c: Candidate, excluded: Collection[str] = ()) -> SkipReason | None:
    """Why a rep cannot be offered a lead now; None when they can."""
    if c.rep_id in excluded:
        return SkipReason.EXCLUDED
    if c.away:
        return SkipReason.AWAY
    if not c.working:
        return SkipReason.OFF_HOURS
    if c.open_leads >= c.capacity:
        return SkipReason.AT_CAPACITY
    return None


def choose_rep(candidates: Sequence[Candidate], excluded: Collection[str] = ()) -> Choice:
    """The rep to offer the next lead to, by the balance rule in this module's docstring.

    ``excluded`` reps (who just released the lead) are passed over for this
    offer and earn no share of it.
    """
    skipped: list[Skipped] = []
    available: list[Candidate] = []
    for c in sorted(candidates, key=lambda c: c.position):
        reason = unavailable_because(c, excluded)
        if reason is None:
            available.append(c)
        else:
            skipped.append(Skipped(c.rep_id, reason))
    if not available:
        return Choice(None, tuple(skipped), {})
    total = sum(c.weight for c in available)
    shares = {c.rep_id: c.weight / total for c in available}

    def rank(c: Candidate) -> tuple[float, int, float, int]:
        balance = round(c.balance + shares[c.rep_id], _PRECISION)
        never = c.last_offered_at is None
        since = c.last_offered_at.timestamp() if c.last_offered_at else 0.0
        # Highest balance, then never offered, then least recently, then queue order.
        return (-balance, 0 if never else 1, since, c.position)

    chosen = min(available, key=rank)
    return Choice(chosen.rep_id, tuple(skipped), shares)

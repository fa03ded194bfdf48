"""The rights paid once a year (ARS, bourses, chèque énergie: outreach/screening/rights.py) in the console's
figures: a detection counts its yearly amount, not 12 times it (the stored amount is the yearly one / 12)."""

from __future__ import annotations

from sqlalchemy.engine import Engine

from outreach.clock import FrozenClock
from outreach.screening.model import Right
from outreach.screening.rights import BY_ID
from tests.stats.test_figures import PRIME, figures, reach, screen


def national(right_id: str, amount: float) -> Right:
    """A right as outreach/screening/national.py writes it, from OpenFisca's amount (monthly or yearly)."""
    right = BY_ID[right_id]
    return Right(
        id=right.id,
        label=right.label,
        kind="national",
        monthly_amount=right.monthly_amount(amount),
        yearly_amount=right.yearly_amount(amount),
        why="w",
        next_step="n",
    )


def test_yearly_rights_count_their_yearly_amount(engine: Engine, clock: FrozenClock) -> None:
    amina, fatou, karim = reach(engine, clock), reach(engine, clock), reach(engine, clock)
    screen(engine, clock, amina, national("ars", 913.73), national("cheque_energie", 126.0), PRIME)
    screen(engine, clock, fatou, national("ars", 464.65), national("bourse_lycee", 1053.0))
    screen(engine, clock, karim, national("aspa", 334.29), national("ars", 1362.82))
    found = {row["right_id"]: row for row in figures(engine, "2026-11")["rights_detected"]}
    assert found["ars"] == {
        "right_id": "ars",
        "label": "Allocation de rentrée scolaire (ARS)",
        "count": 3,
        "yearly_amount_eur": 914 + 465 + 1363,
    }
    assert found["cheque_energie"]["yearly_amount_eur"] == 126
    assert found["bourse_lycee"]["yearly_amount_eur"] == 1053
    assert found["aspa"]["yearly_amount_eur"] == 12 * 334  # a monthly right: 12 months
    assert found["prime_activite"]["yearly_amount_eur"] == round(12 * 231.4)

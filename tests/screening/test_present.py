"""What the resident reads after a screening (outreach/screening/present.py): amounts as the registry says."""

from __future__ import annotations

from db.models import RightStatus
from outreach.screening import present
from outreach.screening.model import ScreeningResult, StoredRight


def stored(
    right_id: str, label: str, monthly: float | None, *, kind: str = "national", uncertain: bool = False
) -> StoredRight:
    return StoredRight(
        screening_id=7,
        right_id=right_id,
        kind=kind,
        label=label,
        monthly_amount=monthly,
        uncertain=uncertain,
        why="w",
        next_step="n",
        status=RightStatus.to_claim,
    )


def test_a_yearly_right_reads_per_year_with_when_it_is_paid() -> None:
    ars = stored("ars", "Allocation de rentrée scolaire (ARS)", 76.17)
    assert present.headline(ars) == "💶 Allocation de rentrée scolaire (ARS) : environ 914 € par an, versée fin août"
    prime = stored("prime_activite", "Prime d'activité", 231.0, uncertain=True)
    assert present.headline(prime) == "💶 Prime d'activité : environ 231 € par mois (à vérifier)"
    assert present.headline(stored("css", "Complémentaire santé solidaire (C2S)", None)) == (
        "💶 Complémentaire santé solidaire (C2S)"
    )
    assert present.headline(stored("dijon-cej", "Contrat d'engagement jeune", None, kind="local")) == (
        "🤝 Contrat d'engagement jeune"
    )


def test_rights_beyond_the_first_six_are_named_in_the_closing_message() -> None:
    shown = [stored(f"r{i}", f"Aide {i}", None) for i in range(8)]
    replies = present.results(7, shown, ScreeningResult(rights=[]), complex_case=False)
    assert len(replies) == 1 + present.MAX_SHOWN + 1
    assert "(8)" in replies[0].text
    assert replies[-1].text.startswith("Vous pourriez aussi avoir : Aide 6, Aide 7.")

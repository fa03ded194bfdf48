"""Questions typed right after a screening's results are about those results: "pourquoi ?", "comment je
fais ?", "et la CSS ?", "la prime c'est quoi". Answered with the right's reasons or its next step, or, when the
question fits several rights, "Pour quelle aide ?" with one button per right. A right the resident names that is
not among the results gets an honest line and a way to a person.

Called by the channel while the results' buttons ("!why:<screening>:<right>", "!how:…") are the latest shown.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from zoneinfo import ZoneInfo

from db.engine import UnitOfWork
from outreach import options
from outreach.clock import Clock
from outreach.i18n import _
from outreach.places import fold
from outreach.replies import Button, Reply
from outreach.screening import present
from outreach.screening.model import StoredRight
from outreach.screening.rights import LABELS
from outreach.services import screenings

MAX_WORDS = 9
WHY = re.compile(r"\b(pourquoi|pk|pq|pkoi|pourkoi|c est quoi|cest quoi|ca veut dire|comment ca se fait|why)\b")
HOW = re.compile(
    r"\b(comment|cmt|je fais quoi|on fait quoi|quoi faire|que faire|demarches?|la demande|demander|ou aller|how)\b"
)
ELSEWHERE = re.compile(r"\b(rdv|rendez vous|parler|humain|personne|stop|arret|annul|supprim|donnees|merci|bye)")

# Words residents use for each national right (the ids of outreach/screening/rights.py).
RIGHT_WORDS: dict[str, tuple[str, ...]] = {
    "rsa": ("rsa", "revenu de solidarite"),  # i18n: ignore
    "prime_activite": ("prime d activite", "prime", "la prime", "prime activite"),  # i18n: ignore
    "aide_logement": (
        "apl", "aide au logement", "aide logement", "als", "alf", "caf logement",
        "aide pour le loyer",  # i18n: ignore
    ),
    "aah": ("aah", "allocation adulte handicape"),
    "allocations_familiales": ("allocations familiales", "allocs", "alloc", "allocations", "af"),
    "asf": ("asf", "soutien familial", "pension alimentaire"),
    "complement_familial": ("complement familial",),
    "css": ("css", "c2s", "cmu", "complementaire sante", "mutuelle", "complementaire"),
    "aspa": ("aspa", "minimum vieillesse"),
    "aeeh": ("aeeh", "enfant handicape"),
    "ars": ("ars", "rentree scolaire", "allocation de rentree", "rentree"),  # i18n: ignore
    "bourse_college": ("bourse de college", "bourse college", "bourse du college"),  # i18n: ignore
    "bourse_lycee": ("bourse de lycee", "bourse lycee", "bourse du lycee"),  # i18n: ignore
    "cheque_energie": ("cheque energie", "cheque", "energie"),
}


def _shown(keyboard: Sequence[Button]) -> list[tuple[int, str]]:
    """(screening id, right id) of the results' buttons, in the order shown, once each."""
    found: dict[tuple[int, str], None] = {}
    for button in keyboard:
        verb, _sep, rest = button.payload.partition(":")
        screening, _sep, right = rest.partition(":")
        if verb in ("!why", "!how") and screening.isdigit() and right:
            found[(int(screening), right)] = None
    return list(found)


def _named(folded: str) -> str | None:
    """The national right a question names, if exactly one."""
    named = [right for right, words in RIGHT_WORDS.items() if any(f" {w} " in f" {folded} " for w in words)]
    return named[0] if len(named) == 1 else None


def answer(
    uow: UnitOfWork, clock: Clock, *, tz: ZoneInfo, resident_id: int, text: str, keyboard: Sequence[Button]
) -> list[Reply] | None:
    """The answer to a question about the results just shown, or None when `text` is not one."""
    shown = _shown(keyboard)
    folded = fold(re.sub(r"[^\w' -]+", " ", text))
    if not shown or not folded or len(folded.split()) > MAX_WORDS or ELSEWHERE.search(folded):
        return None
    rights: list[StoredRight] = [
        right for sid, rid in shown if (right := screenings.right_of(uow, resident_id, sid, rid)) is not None
    ]
    how = HOW.search(folded) is not None
    asked = WHY.search(folded) is not None or how
    chosen = options.choose(
        text,
        [(present.localized(right.label), f"right={right.right_id}") for right in rights],
        {f"right={right}": words for right, words in RIGHT_WORDS.items()},
    )
    if chosen is None:
        named = _named(folded)
        matches = [r for r in rights if r.right_id == named]
        found = screenings.right_of(uow, resident_id, shown[0][0], named) if named and not matches else None
        if matches:
            chosen = rights.index(matches[0])
        elif found is not None:  # among the results, named in the closing line ("Vous pourriez aussi avoir…")
            return [present.how(found) if HOW.search(folded) else present.why(found)]
        elif named is not None:
            label = present.localized(LABELS.get(named, named))
            return [
                Reply(
                    _(
                        "{label} n'est pas dans vos résultats : avec vos réponses, je ne trouve pas ce droit. Un "
                        "adulte-relais peut vérifier avec vous."
                    ).format(label=label),
                    buttons=present.next_steps(2),
                )
            ]
    if chosen is not None:
        right = rights[chosen]
        return [present.how(right) if how else present.why(right)]
    if not asked or not rights:
        return None
    if len(rights) == 1:
        return [present.how(rights[0]) if how else present.why(rights[0])]
    verb = "how" if how else "why"
    buttons = tuple(
        Button(present.localized(right.label)[:60], f"!{verb}:{right.screening_id}:{right.right_id}")
        for right in rights
    )
    return [Reply(_("Pour quelle aide ?"), buttons=buttons)]

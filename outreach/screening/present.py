"""What the resident reads after a screening: short messages, one per right, with "Pourquoi ?" and
"Comment faire ?" buttons, then the next steps. Channel-neutral Replies; bot/ renders them.

Button payloads starting with "!" are handled by the channel itself (never sent to Rasa):
"!why:<screening id>:<right id>", "!how:<screening id>:<right id>".

A national right's amount reads as its registry says (outreach/screening/rights.py): "environ 231 € par mois",
or, for a right paid once a year, "environ 914 € par an, versée fin août". At most MAX_SHOWN rights get their
own message; the others are named in the closing message.
"""

from __future__ import annotations

from collections.abc import Sequence

from outreach.replies import Button, Reply
from outreach.screening.model import ScreeningResult, StoredRight
from outreach.screening.rights import amount_text, euros

MAX_SHOWN = 6

NEXT_STEPS = (
    Button("Prendre rendez-vous", "/book_appointment"),
    Button("Parler à quelqu'un", "/talk_to_human"),
    Button("Refaire le point", "/check_rights"),
)


__all__ = ["MAX_SHOWN", "NEXT_STEPS", "euros", "headline", "how", "results", "why"]


def headline(right: StoredRight) -> str:
    if right.kind == "local":
        line = f"🤝 {right.label}"
    elif amount := amount_text(right.right_id, right.monthly_amount):
        line = f"💶 {right.label} : {amount}"
    elif right.monthly_amount:  # a right the registry no longer knows: its stored monthly amount
        line = f"💶 {right.label} : environ {euros(right.monthly_amount)} par mois"
    else:
        line = f"💶 {right.label}"
    return line + (" (à vérifier)" if right.uncertain else "")


def results(
    screening_id: int, shown: Sequence[StoredRight], result: ScreeningResult, *, complex_case: bool
) -> list[Reply]:
    """The messages that present a screening's results."""
    found = [r for r in shown if r.status != "already_received"]
    rights, others = found[:MAX_SHOWN], found[MAX_SHOWN:]
    replies: list[Reply] = []
    if not rights:
        replies.append(
            Reply(
                "Avec vos réponses, je ne trouve pas d'aide de plus pour l'instant. "
                "Un adulte-relais peut regarder votre situation avec vous : il connaît d'autres aides."
            )
        )
    else:
        replies.append(
            Reply(
                f"Voici ce que vous pourriez avoir ({len(found)}). Ce sont des estimations, pas une décision : "
                "c'est l'organisme qui décide."
            )
        )
        for right in rights:
            buttons = (
                Button("Pourquoi ?", f"!why:{screening_id}:{right.right_id}"),
                Button("Comment faire ?", f"!how:{screening_id}:{right.right_id}"),
            )
            replies.append(Reply(headline(right), buttons=buttons))
    closing = "Un adulte-relais peut vous aider à faire les demandes."
    if complex_case:
        closing = "Votre situation mérite d'être regardée avec une personne. Un adulte-relais peut vous aider."
    if others:
        closing = f"Vous pourriez aussi avoir : {', '.join(r.label for r in others)}.\n\n{closing}"
    if result.notice:
        closing = f"{result.notice}\n\n{closing}"
    if result.missing:
        closing += " Les lignes « à vérifier » dépendent d'une réponse que vous n'avez pas donnée."
    replies.append(Reply(closing, buttons=NEXT_STEPS))
    return replies


def why(right: StoredRight) -> Reply:
    return Reply(
        f"{right.label} — pourquoi ?\n{right.why}",
        buttons=(Button("Comment faire ?", f"!how:{right.screening_id}:{right.right_id}"),),
    )


def how(right: StoredRight) -> Reply:
    return Reply(f"{right.label} — comment faire ?\n{right.next_step}", buttons=NEXT_STEPS[:2])

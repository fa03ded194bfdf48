"""What the resident reads after a screening: short messages, one per right, with "Pourquoi ?" and
"Comment faire ?" buttons, then the next steps. Channel-neutral Replies; bot/ renders them.

Button payloads starting with "!" are handled by the channel itself (never sent to Rasa):
"!why:<screening id>:<right id>", "!how:<screening id>:<right id>".

A national right's amount reads as its registry says (outreach/screening/rights.py): "environ 231 € par mois",
or, for a right paid once a year, "environ 914 € par an, versée fin août". At most MAX_SHOWN rights get their
own message; the others are named in the closing message.

Languages: everything here is said in the language of the turn. A right's label, why and next step are stored
in French (msgids of the catalogue, or templates filled in, one part a line): `localized` shows them.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Callable, Sequence

from outreach import i18n
from outreach.i18n import N_, _
from outreach.replies import Button, Reply
from outreach.screening import catalogue, national, rights
from outreach.screening.model import ScreeningResult, StoredRight
from outreach.screening.rights import amount_text, euros

MAX_SHOWN = 6

NEXT_STEPS = (
    Button(N_("Prendre rendez-vous"), "/book_appointment"),
    Button(N_("Parler à quelqu'un"), "/talk_to_human"),
    Button(N_("Refaire le point"), "/check_rights"),
)


__all__ = ["MAX_SHOWN", "NEXT_STEPS", "euros", "headline", "how", "localized", "next_steps", "results", "why"]


def next_steps(count: int = len(NEXT_STEPS)) -> tuple[Button, ...]:
    """The first `count` NEXT_STEPS buttons, in the language of the turn."""
    return tuple(Button(_(button.title), button.payload) for button in NEXT_STEPS[:count])


# ---------------------------------------------------------------- stored French texts, shown in the turn's language

# The templates of the stored texts whose parts are filled in: for a count n, the template in the language of
# the turn (rights.py, national.py, catalogue.py).
TEMPLATES: tuple[Callable[[int], str], ...] = (
    *rights.STORED_TEMPLATES,
    *national.STORED_TEMPLATES,
    *catalogue.STORED_TEMPLATES,
)
_AMOUNT = re.compile(r"\d[\d\u202f\u00a0 ]* €")


@functools.cache
def _patterns() -> list[tuple[re.Pattern[str], Callable[[int], str]]]:
    """Each template's French forms (singular and plural) as patterns whose groups are its placeholders."""
    found = []
    with i18n.speaking(i18n.DEFAULT):
        for template in TEMPLATES:
            for form in dict.fromkeys((template(1), template(2))):
                parts = re.split(r"\{([a-z_]+)\}", form)
                pattern = "".join(re.escape(p) if i % 2 == 0 else f"(?P<{p}>.+?)" for i, p in enumerate(parts))
                found.append((re.compile(pattern), template))
    return found


def _value(value: str) -> str:
    """A placeholder's stored value in the language of the turn: an amount, or msgids separated by ", "."""
    if _AMOUNT.fullmatch(value):
        return i18n.euros(int(re.sub(r"\D", "", value)))
    return ", ".join(_(part) for part in value.split(", "))


def _line(line: str) -> str:
    translated = _(line)
    if translated != line or not line.strip():
        return translated
    for pattern, template in _patterns():
        match = pattern.fullmatch(line)
        if match is None:
            continue
        values = {name: _value(value) for name, value in match.groupdict().items()}
        count = int(match["n"]) if "n" in values and match["n"].isdigit() else 1
        try:
            return template(count).format(**values)
        except (KeyError, IndexError, ValueError):  # a translation with other placeholders: the French
            return line
    return line


def localized(text: str) -> str:
    """A stored French text (a right's label, why or next step, a notice) in the language of the turn: the
    whole text's translation, or else each line's (a msgid, or a template whose parts are translated)."""
    if not text or i18n.current() == i18n.DEFAULT:
        return text
    whole = _(text)
    if whole != text:
        return whole
    return "\n".join(_line(line) for line in text.split("\n"))


# ---------------------------------------------------------------- the messages


def headline(right: StoredRight) -> str:
    label = localized(right.label)
    if right.kind == "local":
        line = f"🤝 {label}"
    elif amount := amount_text(right.right_id, right.monthly_amount):
        line = "💶 " + _("{label} : {amount}").format(label=label, amount=amount)
    elif right.monthly_amount:  # a right the registry no longer knows: its stored monthly amount
        amount = _("environ {amount} par mois").format(amount=euros(right.monthly_amount))
        line = "💶 " + _("{label} : {amount}").format(label=label, amount=amount)
    else:
        line = f"💶 {label}"
    return line + " " + _("(à vérifier)") if right.uncertain else line  # (line + …) if … else line


def results(
    screening_id: int, shown: Sequence[StoredRight], result: ScreeningResult, *, complex_case: bool
) -> list[Reply]:
    """The messages that present a screening's results, in the language of the turn."""
    found = [r for r in shown if r.status != "already_received"]
    rights_shown, others = found[:MAX_SHOWN], found[MAX_SHOWN:]
    replies: list[Reply] = []
    if not rights_shown:
        replies.append(
            Reply(
                _(
                    "Avec vos réponses, je ne trouve pas d'aide de plus pour l'instant. Un adulte-relais peut "
                    "regarder votre situation avec vous : il connaît d'autres aides."
                )
            )
        )
    else:
        replies.append(
            Reply(
                _(
                    "Voici ce que vous pourriez avoir ({n}). Ce sont des estimations, pas une décision : c'est "
                    "l'organisme qui décide."
                ).format(n=len(found))
            )
        )
        for right in rights_shown:
            buttons = (
                Button(_("Pourquoi ?"), f"!why:{screening_id}:{right.right_id}"),
                Button(_("Comment faire ?"), f"!how:{screening_id}:{right.right_id}"),
            )
            replies.append(Reply(headline(right), buttons=buttons))
    closing = _("Un adulte-relais peut vous aider à faire les demandes.")
    if complex_case:
        closing = _("Votre situation mérite d'être regardée avec une personne. Un adulte-relais peut vous aider.")
    if others:
        named = _("Vous pourriez aussi avoir : {rights}.").format(rights=", ".join(localized(r.label) for r in others))
        closing = f"{named}\n\n{closing}"
    if result.notice:
        closing = f"{localized(result.notice)}\n\n{closing}"
    if result.missing:
        closing += " " + _("Les lignes « à vérifier » dépendent d'une réponse que vous n'avez pas donnée.")
    replies.append(Reply(closing, buttons=next_steps()))
    return replies


def why(right: StoredRight) -> Reply:
    title = _("{label} — pourquoi ?").format(label=localized(right.label))
    return Reply(
        f"{title}\n{localized(right.why)}",
        buttons=(Button(_("Comment faire ?"), f"!how:{right.screening_id}:{right.right_id}"),),
    )


def how(right: StoredRight) -> Reply:
    title = _("{label} — comment faire ?").format(label=localized(right.label))
    return Reply(f"{title}\n{localized(right.next_step)}", buttons=next_steps(2))

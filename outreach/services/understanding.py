"""When the NLU is unsure, or two intents come close, the resident chooses between the likely ones ("Vous voulez
annuler votre rendez-vous, ou arrêter les questions ?") instead of the bot guessing (the idea of Rasa's two-stage
fallback, with two choices instead of one). Each such question is an event ("clarification_asked"), so that
how often the bot has to ask is a figure.
"""

from __future__ import annotations

from collections.abc import Sequence
from zoneinfo import ZoneInfo

from db.engine import UnitOfWork
from db.models import Event, Resident
from outreach.clock import Clock
from outreach.i18n import N_, _
from outreach.replies import Button, Reply

# The intents a resident can be offered, with what the button says.
CHOICES: dict[str, str] = {
    "check_rights": N_("Connaître mes droits"),
    "find_job": N_("Trouver un emploi"),
    "housing_help": N_("Le logement"),
    "health_cover": N_("La santé, la mutuelle"),
    "money_trouble": N_("Les dettes, le budget"),
    "childcare": N_("La garde des enfants"),
    "mobility": N_("Les transports, le permis"),
    "digital_help": N_("Les démarches en ligne"),
    "language_help": N_("Le français"),
    "book_appointment": N_("Prendre rendez-vous"),
    "cancel_appointment": N_("Annuler mon rendez-vous"),
    "reschedule_appointment": N_("Changer mon rendez-vous"),
    "my_appointments": N_("Voir mes rendez-vous"),
    "talk_to_human": N_("Parler à quelqu'un"),
    "stop_messages": N_("Ne plus recevoir de messages"),
    "delete_data": N_("Mes données"),
    "help": N_("Ce que vous pouvez faire"),
}
MIN_FIRST, MIN_SECOND = 0.2, 0.1  # below these confidences an intent is not worth offering
QUESTION = N_("Je ne suis pas sûr d'avoir compris. Vous voulez :")
OTHER = Button(N_("Autre chose"), "/help")
HUMAN = Button(N_("Parler à quelqu'un"), "/talk_to_human")


def choices(ranking: Sequence[tuple[str, float]]) -> list[str]:
    """The one or two intents worth offering from an intent ranking (name, confidence), best first."""
    offered = [(name, confidence) for name, confidence in ranking if name in CHOICES]
    if not offered or offered[0][1] < MIN_FIRST:
        return []
    picked = [offered[0][0]]
    if len(offered) > 1 and offered[1][1] >= MIN_SECOND:
        picked.append(offered[1][0])
    return picked


# Intents whose action cannot be taken back lightly: when the runner-up comes close, the resident confirms.
WEIGHTY = ("cancel_appointment", "reschedule_appointment", "stop_messages", "delete_data")
CLOSE_RUNNER_UP, CLOSE_GAP = 0.2, 0.5


def close_call(ranking: Sequence[tuple[str, float]]) -> list[str]:
    """The two intents to offer when a weighty intent won but another came close ("annuler le rendez-vous ou
    arrêter vos messages ?": cancel_appointment 0.69, stop_messages 0.28), or another weighty one is in the running
    at all (two actions that cannot be taken back lightly: never pick one for the resident), or []."""
    offered = [(name, confidence) for name, confidence in ranking if name in CHOICES]
    if len(offered) < 2 or ranking[0][0] not in WEIGHTY or offered[0][0] != ranking[0][0]:
        return []
    (first, top), (second, runner_up) = offered[0], offered[1]
    if runner_up >= CLOSE_RUNNER_UP and (top - runner_up < CLOSE_GAP or second in WEIGHTY):
        return [first, second]
    return []


def clarify(
    uow: UnitOfWork,
    clock: Clock,
    *,
    tz: ZoneInfo,
    resident_id: int,
    ranking: Sequence[tuple[str, float]],
    close: bool = False,
) -> list[Reply]:
    """The choice question for an unsure reading (one transaction: its event), or [] when nothing is likely
    enough to offer (the caller asks to rephrase). `close=True`: a weighty intent that won narrowly (close_call)."""
    picked = close_call(ranking) if close else choices(ranking)
    if not picked:
        return []
    resident = uow.session.get(Resident, resident_id)
    uow.session.add(
        Event(
            at=clock.now(),
            kind="clarification_asked",
            resident_id=resident_id,
            territory_id=resident.territory_id if resident else None,
            quartier_id=resident.quartier_id if resident else None,
            data={"choices": picked, "close_call": close},
        )
    )
    uow.commit()
    buttons = [Button(_(CHOICES[name]), f"/{name}") for name in picked]
    buttons += [Button(_(b.title), b.payload) for b in (OTHER, HUMAN) if b.payload not in {x.payload for x in buttons}]
    return [Reply(_(QUESTION), buttons=tuple(buttons))]

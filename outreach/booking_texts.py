"""What residents and staff read about appointments and follow-ups: French, short (≤ 300 characters), "vous".

One module so that the chat layer (bot/, Rasa actions) and the outbox say the same thing. Functions
return plain text; buttons are `[title, callback_data]` pairs:

- reminders: `r:come:<appointment_id>`, `r:cancel:<id>`, `r:change:<id>`; after a no-show or a cancel
  by staff: `r:rebook:<id>` (choose another slot), `r:norebook:<id>`;
- follow-ups: `f:<answer>:<screening_id>:<right_id>` with answer deja | demande | echec | pasencore
  (`right_id` is `#<screening_right row id>` when the catalogue id would not fit in 64 bytes),
  `f:rdv:<screening_id>` (book with an adulte-relais) and `f:stop:<screening_id>` (no more follow-ups).

The bot must check that the appointment or screening belongs to the resident who pressed (services do).
"""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

from outreach.screening.rights import RIGHTS

MAX_LENGTH = 300

DAYS = ["lundi", "mardi", "mercredi", "jeudi", "vendredi", "samedi", "dimanche"]
MONTHS = [
    "janvier", "février", "mars", "avril", "mai", "juin",
    "juillet", "août", "septembre", "octobre", "novembre", "décembre",
]
MONTHS_SHORT = ["janv.", "févr.", "mars", "avr.", "mai", "juin", "juil.", "août", "sept.", "oct.", "nov.", "déc."]

# Topics of a permanence (short codes, close to the Rasa intents) and how to say them.
ALREADY_BOOKED = "Voici vos rendez-vous prévus. Vous voulez en prendre un autre ?"

TOPICS: dict[str, str] = {
    "droits": "vos droits (CAF, RSA, prime d'activité…)",
    "emploi": "l'emploi et la formation",
    "logement": "le logement",
    "sante": "la santé et la complémentaire santé",
    "budget": "le budget et les dettes",
    "famille": "la famille et la garde d'enfants",
    "mobilite": "la mobilité (permis, transports)",
    "numerique": "les démarches en ligne",
    "langue": "le français (cours, traduction)",
}

_BRING_DEFAULT = "une pièce d'identité, votre carte Vitale et vos derniers courriers (CAF, France Travail, impôts)"
WHAT_TO_BRING: dict[str, str] = {
    "droits": "une pièce d'identité, votre numéro CAF, vos 3 derniers bulletins de salaire ou attestations",
    "emploi": "une pièce d'identité, votre CV si vous en avez un, votre identifiant France Travail",
    "logement": "une pièce d'identité, votre bail ou votre demande de logement, vos dernières quittances",
    "sante": "une pièce d'identité, votre carte Vitale, votre dernier avis d'imposition",
    "budget": "une pièce d'identité, vos relevés de compte et les courriers de vos créanciers",
    "numerique": "votre téléphone, vos identifiants (CAF, ameli, France Travail) si vous les avez",
}

# "Avez-vous fait la demande <de …> ?" for the national rights (outreach/screening/rights.py, the registry).
RIGHT_PHRASES: dict[str, str] = {right.id: right.of_name for right in RIGHTS}

FOLLOWUP_ANSWERS: dict[str, str] = {  # callback code → button title
    "deja": "C'est déjà fait ✅",
    "demande": "Demande envoyée",
    "echec": "Je n'ai pas réussi",
    "pasencore": "Pas encore",
}


def _fit(*variants: str) -> str:
    """The first variant that fits in MAX_LENGTH characters (the last one is cut if none does)."""
    for text in variants:
        if len(text) <= MAX_LENGTH:
            return text
    return variants[-1][: MAX_LENGTH - 1] + "…"


def hour(moment: dt.datetime, tz: ZoneInfo) -> str:
    return clock_time(moment.astimezone(tz).time())


def clock_time(moment: dt.time) -> str:
    """"14 h", "14 h 30"."""
    return f"{moment.hour} h" if moment.minute == 0 else f"{moment.hour} h {moment.minute:02d}"


def day(moment: dt.datetime | dt.date, tz: ZoneInfo) -> str:
    """"mardi 1er décembre"."""
    date = moment.astimezone(tz).date() if isinstance(moment, dt.datetime) else moment
    number = "1er" if date.day == 1 else str(date.day)
    return f"{DAYS[date.weekday()]} {number} {MONTHS[date.month - 1]}"


def when(moment: dt.datetime, tz: ZoneInfo) -> str:
    """"mardi 1er décembre à 14 h 30"."""
    return f"{day(moment, tz)} à {hour(moment, tz)}"


def topic_label(topic: str | None) -> str | None:
    return TOPICS.get(topic, topic) if topic else None


def what_to_bring(topic: str | None) -> str:
    return WHAT_TO_BRING.get(topic or "", _BRING_DEFAULT)


def slot_button_title(starts_at: dt.datetime, place: str, tz: ZoneInfo) -> str:
    """A slot on a button: "mar. 1er déc. 14 h 30 · Grésilles" (≤ 64 characters)."""
    local = starts_at.astimezone(tz)
    number = "1er" if local.day == 1 else str(local.day)
    title = f"{DAYS[local.weekday()][:3]}. {number} {MONTHS_SHORT[local.month - 1]} {hour(local, tz)}"
    return f"{title} · {place}"[:64]


# ---------------------------------------------------------------- resident: booking


def booked(*, starts_at: dt.datetime, place: str, address: str, relay: str, telephone: bool, topic: str | None,
           tz: ZoneInfo) -> str:
    if telephone:
        return _fit(
            f"C'est noté : {relay} vous appellera {when(starts_at, tz)}. Gardez votre téléphone près de vous. "
            f"Vous recevrez un rappel 2 jours avant et 2 heures avant."
        )
    return _fit(
        f"C'est noté : rendez-vous {when(starts_at, tz)} avec {relay}, {place} ({address}). "
        f"Pensez à apporter {what_to_bring(topic)}. Vous recevrez un rappel avant.",
        f"C'est noté : rendez-vous {when(starts_at, tz)} avec {relay}, {place}. "
        f"Pensez à apporter {what_to_bring(topic)}.",
        f"C'est noté : rendez-vous {when(starts_at, tz)} avec {relay}, {place}.",
    )


def reminder_48h(*, starts_at: dt.datetime, place: str, address: str, relay: str, telephone: bool,
                 topic: str | None, tz: ZoneInfo) -> str:
    if telephone:
        return _fit(f"Rappel : {relay} vous appelle {when(starts_at, tz)}. Vous êtes toujours disponible ?")
    return _fit(
        f"Rappel : rendez-vous {when(starts_at, tz)} avec {relay}, {place} ({address}). "
        f"Pensez à apporter {what_to_bring(topic)}. Vous venez ?",
        f"Rappel : rendez-vous {when(starts_at, tz)} avec {relay}, {place} ({address}). Vous venez ?",
        f"Rappel : rendez-vous {when(starts_at, tz)} avec {relay}, {place}. Vous venez ?",
    )


def reminder_2h(*, starts_at: dt.datetime, place: str, relay: str, telephone: bool, tz: ZoneInfo) -> str:
    if telephone:
        return _fit(f"Dans 2 heures, à {hour(starts_at, tz)}, {relay} vous appelle. À tout à l'heure !")
    return _fit(f"Dans 2 heures : rendez-vous à {hour(starts_at, tz)} avec {relay}, {place}. À tout à l'heure !")


def reminder_buttons(appointment_id: int) -> list[list[str]]:
    return [
        ["Je viens", f"r:come:{appointment_id}"],
        ["Annuler", f"r:cancel:{appointment_id}"],
        ["Changer", f"r:change:{appointment_id}"],
    ]


def come_confirmed(*, starts_at: dt.datetime, tz: ZoneInfo) -> str:
    return f"Merci, à {day(starts_at, tz)} à {hour(starts_at, tz)} !"


def cancelled(*, starts_at: dt.datetime, tz: ZoneInfo) -> str:
    return f"Votre rendez-vous du {when(starts_at, tz)} est annulé. Vous pouvez en reprendre un quand vous voulez."


def cancelled_late(*, starts_at: dt.datetime, relay: str, tz: ZoneInfo) -> str:
    return _fit(
        f"Votre rendez-vous du {when(starts_at, tz)} est annulé. Il commence bientôt : nous prévenons {relay}, "
        f"et vous pouvez aussi lui laisser un message pour le dire. Merci !"
    )


def cancelled_by_staff(*, starts_at: dt.datetime, relay: str, tz: ZoneInfo) -> str:
    return _fit(
        f"Désolé : {relay} ne peut pas vous recevoir {when(starts_at, tz)}. Votre rendez-vous est annulé. "
        f"Voulez-vous choisir un autre moment ?"
    )


def rebook_buttons(appointment_id: int) -> list[list[str]]:
    return [["Choisir un autre moment", f"r:rebook:{appointment_id}"], ["Non merci", f"r:norebook:{appointment_id}"]]


def rescheduled(*, starts_at: dt.datetime, place: str, relay: str, tz: ZoneInfo) -> str:
    return _fit(f"C'est changé : nouveau rendez-vous {when(starts_at, tz)} avec {relay}, {place}.")


def no_show_offer(*, starts_at: dt.datetime, tz: ZoneInfo) -> str:
    return _fit(
        f"Nous ne vous avons pas vu {day(starts_at, tz)}. Ce n'est pas grave, ça arrive. "
        f"Voulez-vous choisir un autre moment ?"
    )


def slot_taken(*, alternatives: int) -> str:
    if alternatives:
        return "Ce créneau vient d'être pris. Voici d'autres moments libres :"
    return (
        "Ce créneau vient d'être pris, et il n'y a pas d'autre moment libre pour l'instant. "
        "Voulez-vous parler à quelqu'un ?"
    )


def no_slot() -> str:
    return "Il n'y a pas de créneau libre pour l'instant. Voulez-vous qu'un adulte-relais vous rappelle ?"


def proposals() -> str:
    return "Voici les prochains moments libres. Lequel vous va ?"


# ---------------------------------------------------------------- staff


def staff_booked(*, starts_at: dt.datetime, place: str, resident: str | None, topic: str | None,
                 telephone: bool, tz: ZoneInfo) -> str:
    who = resident or "Un habitant"
    how = "par téléphone" if telephone else place
    subject = f" Sujet : {topic_label(topic)}." if topic else ""
    return _fit(f"Nouveau rendez-vous {when(starts_at, tz)}, {how} : {who}.{subject}")


def staff_cancelled(*, starts_at: dt.datetime, place: str, resident: str | None, late: bool,
                    tz: ZoneInfo) -> str:
    who = resident or "un habitant"
    if late:
        return _fit(f"Annulation tardive (moins de 4 h avant) : {who}, {when(starts_at, tz)}, {place}.")
    return _fit(f"Rendez-vous annulé : {who}, {when(starts_at, tz)}, {place}. Le créneau est de nouveau libre.")


def staff_rescheduled(*, before: dt.datetime, after: dt.datetime, place: str, resident: str | None,
                      tz: ZoneInfo) -> str:
    who = resident or "Un habitant"
    return _fit(f"{who} a déplacé son rendez-vous du {when(before, tz)} au {when(after, tz)}, {place}.")


# ---------------------------------------------------------------- follow-ups


def right_phrase(right_id: str, label: str) -> str:
    return RIGHT_PHRASES.get(right_id, f"pour « {label} »")


def followup_nudge() -> str:
    return (
        "Bonjour ! Il y a 3 jours, nous avons regardé vos droits ensemble. "
        "Un adulte-relais peut vous aider à faire les demandes. Voulez-vous un rendez-vous ?"
    )


def followup_nudge_buttons(screening_id: int) -> list[list[str]]:
    return [["Prendre rendez-vous", f"f:rdv:{screening_id}"], ["Non merci", f"f:stop:{screening_id}"]]


def followup_question(*, right_id: str, label: str) -> str:
    return _fit(f"Avez-vous fait la demande {right_phrase(right_id, label)} ?")


def followup_last_check(*, right_id: str, label: str) -> str:
    return _fit(f"Une dernière question : avez-vous pu faire la demande {right_phrase(right_id, label)} ?")


def followup_buttons(screening_id: int, right_key: str) -> list[list[str]]:
    return [[title, f"f:{code}:{screening_id}:{right_key}"] for code, title in FOLLOWUP_ANSWERS.items()]


def followup_thanks(answer: str) -> str:
    return {
        "deja": "Bravo, c'est une très bonne nouvelle ! Merci de nous l'avoir dit.",
        "demande": "Merci ! La réponse peut prendre quelques semaines. Vous pouvez nous écrire si besoin.",
        "echec": "Merci de nous le dire. Un adulte-relais peut vous aider à faire la demande. On prend rendez-vous ?",
        "pasencore": "D'accord. Quand vous voulez, un adulte-relais peut vous aider à la faire.",
    }[answer]

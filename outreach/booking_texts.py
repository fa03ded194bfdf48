"""What residents and staff read about appointments and follow-ups: French, short (≤ 300 characters), "vous".

One module so that the chat layer (bot/, Rasa actions) and the outbox say the same thing. Functions
return plain text in the language of the turn (outreach/i18n.py: a message rendered for a resident outside
their turn, an outbox message, is rendered inside `i18n.speaking(resident.language)`); the staff's texts are
French whatever the turn. Buttons are `[title, callback_data]` pairs:

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

from outreach import i18n
from outreach.i18n import N_, _, staff
from outreach.screening.rights import RIGHTS

MAX_LENGTH = 300

# French forms (the other languages' come from Babel, outreach/i18n.py): also the staff's listings.
DAYS = ["lundi", "mardi", "mercredi", "jeudi", "vendredi", "samedi", "dimanche"]
MONTHS = [
    "janvier", "février", "mars", "avril", "mai", "juin",
    "juillet", "août", "septembre", "octobre", "novembre", "décembre",
]
MONTHS_SHORT = ["janv.", "févr.", "mars", "avr.", "mai", "juin", "juil.", "août", "sept.", "oct.", "nov.", "déc."]

ALREADY_BOOKED = N_("Voici vos rendez-vous prévus. Vous voulez en prendre un autre ?")

# Topics of a permanence (short codes, close to the Rasa intents) and how to say them (translate with topic_label).
TOPICS: dict[str, str] = {
    "droits": N_("vos droits (CAF, RSA, prime d'activité…)"),
    "emploi": N_("l'emploi et la formation"),
    "logement": N_("le logement"),
    "sante": N_("la santé et la complémentaire santé"),
    "budget": N_("le budget et les dettes"),
    "famille": N_("la famille et la garde d'enfants"),
    "mobilite": N_("la mobilité (permis, transports)"),
    "numerique": N_("les démarches en ligne"),
    "langue": N_("le français (cours, traduction)"),
}

_BRING_DEFAULT = N_(
    "une pièce d'identité, votre carte Vitale et vos derniers courriers (CAF, France Travail, impôts)"
)
WHAT_TO_BRING: dict[str, str] = {
    "droits": N_("une pièce d'identité, votre numéro CAF, vos 3 derniers bulletins de salaire ou attestations"),
    "emploi": N_("une pièce d'identité, votre CV si vous en avez un, votre identifiant France Travail"),
    "logement": N_("une pièce d'identité, votre bail ou votre demande de logement, vos dernières quittances"),
    "sante": N_("une pièce d'identité, votre carte Vitale, votre dernier avis d'imposition"),
    "budget": N_("une pièce d'identité, vos relevés de compte et les courriers de vos créanciers"),
    "numerique": N_("votre téléphone, vos identifiants (CAF, ameli, France Travail) si vous les avez"),
}

# "Avez-vous fait la demande <de …> ?" in French, for the national rights (outreach/screening/rights.py).
RIGHT_PHRASES: dict[str, str] = {right.id: right.of_name for right in RIGHTS}

FOLLOWUP_ANSWERS: dict[str, str] = {  # callback code → button title
    "deja": N_("C'est déjà fait ✅"),
    "demande": N_("Demande envoyée"),
    "echec": N_("Je n'ai pas réussi"),
    "pasencore": N_("Pas encore"),
}

FOLLOWUP_THANKS: dict[str, str] = {  # callback code → what the resident reads after pressing it
    "deja": N_("Bravo, c'est une très bonne nouvelle ! Merci de nous l'avoir dit."),
    "demande": N_("Merci ! La réponse peut prendre quelques semaines. Vous pouvez nous écrire si besoin."),
    "echec": N_("Merci de nous le dire. Un adulte-relais peut vous aider à faire la demande. On prend rendez-vous ?"),
    "pasencore": N_("D'accord. Quand vous voulez, un adulte-relais peut vous aider à la faire."),
}


def _fit(*variants: str) -> str:
    """The first variant that fits in MAX_LENGTH characters (the last one is cut if none does)."""
    for text in variants:
        if len(text) <= MAX_LENGTH:
            return text
    return variants[-1][: MAX_LENGTH - 1] + "…"


def _french() -> bool:
    return i18n.current() == i18n.DEFAULT


def hour(moment: dt.datetime, tz: ZoneInfo) -> str:
    """"14 h 30" in French, "14:30" in the other languages."""
    local = moment.astimezone(tz).time()
    return clock_time(local) if _french() else i18n.clock(local)


def clock_time(moment: dt.time) -> str:
    """"14 h", "14 h 30" (French, also the staff's listings)."""
    return f"{moment.hour} h" if moment.minute == 0 else f"{moment.hour} h {moment.minute:02d}"


def day(moment: dt.datetime | dt.date, tz: ZoneInfo) -> str:
    """"mardi 1er décembre" ("Tuesday 1 December" in English)."""
    date = moment.astimezone(tz).date() if isinstance(moment, dt.datetime) else moment
    if not _french():
        return f"{i18n.weekday(date)} {i18n.month_day(date)}"
    number = "1er" if date.day == 1 else str(date.day)
    return f"{DAYS[date.weekday()]} {number} {MONTHS[date.month - 1]}"


def when(moment: dt.datetime, tz: ZoneInfo) -> str:
    """"mardi 1er décembre à 14 h 30" ("Tuesday 1 December at 14:30" in English)."""
    return _("{day} à {time}").format(day=day(moment, tz), time=hour(moment, tz))


def topic_label(topic: str | None) -> str | None:
    """The topic in words, in the language of the turn (an unknown code as it is)."""
    if not topic:
        return None
    return _(TOPICS[topic]) if topic in TOPICS else topic


def what_to_bring(topic: str | None) -> str:
    return _(WHAT_TO_BRING.get(topic or "", _BRING_DEFAULT))


def slot_button_title(starts_at: dt.datetime, place: str, tz: ZoneInfo) -> str:
    """A slot on a button: "mar. 1er déc. 14 h 30 · Grésilles" (≤ 64 characters)."""
    local = starts_at.astimezone(tz)
    if _french():
        number = "1er" if local.day == 1 else str(local.day)
        title = f"{DAYS[local.weekday()][:3]}. {number} {MONTHS_SHORT[local.month - 1]} {hour(local, tz)}"
    else:
        title = f"{day(local, tz)} {hour(local, tz)}"
    return f"{title} · {place}"[:64]


# ---------------------------------------------------------------- resident: booking


def booked(*, starts_at: dt.datetime, place: str, address: str, relay: str, telephone: bool, topic: str | None,
           tz: ZoneInfo) -> str:
    moment = when(starts_at, tz)
    if telephone:
        return _fit(
            _(
                "C'est noté : {relay} vous appellera {when}. Gardez votre téléphone près de vous. "
                "Vous recevrez un rappel 2 jours avant et 2 heures avant."
            ).format(relay=relay, when=moment)
        )
    bring = what_to_bring(topic)
    return _fit(
        _(
            "C'est noté : rendez-vous {when} avec {relay}, {place} ({address}). "
            "Pensez à apporter {bring}. Vous recevrez un rappel avant."
        ).format(when=moment, relay=relay, place=place, address=address, bring=bring),
        _("C'est noté : rendez-vous {when} avec {relay}, {place}. Pensez à apporter {bring}.").format(
            when=moment, relay=relay, place=place, bring=bring
        ),
        _("C'est noté : rendez-vous {when} avec {relay}, {place}.").format(when=moment, relay=relay, place=place),
    )


def reminder_48h(*, starts_at: dt.datetime, place: str, address: str, relay: str, telephone: bool,
                 topic: str | None, tz: ZoneInfo) -> str:
    moment = when(starts_at, tz)
    if telephone:
        return _fit(
            _("Rappel : {relay} vous appelle {when}. Vous êtes toujours disponible ?").format(relay=relay, when=moment)
        )
    return _fit(
        _(
            "Rappel : rendez-vous {when} avec {relay}, {place} ({address}). Pensez à apporter {bring}. Vous venez ?"
        ).format(when=moment, relay=relay, place=place, address=address, bring=what_to_bring(topic)),
        _("Rappel : rendez-vous {when} avec {relay}, {place} ({address}). Vous venez ?").format(
            when=moment, relay=relay, place=place, address=address
        ),
        _("Rappel : rendez-vous {when} avec {relay}, {place}. Vous venez ?").format(
            when=moment, relay=relay, place=place
        ),
    )


def reminder_2h(*, starts_at: dt.datetime, place: str, relay: str, telephone: bool, tz: ZoneInfo) -> str:
    time = hour(starts_at, tz)
    if telephone:
        return _fit(
            _("Dans 2 heures, à {time}, {relay} vous appelle. À tout à l'heure !").format(time=time, relay=relay)
        )
    return _fit(
        _("Dans 2 heures : rendez-vous à {time} avec {relay}, {place}. À tout à l'heure !").format(
            time=time, relay=relay, place=place
        )
    )


def reminder_buttons(appointment_id: int) -> list[list[str]]:
    return [
        [_("Je viens"), f"r:come:{appointment_id}"],
        [_("Annuler"), f"r:cancel:{appointment_id}"],
        [_("Changer"), f"r:change:{appointment_id}"],
    ]


def come_confirmed(*, starts_at: dt.datetime, tz: ZoneInfo) -> str:
    return _("Merci, à {when} !").format(when=when(starts_at, tz))


def cancelled(*, starts_at: dt.datetime, tz: ZoneInfo) -> str:
    return _(
        "Votre rendez-vous du {when} est annulé. Vous pouvez en reprendre un quand vous voulez."
    ).format(when=when(starts_at, tz))


def cancelled_late(*, starts_at: dt.datetime, relay: str, tz: ZoneInfo) -> str:
    return _fit(
        _(
            "Votre rendez-vous du {when} est annulé. Il commence bientôt : nous prévenons {relay}, "
            "et vous pouvez aussi lui laisser un message pour le dire. Merci !"
        ).format(when=when(starts_at, tz), relay=relay)
    )


def cancelled_by_staff(*, starts_at: dt.datetime, relay: str, tz: ZoneInfo) -> str:
    return _fit(
        _(
            "Désolé : {relay} ne peut pas vous recevoir {when}. Votre rendez-vous est annulé. "
            "Voulez-vous choisir un autre moment ?"
        ).format(relay=relay, when=when(starts_at, tz))
    )


def rebook_buttons(appointment_id: int) -> list[list[str]]:
    return [
        [_("Choisir un autre moment"), f"r:rebook:{appointment_id}"],
        [_("Non merci"), f"r:norebook:{appointment_id}"],
    ]


def rescheduled(*, starts_at: dt.datetime, place: str, relay: str, tz: ZoneInfo) -> str:
    return _fit(
        _("C'est changé : nouveau rendez-vous {when} avec {relay}, {place}.").format(
            when=when(starts_at, tz), relay=relay, place=place
        )
    )


def no_show_offer(*, starts_at: dt.datetime, tz: ZoneInfo) -> str:
    return _fit(
        _(
            "Nous ne vous avons pas vu {day}. Ce n'est pas grave, ça arrive. Voulez-vous choisir un autre moment ?"
        ).format(day=day(starts_at, tz))
    )


def slot_taken(*, alternatives: int) -> str:
    if alternatives:
        return _("Ce créneau vient d'être pris. Voici d'autres moments libres :")
    return _(
        "Ce créneau vient d'être pris, et il n'y a pas d'autre moment libre pour l'instant. "
        "Voulez-vous parler à quelqu'un ?"
    )


def no_slot() -> str:
    return _("Il n'y a pas de créneau libre pour l'instant. Voulez-vous qu'un adulte-relais vous rappelle ?")


def proposals() -> str:
    return _("Voici les prochains moments libres. Lequel vous va ?")


# ---------------------------------------------------------------- staff (French, whatever the turn's language)


def staff_booked(*, starts_at: dt.datetime, place: str, resident: str | None, topic: str | None,
                 telephone: bool, tz: ZoneInfo) -> str:
    with i18n.speaking("fr"):
        who = resident or staff("Un habitant")
        how = staff("par téléphone") if telephone else place
        subject = staff(f" Sujet : {topic_label(topic)}.") if topic else ""
        return _fit(staff(f"Nouveau rendez-vous {when(starts_at, tz)}, {how} : {who}.{subject}"))


def staff_cancelled(*, starts_at: dt.datetime, place: str, resident: str | None, late: bool,
                    tz: ZoneInfo) -> str:
    with i18n.speaking("fr"):
        who = resident or staff("un habitant")
        if late:
            return _fit(staff(f"Annulation tardive (moins de 4 h avant) : {who}, {when(starts_at, tz)}, {place}."))
        return _fit(
            staff(f"Rendez-vous annulé : {who}, {when(starts_at, tz)}, {place}. Le créneau est de nouveau libre.")
        )


def staff_rescheduled(*, before: dt.datetime, after: dt.datetime, place: str, resident: str | None,
                      tz: ZoneInfo) -> str:
    with i18n.speaking("fr"):
        who = resident or staff("Un habitant")
        return _fit(staff(f"{who} a déplacé son rendez-vous du {when(before, tz)} au {when(after, tz)}, {place}."))


# ---------------------------------------------------------------- follow-ups


def followup_nudge() -> str:
    return _(
        "Bonjour ! Il y a 3 jours, nous avons regardé vos droits ensemble. "
        "Un adulte-relais peut vous aider à faire les demandes. Voulez-vous un rendez-vous ?"
    )


def followup_nudge_buttons(screening_id: int) -> list[list[str]]:
    return [[_("Prendre rendez-vous"), f"f:rdv:{screening_id}"], [_("Non merci"), f"f:stop:{screening_id}"]]


def right_phrase(right_id: str, label: str | None = None) -> str | None:
    """ "du RSA", "de la prime d'activité": the French words after "la demande" for a national right; None for
    another right, or outside French, where the question names the right (`label`) in quotes instead."""
    return RIGHT_PHRASES.get(right_id) if _french() else None


def followup_question(*, right_id: str, label: str) -> str:
    """`label`: the right's name as the resident reads it (in the language of the turn)."""
    phrase = right_phrase(right_id, label)
    if phrase is not None:
        return _fit(_("Avez-vous fait la demande {of_right} ?").format(of_right=phrase))
    return _fit(_("Avez-vous fait la demande pour « {right} » ?").format(right=label))


def followup_last_check(*, right_id: str, label: str) -> str:
    phrase = right_phrase(right_id, label)
    if phrase is not None:
        return _fit(_("Une dernière question : avez-vous pu faire la demande {of_right} ?").format(of_right=phrase))
    return _fit(
        _("Une dernière question : avez-vous pu faire la demande pour « {right} » ?").format(right=label)
    )


def followup_buttons(screening_id: int, right_key: str) -> list[list[str]]:
    return [[_(title), f"f:{code}:{screening_id}:{right_key}"] for code, title in FOLLOWUP_ANSWERS.items()]


def followup_thanks(answer: str) -> str:
    return _(FOLLOWUP_THANKS[answer])

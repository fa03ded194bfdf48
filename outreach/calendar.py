"""The .ics file of an appointment (RFC 5545, icalendar), so the resident can add it to their phone's calendar."""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

import icalendar

from db.models import Appointment, AppointmentChannel, Lieu, Permanence
from outreach import booking_texts as texts
from outreach.i18n import _

PRODID = "-//Outreach aller-vers//Rendez-vous adulte-relais//FR"  # i18n: ignore (an identifier, not read)


def ics_filename(appointment: Appointment, tz: ZoneInfo) -> str:
    return f"rendez-vous-{appointment.starts_at.astimezone(tz):%Y-%m-%d-%Hh%M}.ics"


def ics_for(
    appointment: Appointment,
    lieu: Lieu,
    permanence: Permanence,
    *,
    relay: str | None = None,
    tz: ZoneInfo,
) -> bytes:
    """One VEVENT with a stable UID, DTSTART/DTEND in local time (with its VTIMEZONE), place and what to bring,
    in the language of the turn (the resident's)."""
    assert appointment.id is not None  # noqa: S101 - narrows the type, not a check
    telephone = appointment.channel == AppointmentChannel.telephone
    who = relay or _("l'adulte-relais")
    calendar = icalendar.Calendar()
    calendar.add("prodid", PRODID)
    calendar.add("version", "2.0")
    calendar.add("calscale", "GREGORIAN")
    calendar.add("method", "PUBLISH")
    event = icalendar.Event()
    event.add("uid", f"appointment-{appointment.id}-p{permanence.id}@outreach")
    event.add("dtstamp", appointment.status_at)
    event.add("dtstart", appointment.starts_at.astimezone(tz))
    event.add("dtend", appointment.ends_at.astimezone(tz))
    summary = _("Rendez-vous téléphone avec {relay}") if telephone else _("Rendez-vous avec {relay}")
    event.add("summary", summary.format(relay=who))
    if telephone:
        event.add("location", _("Par téléphone"))
    else:
        event.add("location", f"{lieu.name}, {lieu.address}")
    lines = []
    if appointment.topic:
        lines.append(_("Sujet : {topic}.").format(topic=texts.topic_label(appointment.topic)))
    lines.append(_("À apporter : {bring}.").format(bring=texts.what_to_bring(appointment.topic)))
    if not telephone and lieu.accessibility:
        lines.append(_("Accès : {access}").format(access=lieu.accessibility))
    if not telephone and lieu.map_url:
        lines.append(_("Plan : {link}").format(link=lieu.map_url))
    lines.append(_("Pour annuler ou changer, écrivez-nous sur Telegram."))
    event.add("description", "\n".join(lines))
    if lieu.map_url and not telephone:
        event.add("url", lieu.map_url)
    event.add("status", "CANCELLED" if appointment.status == "cancelled" else "CONFIRMED")
    alarm = icalendar.Alarm()
    alarm.add("action", "DISPLAY")
    alarm.add("description", _("Rendez-vous dans 2 heures"))
    alarm.add("trigger", -dt.timedelta(hours=2))
    event.add_component(alarm)
    calendar.add_component(event)
    calendar.add_missing_timezones()
    return calendar.to_ical()

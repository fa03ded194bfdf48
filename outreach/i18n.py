"""The resident's language: one message catalogue (gettext, .po files under outreach/locale/, French is the
reference and the msgid), the language of the current turn, and amounts, dates and times per locale (Babel).

- Mark a resident-facing text where it is written: `_("…")` translates it now, `N_("…")` only marks a
  constant (translate it where it is used, `_(texts.X)`), `ngettext(singular, plural, n)` for counts.
  Staff read French: `staff("…")` marks a text as staff-only (never translated, accepted by the lint).
- The language of the turn is a context variable: bot handlers and the action server set it from the
  resident (`speaking(language)`), the outbox renders each message in its recipient's language.
- Rasa's own responses (nlu/domain/*.yml) are French; the channel renders them in the resident's language
  by key: the French text is the msgid (`localize`). One mechanism for them, no response variations.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import functools
import io
import unicodedata
from collections.abc import Iterator
from contextvars import ContextVar
from dataclasses import dataclass
from pathlib import Path

from babel import Locale
from babel.dates import format_date
from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po
from babel.numbers import format_decimal
from babel.support import NullTranslations, Translations


@dataclass(frozen=True)
class Language:
    code: str
    name: str  # in the language itself, as on the buttons
    rtl: bool = False


LANGUAGES: dict[str, Language] = {
    "fr": Language("fr", "Français"),
    "en": Language("en", "English"),
    "ar": Language("ar", "العربية", rtl=True),
    "tr": Language("tr", "Türkçe"),
    "pt": Language("pt", "Português"),
}
DEFAULT = "fr"
TRANSLATED = tuple(code for code in LANGUAGES if code != DEFAULT)
LOCALE_DIR = Path(__file__).parent / "locale"
DOMAIN = "messages"

# Language names residents may read on a case card or in a message (ISO 639-1 code → French name).
NAMES_FR: dict[str, str] = {
    "fr": "français", "en": "anglais", "ar": "arabe", "tr": "turc", "pt": "portugais", "es": "espagnol",
    "it": "italien", "de": "allemand", "ro": "roumain", "ru": "russe", "uk": "ukrainien", "fa": "persan (dari)",
    "ps": "pachto", "bg": "bulgare", "pl": "polonais", "sq": "albanais", "ta": "tamoul", "zh": "chinois",
    "bn": "bengali", "ur": "ourdou", "so": "somali", "ti": "tigrigna", "am": "amharique", "ku": "kurde",
    "hy": "arménien", "ka": "géorgien", "sr": "serbe", "nl": "néerlandais", "vi": "vietnamien", "hi": "hindi",
}  # fmt: skip

_language: ContextVar[str] = ContextVar("language", default=DEFAULT)


def supported(code: str | None) -> str | None:
    """The supported language of an IETF tag ("ar-MA", "pt_BR", "EN" → "ar", "pt", "en"), or None."""
    if not code:
        return None
    base = code.replace("_", "-").split("-", 1)[0].lower()
    return base if base in LANGUAGES else None


def current() -> str:
    return _language.get()


def set_language(code: str | None) -> None:
    """The language of the rest of this task (a PTB handler runs in its own task)."""
    _language.set(supported(code) or DEFAULT)


@contextlib.contextmanager
def speaking(code: str | None) -> Iterator[None]:
    token = _language.set(supported(code) or DEFAULT)
    try:
        yield
    finally:
        _language.reset(token)


def is_rtl(code: str | None = None) -> bool:
    return LANGUAGES[supported(code or current()) or DEFAULT].rtl


@functools.cache
def translations(code: str) -> NullTranslations:
    """The catalogue of a language, read from its .po file (compiled in memory: no .mo file to keep in step)."""
    path = LOCALE_DIR / code / "LC_MESSAGES" / f"{DOMAIN}.po"
    if code == DEFAULT or not path.exists():
        return NullTranslations()
    with path.open("rb") as po:
        catalog = read_po(po, locale=code)
    buffer = io.BytesIO()
    write_mo(buffer, catalog, use_fuzzy=False)
    buffer.seek(0)
    return Translations(buffer, domain=DOMAIN)


def N_(text: str) -> str:
    """Mark a constant for the catalogue; translate it where it is used, with `_`."""
    return text


def staff(text: str) -> str:
    """A text only staff read (in French, never translated)."""
    return text


def _(text: str) -> str:
    """The text in the language of the turn (the French text when it has no translation)."""
    if not text:
        return text
    return translations(current()).gettext(text)


def ngettext(singular: str, plural: str, n: int) -> str:
    return translations(current()).ngettext(singular, plural, n)


def translate(text: str, code: str | None = None) -> str:
    """`text` in `code` (default: the language of the turn), or `text` itself when it is not a msgid."""
    language = supported(code) or current()
    return translations(language).gettext(text) if text else text


def localize(text: str) -> str:
    """A text said by Rasa (French, a msgid of the catalogue) in the language of the turn; lines are tried one
    by one when the whole is not a msgid (a response and a line added by an action)."""
    if current() == DEFAULT or not text:
        return text
    whole = translate(text)
    if whole != text:
        return whole
    return "\n".join(translate(line) if line.strip() else line for line in text.split("\n"))


def ascii_digits(text: str) -> str:
    """Arabic-Indic, Persian and other decimal digits as 0-9 ("٣ أطفال" → "3 أطفال"), for every parser."""
    if text.isascii():
        return text
    return "".join(
        str(unicodedata.digit(c)) if not c.isascii() and unicodedata.digit(c, None) is not None else c for c in text
    )


# ---------------------------------------------------------------- formats per locale


def locale(code: str | None = None) -> Locale:
    return Locale.parse(supported(code or current()) or DEFAULT)


def number(value: float | int) -> str:
    """1 234 / 1,234 / 1.234 as the language writes it (digits 0-9 in every language)."""
    return format_decimal(value, locale=locale(), numbering_system="latn")


def euros(amount: float | int) -> str:
    """"523 €" (whole euros, as the screening says them), spaced as the language writes it."""
    value = number(round(amount))
    return f"€{value}" if current() in ("en",) else f"{value} €"


def weekday(day: dt.date) -> str:
    return format_date(day, "EEEE", locale=locale())


def month_day(day: dt.date) -> str:
    """"1 December", "1 Aralık", "1 ديسمبر" (French keeps its own form: "1er décembre")."""
    return format_date(day, "d MMMM", locale=locale())


def clock(moment: dt.time) -> str:
    """"14:30" outside French (French says "14 h 30", booking_texts)."""
    return f"{moment.hour:02d}:{moment.minute:02d}"


def name_fr(code: str | None) -> str:
    """The French name of a language, as staff read it on a case card."""
    if not code:
        return "inconnue"
    return NAMES_FR.get(code.split("-", 1)[0], code)

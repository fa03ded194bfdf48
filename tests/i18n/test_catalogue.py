"""The message catalogue is whole: every text a resident reads is in it, translated in every language with the
same placeholders, and reads as plain French (docs/plain-french.md)."""

from __future__ import annotations

import sys

import pytest

from outreach import PROJECT_ROOT, i18n, texts
from tests.i18n.plain_french import problems

sys.path.insert(0, str(PROJECT_ROOT / "scripts"))
import catalogue


def test_no_french_text_a_resident_reads_escapes_the_catalogue() -> None:
    assert catalogue.escaped_french() == []


def test_the_template_is_up_to_date() -> None:
    assert catalogue.stale_template() == []


def test_every_message_is_translated_in_every_language_with_its_placeholders() -> None:
    assert catalogue.untranslated() == []


def test_every_french_message_reads_plainly() -> None:
    hard = {}
    for message in catalogue.extracted():
        if message.id:
            text = message.id if isinstance(message.id, str) else message.id[0]
            if found := problems(text):
                hard[text[:60]] = found
    assert hard == {}


@pytest.mark.parametrize("code", i18n.TRANSLATED)
def test_the_consent_is_said_in_each_language(code: str) -> None:
    with i18n.speaking(code):
        said = texts.CONSENT
    assert said != texts.french("CONSENT") and "/donnees" in said


def test_amounts_and_dates_follow_the_language() -> None:
    import datetime as dt

    with i18n.speaking("en"):
        assert i18n.euros(1234.4) == "€1,234"
        assert i18n.weekday(dt.date(2026, 12, 1)) == "Tuesday"
    with i18n.speaking("fr"):
        assert i18n.euros(1234.4) == "1\u202f234 €"
    with i18n.speaking("ar"):
        assert i18n.is_rtl() and i18n.number(12) == "12"  # digits 0-9, as residents read them on letters
    assert i18n.ascii_digits("٣ أطفال، ۴ سال") == "3 أطفال، 4 سال"

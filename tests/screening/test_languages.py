"""The screening's answers typed in every language of the catalogue (issue 14): yes and no, "I don't know",
numbers in Arabic-Indic or Persian digits, and a button's title typed in the language it was shown in."""

from __future__ import annotations

import pytest

from outreach import i18n
from outreach.screening import questions
from outreach.screening.questions import UNKNOWN, understand

YES = {"fr": "oui", "en": "yes", "ar": "نعم", "ar-latn": "iyeh", "tr": "evet", "pt": "sim"}
NO = {"fr": "non", "en": "no", "ar": "لا", "ar-latn": "la", "tr": "hayır", "pt": "não"}
DONT_KNOW = {"fr": "je sais pas", "en": "I don't know", "ar": "لا أعرف", "tr": "bilmiyorum", "pt": "não sei"}


@pytest.mark.parametrize("language", sorted(YES))
def test_yes_and_no_in_every_language(language: str) -> None:
    assert understand("s_residence", YES[language]) == "oui"
    assert understand("s_residence", NO[language]) == "non"
    assert understand("s_child_disability", YES[language]) == "oui"


@pytest.mark.parametrize("language", sorted(DONT_KNOW))
def test_i_dont_know_in_every_language(language: str) -> None:
    assert understand("s_salary", DONT_KNOW[language]) == UNKNOWN


def test_numbers_in_arabic_indic_and_persian_digits() -> None:
    assert understand("s_age", "٣٤") == understand("s_age", "34") == "34"
    assert understand("s_rent", "٦٥٠") == understand("s_rent", "650")
    assert understand("s_children", "۴ و ۹") == understand("s_children", "4 et 9")
    assert i18n.ascii_digits("عندي ٣ أطفال") == "عندي 3 أطفال"


@pytest.mark.parametrize("code", i18n.TRANSLATED)
def test_a_button_title_typed_in_the_language_it_was_shown_in(code: str) -> None:
    for slot in ("s_housing", "s_activity", "s_jobseeker_since", "s_school"):
        for title, value in questions.BY_SLOT[slot].buttons:
            with i18n.speaking(code):
                shown = i18n._(title)
                assert understand(slot, shown) == value, (code, slot, shown)

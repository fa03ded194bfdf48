"""The questionnaire understands answers as residents type them, and turns them into a Profile."""

from __future__ import annotations

import pytest

from outreach.screening import questions
from outreach.screening.model import Profile
from outreach.screening.questions import UNKNOWN, understand


@pytest.mark.parametrize(
    ("slot", "typed", "value"),
    [
        ("s_age", "j'ai 34 ans", "34"),
        ("s_age", "22", "22"),
        ("s_age", "jsp", UNKNOWN),
        ("s_couple", "seule avec mes enfants", "non"),
        ("s_couple", "mariee", "oui"),
        ("s_couple", "En couple", "oui"),
        ("s_children", "2 enfants de 4 et 9 ans", "4,9"),
        ("s_children", "3, 7, 12", "3,7,12"),
        ("s_children", "pas d'enfant", ""),
        ("s_housing", "je suis en hlm", "social_tenant"),
        ("s_housing", "hebergee chez ma soeur", "hosted"),
        ("s_housing", "locataire", "tenant"),
        ("s_housing", "a la rue", "homeless"),
        ("s_rent", "450 €", "450"),
        ("s_rent", "1 200 euros", "1200"),
        ("s_activity", "je cherche du travail", "jobseeker"),
        ("s_activity", "je travaille a mi temps", "employed"),
        ("s_activity", "etudiante", "student"),
        ("s_jobseeker_since", "14 mois", "14"),
        ("s_jobseeker_since", "2 ans", "24"),
        ("s_salary", "rien", "0"),
        ("s_salary", "environ 900", "900"),
        ("s_disability", "non", "0"),
        ("s_disability", "80%", "80"),
        ("s_disability", "j'ai la rqth", "rqth"),
        ("s_residence", "oui", "oui"),
        ("commune", "chenove", "Chenôve"),
        ("commune", "st andre les vergers", "Saint-André-les-Vergers"),
    ],
)
def test_typed_answers_are_understood(slot: str, typed: str, value: str) -> None:
    assert understand(slot, typed) == value


@pytest.mark.parametrize(
    ("slot", "typed"),
    [("s_age", "vieux"), ("s_age", "300"), ("s_rent", "beaucoup"), ("s_children", "2 enfants"), ("commune", "zz")],
)
def test_answers_not_understood_are_asked_again(slot: str, typed: str) -> None:
    assert understand(slot, typed) is None


def test_the_questionnaire_never_has_more_than_12_questions() -> None:
    worst = {"s_couple": "oui", "s_housing": "tenant", "s_activity": "jobseeker"}
    assert len(questions.required(worst)) <= 12
    worst = {"s_couple": "oui", "s_housing": "tenant", "s_activity": "employed"}
    assert len(questions.required(worst)) <= 12


def test_questions_follow_the_answers() -> None:
    assert "s_rent" not in questions.required({"s_housing": "hosted"})
    assert "s_jobseeker_since" in questions.required({"s_activity": "jobseeker"})
    assert "s_partner_salary" in questions.required({"s_couple": "oui"})
    assert "commune" not in questions.required({"commune": "Dijon"})
    assert questions.progress("s_age", {}) == (2, 9)


def test_answers_become_a_profile_with_unknowns_left_out() -> None:
    answers = {
        "commune": "Chenôve",
        "quartier": "le_mail",
        "s_age": "40",
        "s_couple": "non",
        "s_children": "4,9",
        "s_housing": "social_tenant",
        "s_rent": "450",
        "s_activity": "jobseeker",
        "s_jobseeker_since": "14",
        "s_other_income": "600",
        "s_disability": UNKNOWN,
        "s_residence": "oui",
    }
    profile = Profile.model_validate(questions.profile_data(answers))
    assert profile.commune_insee == "21166" and profile.quartier == "le_mail"
    assert profile.children_ages == [4, 9] and profile.housing == "social_tenant" and profile.rent == 450
    assert profile.income is not None and profile.income.unemployment == 600 and profile.income.salary == 0
    assert profile.disability_rate is None and profile.residence_ok is True

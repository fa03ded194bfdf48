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
    assert questions.remaining({"commune": "Dijon", "s_ask_commune": False}) == 12
    assert questions.remaining({"commune": "Dijon", "s_ask_commune": False, "s_couple": "non", "s_children": ""}) == 8


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


# ---------------------------------------------------------------- the extra questions about the children

BIG_HOUSEHOLD = {"s_couple": "oui", "s_housing": "tenant", "s_activity": "jobseeker"}


@pytest.mark.parametrize(
    ("typed", "value"),
    [
        ("Collège", "college"),
        ("il est en 3e", "college"),
        ("au lycee", "lycee"),
        ("un au college et un au lycee", "both"),
        ("les deux", "both"),
        ("non, il est apprenti", "none"),
        ("Ni l'un ni l'autre", "none"),
    ],
)
def test_the_school_answer_is_understood(typed: str, value: str) -> None:
    assert understand("s_school", typed) == value


def test_households_without_children_of_these_ages_are_asked_what_they_were_asked_before() -> None:
    before = [q.slot for q in questions.QUESTIONS if q.rank is None]  # the questions that existed before
    for children in ("", "4,9", UNKNOWN):
        for answers in ({}, BIG_HOUSEHOLD, {"s_couple": "non", "s_housing": "hosted", "s_activity": "employed"}):
            with_children = {**answers, "s_children": children}
            wanted = questions.required(with_children)
            old = [slot for slot in before if questions.BY_SLOT[slot].asked_if(with_children)]
            if children == "4,9":  # children under 20: the disability question, when there is room
                assert [slot for slot in wanted if slot != "s_child_disability"] == old
            else:
                assert wanted == old


def test_the_extra_questions_are_asked_when_they_concern_the_household_and_there_is_room() -> None:
    small = {"commune": "Dijon", "s_couple": "non", "s_housing": "hosted", "s_activity": "inactive"}
    assert questions.required({**small, "s_children": "12,16"})[-2:] == ["s_school", "s_child_disability"]
    assert "s_school" not in questions.required({**small, "s_children": "4,9"})
    assert "s_child_disability" in questions.required({**small, "s_children": "4,9"})
    assert "s_child_disability" not in questions.required({**small, "s_children": "21,23"})
    # a large household with the commune already known: room for one, the disability question first
    known = {**BIG_HOUSEHOLD, "commune": "Dijon", "s_children": "12,16"}
    assert len(questions.required(known)) == 12 and "s_child_disability" in questions.required(known)
    assert "s_school" not in questions.required(known)


def test_never_more_than_12_questions_even_with_teenagers() -> None:
    for activity in ("jobseeker", "employed", "retired"):
        for commune in ({}, {"commune": "Dijon"}):
            answers = {**BIG_HOUSEHOLD, "s_activity": activity, "s_children": "12,16", **commune}
            wanted = questions.required(answers)
            assert len(wanted) <= questions.MAX_QUESTIONS
            assert questions.remaining({**answers, **dict.fromkeys(wanted)}) <= 12


@pytest.mark.parametrize(
    ("answer", "ages", "schools"),
    [
        ("both", [12, 16], ["college", "lycee"]),
        ("both", [4, 12, 13], ["other", "college", "lycee"]),  # at least one at lycée: the oldest
        ("college", [12, 16], ["college", "other"]),
        ("college", [16], ["college"]),  # the answer wins over the usual age
        ("lycee", [12, 16], ["other", "lycee"]),
        ("lycee", [14], ["lycee"]),
        ("none", [12, 16], ["other", "other"]),
        ("both", [8, 21], ["other", "other"]),  # nobody of collège or lycée age
    ],
)
def test_the_school_answer_becomes_each_childs_school(answer: str, ages: list[int], schools: list[str]) -> None:
    assert questions.children_school(answer, ages) == schools


def test_the_children_answers_become_the_profile() -> None:
    answers = {"s_children": "4,12,16", "s_school": "both", "s_child_disability": "oui"}
    profile = Profile.model_validate(questions.profile_data(answers))
    assert profile.children_school == ["other", "college", "lycee"] and profile.child_disability is True
    unknown = Profile.model_validate(questions.profile_data({**answers, "s_school": UNKNOWN}))
    assert unknown.children_school is None and unknown.child_disability is True
    grown_up = Profile.model_validate(questions.profile_data({"s_children": "22", "s_child_disability": "oui"}))
    assert grown_up.child_disability is None and grown_up.children_school is None

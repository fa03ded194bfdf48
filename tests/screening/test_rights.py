"""The registry of national rights (outreach/screening/rights.py): consistent with OpenFisca-France, with the
profile, and the one source of every per-right name, text and amount rule the other modules use."""

from __future__ import annotations

import datetime as dt

import pytest
from openfisca_core.periods import DateUnit

from outreach import booking_texts
from outreach.screening import catalogue, model, national, rights
from outreach.screening.model import Income, Profile
from outreach.screening.rights import BY_ID, RIGHTS

TODAY = dt.date(2025, 10, 15)
PROFILE_FIELDS = set(Profile.model_fields) | {f"income.{name}" for name in Income.model_fields}


def test_ids_labels_and_order() -> None:
    ids = [right.id for right in RIGHTS]
    assert len(set(ids)) == len(ids) and len({right.label for right in RIGHTS}) == len(RIGHTS)
    assert ids[:8] == [
        "rsa", "prime_activite", "aide_logement", "aah", "allocations_familiales", "asf", "complement_familial", "css"
    ]  # the calculation order of the first eight is unchanged (OpenFisca's spiral handling depends on it)
    assert set(ids[8:]) == {"ars", "bourse_college", "bourse_lycee", "cheque_energie", "aspa", "aeeh"}


def test_the_other_modules_read_the_registry() -> None:
    assert model.NATIONAL_RIGHT_IDS == national.NATIONAL_RIGHT_IDS == tuple(BY_ID)
    assert national.LABELS == {right.id: right.label for right in RIGHTS}
    assert national.NEXT_STEPS == {right.id: right.next_step for right in RIGHTS}
    assert Profile(receives=list(BY_ID)).receives == list(BY_ID)  # every id is a valid "receives" value
    assert booking_texts.followup_question(right_id="ars", label="x") == (
        "Avez-vous fait la demande de l'allocation de rentrée scolaire (ARS) ?"
    )
    assert booking_texts.right_phrase("rsa", "x") == "du RSA"
    assert booking_texts.right_phrase("allocations_familiales", "x") == "des allocations familiales"
    assert catalogue._RIGHT_WORDS["rsa"] == "Vous touchez le RSA."
    assert catalogue._RIGHT_WORDS["css"] == "Vous avez la complémentaire santé solidaire."


def test_variables_periods_and_entities_match_openfisca() -> None:
    system = national.tax_benefit_system()
    for right in RIGHTS:
        for _, name in right.variables:
            variable = system.variables[name]
            assert variable.entity.key == right.entity, name
            # the bourses are monthly variables holding a yearly amount: computed at the month, shown per year
            assert variable.definition_period == (DateUnit.YEAR if right.period == "year" else DateUnit.MONTH), name
        if right.id in system.variables:  # the OpenFisca name as the id, where one exists
            assert right.id in [name for _, name in right.variables], right.id
        if right.per == "year":
            assert right.when_paid, right.id


def test_dependencies_are_profile_answers_with_words() -> None:
    for right in RIGHTS:
        assert set(right.depends_on) <= PROFILE_FIELDS, right.id
        assert set(right.depends_on) <= set(national.FIELD_WORDS), right.id
    assert set(national.FIELD_WORDS) <= PROFILE_FIELDS


def test_the_first_eight_depend_on_the_same_answers_as_before_the_registry() -> None:
    before = {  # the table national.py had (answer -> rights), inverted
        "age": ("rsa", "prime_activite", "aah", "css"),
        "partner_age": ("rsa", "prime_activite", "css"),
        "housing": ("aide_logement", "rsa", "prime_activite", "css"),
        "rent": ("aide_logement",),
        "commune_insee": ("aide_logement",),
        "activity": ("rsa", "prime_activite", "aide_logement", "aah"),
        "jobseeker_since_months": ("aide_logement",),
        "disability_rate": ("aah",),
        "residence_ok": ("rsa", "prime_activite", "aah"),
    }
    first = RIGHTS[:8]
    for name, ids in before.items():
        assert {right.id for right in first if name in right.depends_on} == set(ids), name
    for name in ("couple", "children_ages", "income"):
        assert all(name in right.depends_on for right in first), name
    for name in rights.INCOME[1:]:
        assert {right.id for right in first if name not in right.depends_on} == {"asf"}, name


@pytest.mark.parametrize(
    ("right_id", "profile", "excluded"),
    [
        ("aspa", {"age": 40, "couple": False}, True),
        ("aspa", {"age": 40, "couple": True, "partner_age": 66}, False),
        ("aspa", {"age": 66}, False),
        ("aspa", {}, False),
        ("aeeh", {"children_ages": []}, True),
        ("aeeh", {"children_ages": [4], "child_disability": False}, True),
        ("aeeh", {"children_ages": [4]}, False),
        ("aeeh", {"children_ages": [22], "child_disability": True}, True),
        ("ars", {"children_ages": [2, 19]}, True),
        ("ars", {"children_ages": [5]}, False),
        ("bourse_college", {"children_ages": [4, 8]}, True),
        ("bourse_college", {"children_ages": [16], "children_school": ["lycee"]}, True),
        ("bourse_college", {"children_ages": [16]}, False),
        ("bourse_lycee", {"children_ages": [12], "children_school": ["college"]}, True),
        ("cheque_energie", {"housing": "hosted"}, True),
        ("cheque_energie", {"housing": "owner"}, False),
    ],
)
def test_known_answers_rule_rights_out(right_id: str, profile: dict, excluded: bool) -> None:
    assert BY_ID[right_id].excluded(Profile.model_validate(profile), TODAY) is excluded


def test_yearly_amounts_are_stored_as_a_monthly_equivalent_that_gives_them_back() -> None:
    ars, rsa, css = BY_ID["ars"], BY_ID["rsa"], BY_ID["css"]
    assert (ars.monthly_amount(913.73), ars.yearly_amount(913.73)) == (76.17, 914.0)
    assert (rsa.monthly_amount(568.94), rsa.yearly_amount(568.94)) == (569.0, None)
    assert css.monthly_amount(1.0) is None and ars.monthly_amount(0.0) is None
    for yearly in range(1, 5000):
        monthly = ars.monthly_amount(yearly)
        assert monthly is not None and round(monthly * 12) == yearly
    assert rights.amount_text("ars", 76.17) == "environ 914 € par an, versée fin août"
    assert rights.amount_text("rsa", 569.0) == "environ 569 € par mois"
    lycee = "environ 1\u202f053 € par an, versée en 3 fois, chaque trimestre"
    assert rights.amount_text("bourse_lycee", 87.75) == lycee
    assert rights.amount_text("css", None) is None and rights.amount_text("dijon-cej", 10.0) is None


def test_texts_are_short_plain_french() -> None:
    for right in RIGHTS:
        assert "Préparez" in right.next_step and len(right.next_step) <= 600, right.id
        assert len(right.label) <= 120 and right.label[0].isupper(), right.id
        assert right.caveat is None or right.caveat.startswith("À vérifier"), right.id

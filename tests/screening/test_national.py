"""National rights (outreach.screening.national) against OpenFisca-France itself.

The household cases are in tests/screening/cases/*.yaml: `name` (a sentence), `date` (the day of the screening),
`profile` (a screening Profile), `expected` (OpenFisca's amounts, 1 € margin: monthly amounts, and the yearly
amounts of the rights paid once a year, outreach/screening/rights.py: ars, bourse_college, bourse_lycee,
cheque_energie; "css" is 1 when the CSS is granted, free or not, "css_participation" its monthly price) and, for
some, `outcome` (the rights shown, those marked uncertain, the missing answers).

The acceptance test builds, for every case, a plain OpenFisca situation by hand (below, written from the YAML
profile, not from national.py), lets a fresh FranceTaxBenefitSystem calculate everything (no neutralised
variable, no shortcut) and compares with `national_rights`, which batches households and skips work. Which
variables, at which period, come from the registry of rights (rights.py: a declaration, not a computation).
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import yaml
from openfisca_core.simulation_builder import SimulationBuilder
from openfisca_france import FranceTaxBenefitSystem

from outreach.screening import national
from outreach.screening.model import NATIONAL_RIGHT_IDS, Profile
from outreach.screening.national import NationalOutcome, national_rights
from outreach.screening.rights import AMOUNT_EXTRAS, BY_ID, RIGHTS

CASES_DIR = Path(__file__).parent / "cases"
AMOUNT_KEYS = (*NATIONAL_RIGHT_IDS, *AMOUNT_EXTRAS)


def load_cases() -> list[dict[str, Any]]:
    cases = []
    for path in sorted(CASES_DIR.glob("*.yaml")):
        for case in yaml.safe_load(path.read_text(encoding="utf-8")):
            case["file"] = path.name
            cases.append(case)
    return cases


CASES = load_cases()
BY_NAME = {case["name"]: case for case in CASES}


# --- the hand-written OpenFisca situation ------------------------------------------------------------
# The conventions of outreach/screening/national.py's docstring, restated: incomes stable from January of
# year N-2 to the current month, taxable and gross amounts next to the net ones, "age and a half" birth dates,
# defaults for unknown answers.

DEFAULTS = {
    "age": 35,
    "commune_insee": "21231",
    "housing": "social_tenant",
    "rent": 450.0,
    "salary": 1400.0,
    "unemployment": 1000.0,
    "pension": 1000.0,
    "partner_salary": 0.0,
    "jobseeker_since_months": 6,
}
TAXABLE_PER_NET_SALARY = 1.036
NET_PER_GROSS_SALARY = 0.7916
HOUSING = {
    "tenant": "locataire_vide",
    "social_tenant": "locataire_hlm",
    "hosted": "loge_gratuitement",
    "owner": "proprietaire",
    "homeless": "sans_domicile",
}
ACTIVITE = {
    "employed": "actif",
    "jobseeker": "chomeur",
    "student": "etudiant",
    "retired": "retraite",
    "inactive": "inactif",
}
# (key, variable, period, entity) in calculation order (OpenFisca's spiral handling makes results depend on it)
VARIABLES = [(key, variable, right.period, right.entity) for right in RIGHTS for key, variable in right.variables]


def months_of(day: dt.date) -> list[str]:
    months, year, month = [], day.year - 2, 1
    while (year, month) <= (day.year, day.month):
        months.append(f"{year}-{month:02d}")
        year, month = (year + 1, 1) if month == 12 else (year, month + 1)
    return months


def first_of_month(day: dt.date, months_before: int) -> str:
    index = day.year * 12 + day.month - 1 - months_before
    return dt.date(index // 12, index % 12 + 1, 1).isoformat()


def household_situation(profile: dict[str, Any], day: dt.date, prefix: str = "h") -> dict[str, Any]:
    """One household, as OpenFisca-France's situation JSON (entities)."""
    months = months_of(day)

    def every_month(value: Any) -> dict[str, Any]:
        return dict.fromkeys(months, value)

    income = profile.get("income") or {}
    activity = profile.get("activity")
    couple = bool(profile.get("couple"))

    def amount(name: str, expected: bool) -> float:
        if income.get(name) is not None:
            return float(income[name])
        return DEFAULTS[name] if expected else 0.0

    salary = amount("salary", activity == "employed")
    unemployment = amount("unemployment", activity == "jobseeker")
    pension = amount("pension", activity == "retired")
    other = float(income.get("other") or 0)
    partner_salary = amount("partner_salary", True) if couple else 0.0

    if profile.get("date_of_birth"):
        born = dt.date.fromisoformat(str(profile["date_of_birth"]))
        first = day.replace(day=1)
        age = first.year - born.year - ((first.month, first.day) < (born.month, born.day))
        birth = born.isoformat()
    else:
        age = profile.get("age", DEFAULTS["age"])
        birth = first_of_month(day, 12 * age + 6)
    if activity is None:
        if salary:
            activity = "employed"
        elif unemployment:
            activity = "jobseeker"
        elif pension or age >= 65:
            activity = "retired"
        else:
            activity = "inactive"
    residence = profile.get("residence_ok", True) is not False
    rate = profile.get("disability_rate") or 0

    me = f"{prefix}_me"
    individus: dict[str, Any] = {
        me: {
            "date_naissance": {"ETERNITY": birth},
            "salaire_net": every_month(salary),
            "salaire_imposable": every_month(salary * TAXABLE_PER_NET_SALARY),
            "salaire_de_base": every_month(salary / NET_PER_GROSS_SALARY),
            "chomage_net": every_month(unemployment),
            "chomage_imposable": every_month(unemployment),
            "retraite_nette": every_month(pension),
            "retraite_imposable": every_month(pension),
            "retraite_brute": every_month(pension),
            "pensions_alimentaires_percues": every_month(other),
            "activite": every_month(ACTIVITE[activity]),
            "taux_incapacite": every_month(rate / 100 if residence else 0.0),
            "aah_restriction_substantielle_durable_acces_emploi": every_month(50 <= rate < 80),
        }
    }
    if activity == "jobseeker":
        since = profile.get("jobseeker_since_months")
        since = DEFAULTS["jobseeker_since_months"] if since is None else since
        individus[me]["date_debut_chomage"] = {"ETERNITY": first_of_month(day, since)}
    parents, children = [me], []
    if couple:
        partner = f"{prefix}_partner"
        partner_age = profile.get("partner_age") or age
        individus[partner] = {
            "date_naissance": {"ETERNITY": first_of_month(day, 12 * partner_age + 6)},
            "salaire_net": every_month(partner_salary),
            "salaire_imposable": every_month(partner_salary * TAXABLE_PER_NET_SALARY),
            "salaire_de_base": every_month(partner_salary / NET_PER_GROSS_SALARY),
            "activite": every_month("actif" if partner_salary > 0 else "inactif"),
        }
        parents.append(partner)
    ages = profile.get("children_ages") or []
    schools = profile.get("children_school") or [
        "college" if 11 <= age <= 14 else "lycee" if 15 <= age <= 17 else "other" for age in ages
    ]
    under_20 = [age for age in ages if age < 20]
    disabled = ages.index(min(under_20)) if profile.get("child_disability") and under_20 else None
    for number, child_age in enumerate(ages):
        child = f"{prefix}_child{number}"
        individus[child] = {"date_naissance": {"ETERNITY": first_of_month(day, 12 * child_age + 6)}}
        if schools[number] != "other":
            individus[child]["scolarite"] = {f"{day.year}-{day.month:02d}": schools[number]}
        if number == disabled:
            individus[child]["handicap"] = every_month(True)
        children.append(child)
    for person in individus.values():
        person["rsa_condition_nationalite"] = every_month(residence)
        person["asi_aspa_condition_nationalite"] = every_month(residence)
        person["boursier"] = every_month(False)

    housing = profile.get("housing") or DEFAULTS["housing"]
    rent = 0.0
    if housing in ("tenant", "social_tenant"):
        rent = profile["rent"] if profile.get("rent") is not None else DEFAULTS["rent"]
    menage: dict[str, Any] = {
        "personne_de_reference": [me],
        "enfants": children,
        "statut_occupation_logement": every_month(HOUSING[housing]),
        "loyer": every_month(rent),
        "depcom": every_month(profile.get("commune_insee") or DEFAULTS["commune_insee"]),
    }
    if couple:
        menage["conjoint"] = [parents[1]]
    return {
        "individus": individus,
        "familles": {f"{prefix}_famille": {"parents": parents, "enfants": children}},
        "foyers_fiscaux": {f"{prefix}_foyer": {"declarants": parents, "personnes_a_charge": children}},
        "menages": {f"{prefix}_menage": menage},
    }


def openfisca_amounts(system: Any, profiles: list[dict[str, Any]], day: dt.date) -> list[dict[str, float]]:
    """Plain OpenFisca: the households side by side in one situation (they share nothing), every variable
    computed by its formulas."""
    situation: dict[str, dict[str, Any]] = {"individus": {}, "familles": {}, "foyers_fiscaux": {}, "menages": {}}
    for number, profile in enumerate(profiles):
        for entity, instances in household_situation(profile, day, prefix=f"h{number:03d}").items():
            situation[entity].update(instances)
    simulation = SimulationBuilder().build_from_entities(system, situation)
    periods = {"month": f"{day.year}-{day.month:02d}", "year": str(day.year)}
    resident = np.array([name.endswith("_me") for name in situation["individus"]])
    values = {}
    for key, variable, period, entity in VARIABLES:
        computed = simulation.calculate(variable, periods[period])
        values[key] = computed[resident] if entity == "individu" else computed  # else one per household
    amounts = []
    for number in range(len(profiles)):
        found = {key: float(column[number]) for key, column in values.items()}
        free = found.pop("css_free") > 0
        participation = 0.0 if free else found["css_participation"]
        found["css"] = 1.0 if free or participation > 0 else 0.0
        found["css_participation"] = participation
        amounts.append(found)
    return amounts


# --- fixtures ----------------------------------------------------------------------------------------


def by_date() -> dict[dt.date, list[dict[str, Any]]]:
    groups: dict[dt.date, list[dict[str, Any]]] = defaultdict(list)
    for case in CASES:
        groups[case["date"]].append(case)
    return groups


@pytest.fixture(scope="module")
def plain_system() -> Any:
    return FranceTaxBenefitSystem()


@pytest.fixture(scope="module")
def outcomes() -> dict[str, NationalOutcome]:
    """`national_rights` for every case, one batch per date."""
    found: dict[str, NationalOutcome] = {}
    for day, cases in by_date().items():
        results = national_rights([Profile.model_validate(case["profile"]) for case in cases], day)
        found.update({case["name"]: outcome for case, outcome in zip(cases, results, strict=True)})
    return found


@pytest.fixture(scope="module")
def direct(plain_system: Any) -> dict[str, dict[str, float]]:
    found: dict[str, dict[str, float]] = {}
    for day, cases in by_date().items():
        amounts = openfisca_amounts(plain_system, [case["profile"] for case in cases], day)
        found.update({case["name"]: values for case, values in zip(cases, amounts, strict=True)})
    return found


def ids(case: dict[str, Any]) -> str:
    return f"{case['file']}: {case['name']}"


# --- tests -------------------------------------------------------------------------------------------


def test_the_cases_cover_the_situations_of_the_brief() -> None:
    assert len(CASES) >= 40
    assert len(BY_NAME) == len(CASES), "case names are unique"
    profiles = [case["profile"] for case in CASES]
    assert {len(p.get("children_ages") or []) for p in profiles} >= {0, 1, 2, 3, 4}
    assert {p.get("housing") for p in profiles} >= {"tenant", "social_tenant", "hosted", "owner", "homeless"}
    assert {p.get("activity") for p in profiles} >= {"employed", "jobseeker", "student", "inactive", "retired"}
    assert any(p.get("couple") for p in profiles) and any(p.get("couple") is False for p in profiles)
    assert any((p.get("age") or 0) > 65 for p in profiles)
    assert any((p.get("disability_rate") or 0) >= 80 for p in profiles)
    assert any(p.get("residence_ok") is False for p in profiles)
    assert any((p.get("income") or {}).get("pension") for p in profiles)
    assert any((p.get("income") or {}).get("unemployment") for p in profiles)
    assert any(p == {} for p in profiles)
    for case in CASES:
        assert set(case["expected"]) == set(AMOUNT_KEYS), case["name"]
    # the rights of the registry added after the first eight: each found at least once, in several situations
    for right in ("aspa", "aeeh", "ars", "bourse_college", "bourse_lycee", "cheque_energie"):
        assert sum(case["expected"][right] > 0 for case in CASES) >= 2, right
    assert {school for p in profiles for school in p.get("children_school") or []} == {"college", "lycee", "other"}
    assert {p.get("child_disability") for p in profiles} >= {True, False, None}
    assert {case["date"].month for case in CASES if case["expected"]["ars"] > 0} >= {1, 3, 10}


@pytest.mark.parametrize("case", CASES, ids=ids)
def test_amounts_equal_a_plain_openfisca_run(case: dict[str, Any], outcomes: dict, direct: dict) -> None:
    ours, reference = outcomes[case["name"]].amounts, direct[case["name"]]
    for key in AMOUNT_KEYS:
        assert ours[key] == pytest.approx(reference[key], abs=1), key


@pytest.mark.parametrize("case", CASES, ids=ids)
def test_expected_amounts(case: dict[str, Any], outcomes: dict) -> None:
    amounts = outcomes[case["name"]].amounts
    for key, expected in case["expected"].items():
        assert amounts[key] == pytest.approx(expected, abs=1), key


@pytest.mark.parametrize("case", [case for case in CASES if "outcome" in case], ids=ids)
def test_what_the_resident_is_shown(case: dict[str, Any], outcomes: dict) -> None:
    outcome = outcomes[case["name"]]
    assert [right.id for right in outcome.rights] == case["outcome"]["shown"]
    assert [right.id for right in outcome.rights if right.uncertain] == case["outcome"]["uncertain"]
    assert outcome.missing == case["outcome"]["missing"]


SINGLE_HOUSEHOLD = [
    "A couple with three children over 3, one salary of 1600 euros: complément familial.",
    "A single adult of 45 with an 80 percent disability rate and no income: AAH.",
    "A single retiree of 70 with a 900 euro pension, social tenant.",
    "A couple with a child at collège and one at lycée, one salary of 1300 euros: ARS, both bourses, chèque énergie.",
    "A single parent of a disabled child of 8: AEEH, to check with the MDPH.",
]


@pytest.mark.parametrize("name", SINGLE_HOUSEHOLD)
def test_one_household_alone_gives_the_same_amounts(name: str, plain_system: Any, outcomes: dict) -> None:
    """The batched plain run above shares its simulation between households: check a few alone."""
    case = BY_NAME[name]
    (alone,) = openfisca_amounts(plain_system, [case["profile"]], case["date"])
    for key in AMOUNT_KEYS:
        assert outcomes[name].amounts[key] == pytest.approx(alone[key], abs=1), key


def test_every_answer_missing_still_answers_with_everything_to_check() -> None:
    (outcome,) = national_rights([Profile()], dt.date(2025, 10, 15))
    assert [right.id for right in outcome.rights] == list(NATIONAL_RIGHT_IDS)
    assert all(right.uncertain for right in outcome.rights)
    assert set(outcome.missing) >= {"age", "couple", "children_ages", "housing", "income", "residence_ok"}
    assert set(outcome.amounts) == set(AMOUNT_KEYS)


def test_texts_are_plain_french_estimates(outcomes: dict) -> None:
    places = ("caf.fr", "ameli.fr", "MDPH", "caisse de retraite", "collège", "lycée", "chequeenergie.gouv.fr")
    for name, outcome in outcomes.items():
        for right in outcome.rights:
            assert right.kind == "national"
            assert right.label and right.next_step, name
            assert len(right.why) <= national.WHY_MAX, (name, right.why)
            assert any(word in right.why for word in ("probablement", "environ", "sans doute", "À vérifier")), right
            assert "Préparez" in right.next_step and any(place in right.next_step for place in places), right
            yearly = BY_ID[right.id].per == "year"
            if right.monthly_amount is not None and not yearly:
                assert right.monthly_amount == round(outcome.amounts[right.id]) > 0
                assert right.yearly_amount is None
            if right.monthly_amount is not None and yearly:  # a yearly amount, and its monthly equivalent
                assert right.yearly_amount == round(outcome.amounts[right.id]) > 0
                assert round(right.monthly_amount * 12) == right.yearly_amount
            if right.uncertain:
                assert "À vérifier" in right.why
            else:
                assert right.monthly_amount is not None or right.id == "css"


def test_rights_already_received_are_not_offered_again(outcomes: dict) -> None:
    name = "A single parent already receiving the RSA and the housing aid."
    outcome = outcomes[name]
    assert {"rsa", "aide_logement"}.isdisjoint(right.id for right in outcome.rights)
    assert outcome.amounts["rsa"] > 0 and outcome.amounts["aide_logement"] > 0


def test_a_missing_rent_makes_only_the_housing_aid_uncertain() -> None:
    profile = Profile.model_validate(BY_NAME["A single adult of 35 with no income renting a social flat in Dijon "
                                             "gets the RSA, housing aid and free CSS."]["profile"])
    (known, unknown) = national_rights([profile, profile.model_copy(update={"rent": None})], dt.date(2025, 10, 15))
    assert unknown.missing == ["rent"]
    assert [right.id for right in unknown.rights if right.uncertain] == ["aide_logement"]
    assert "votre loyer" in next(right.why for right in unknown.rights if right.id == "aide_logement")
    assert not any(right.uncertain for right in known.rights)


def test_batches_keep_the_order_whatever_the_chunks(monkeypatch: pytest.MonkeyPatch, outcomes: dict) -> None:
    """Households are grouped (disabled, senior...) then chunked: the outcomes come back in the input order."""
    cases = [case for case in CASES if case["date"] == dt.date(2025, 10, 15)][:12]
    monkeypatch.setattr(national, "CHUNK_SIZE", 5)
    results = national_rights([Profile.model_validate(case["profile"]) for case in cases], dt.date(2025, 10, 15))
    for case, outcome in zip(cases, results, strict=True):
        for key in AMOUNT_KEYS:
            assert outcome.amounts[key] == pytest.approx(outcomes[case["name"]].amounts[key], abs=0.01), case["name"]

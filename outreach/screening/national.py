"""National rights computed with OpenFisca-France, for one resident or for a large batch of residents.

`national_rights(profiles, today)` turns each screening `Profile` into an OpenFisca situation (one household:
the resident, the partner, the children), computes the benefits of `today`'s month and returns, per profile,
the rights shown to the resident (estimates, in plain French), the answers whose absence made some right
uncertain, and OpenFisca's raw amounts.

The situation (what a test must write by hand to get the same amounts)
----------------------------------------------------------------------
* Periods: every monthly input is set for every month from January of year N-2 to the current month M (N is
  M's year). That covers the 12 previous months and M (RSA and prime d'activité look at the last 3 months,
  the aide au logement and the CSS at a rolling year) and also the calendar year N-2 of the family benefits
  (complément familial, modulation of the allocations familiales) and of the AAH of a person who does not
  work. The profile's incomes are "assumed stable": the same monthly amount for every month.
* Persons: the resident (famille `demandeur`, foyer fiscal `declarant_principal`, ménage
  `personne_de_reference`), the partner when `couple` (`conjoint` in all three), the children (`enfant` of the
  famille and the ménage, `personne_a_charge` of the foyer fiscal). Birth dates: `date_of_birth` when given,
  otherwise "age and a half" (the birthday is unknown): the first day of M minus `age` years and 6 months.
* Incomes (net, monthly): `salary` → `salaire_net`; `unemployment` → `chomage_net`; `pension` →
  `retraite_nette`; `partner_salary` → the partner's `salaire_net`; `other` → `pensions_alimentaires_percues`,
  the one "other" income that OpenFisca counts in every base computed here (RSA, prime d'activité, aides au
  logement, AAH, CSS and the fiscal base of the family benefits). Its side effects: it reduces the ASF as an
  alimony would, and for a young adult without children it breaks the independence condition of the CSS.
  OpenFisca derives the taxable amounts from gross inputs only: a net input alone leaves `salaire_imposable`
  at 0, and the aides au logement (which use taxable resources) would ignore the salary. So the taxable amounts
  are set too: `salaire_imposable` = `salaire_net` x SALARY_TAXABLE_RATIO, `chomage_imposable` = `chomage_net`,
  `retraite_imposable` = `retraite_nette` (small replacement incomes are mostly exempt of the non-deductible
  CSG). The ASPA (minimum vieillesse, a right shown and counted by the RSA and the CSS) counts gross amounts:
  `salaire_de_base` = `salaire_net` / SALARY_NET_RATIO and `retraite_brute` = `retraite_nette` (small pensions
  are exempt of CSG); without them OpenFisca gives every person over 65 the full ASPA.
* `activite`, every month: employed → actif, jobseeker → chomeur, student → etudiant, retired → retraite,
  inactive → inactif (unknown: inferred from the incomes). The partner: actif with a salary, else inactif.
  A jobseeker's `date_debut_chomage` is M minus `jobseeker_since_months`.
* Housing (ménage, every month): `statut_occupation_logement` (tenant → locataire_vide, social_tenant →
  locataire_hlm, hosted → loge_gratuitement, owner → proprietaire, homeless → sans_domicile), `loyer` (tenants
  only, 0 otherwise) and `depcom` (the commune's INSEE code).
* Disability: `taux_incapacite` = disability_rate / 100. Between 50 and 79 % the AAH also needs a "restriction
  substantielle et durable d'accès à l'emploi" (RSDAE) that we do not ask: it is assumed
  (`aah_restriction_substantielle_durable_acces_emploi`) and the AAH is marked uncertain. `rqth` is not used
  (the RQTH is not the RSDAE).
* Residence: `residence_ok` false → `rsa_condition_nationalite` and `asi_aspa_condition_nationalite` false for
  every member of the household, children included (OpenFisca's prime d'activité accepts the family when *any*
  member, a child too, meets the condition, whereas the RSA looks at the parents only), and `taux_incapacite` 0
  (OpenFisca has no residence condition on the AAH). OpenFisca, as the law, still grants the prime d'activité
  to a single parent who would get the RSA majoré.
* `boursier` is false for everyone: we do not ask about grants (the bourses below are computed, not declared).
* School (for the bourses de collège and de lycée): each child's `scolarite`, for month M only (the bourses read it
  in that month): `children_school` when given (college → college, lycee → lycee, other → inconnue, the
  default), otherwise from the age: 11 to 14 → college, 15 to 17 → lycee, other ages → inconnue.
* A child with a disability (`child_disability`, for the AEEH): `handicap` true for every month of the span for
  the youngest child under 20 (nobody else); `aeeh_niveau_handicap` is not set (the base AEEH, no complément).
* Periods of the results (rights.py, `period`): month M for the monthly rights and the bourses (OpenFisca's
  monthly variables holding the yearly amount of the school year starting in M's calendar year); M's calendar
  year for the ARS (paid in August of that year) and the chèque énergie.
* Unknown answers ("je ne sais pas", None) take the DEFAULT_* values below and make the rights that depend on
  them uncertain (`depends_on` of each right in outreach/screening/rights.py, unless its `excluded` rule
  already rules the right out from the known answers).

Speed
-----
A plain OpenFisca run of one household takes ~1.5 s once France's system is loaded (~3 s): one `calculate`
walks ~15,000 formulas, because the RSA, the aide au logement and the prime d'activité of a month need the
others of the previous months, the CSS sums a rolling year of resources, and some bases reach back years
(the N-2 fiscal resources of the AAH of past months, the CSG rate of unemployment benefits, the income tax).
What is done here, without changing any result (tests/screening/test_national.py compares with a plain
FranceTaxBenefitSystem run on a hand-written situation):
* the system is loaded once per process (`tax_benefit_system`, cached), and only the targets of month M are
  calculated;
* one simulation for CHUNK_SIZE households at a time (vectorised: ~0.2 ms per extra household), built from
  arrays (`SimulationBuilder.declare_entity` / `join_with_persons` / `set_input`), not from a JSON situation;
* variables that are 0 for every situation built here are neutralised (`NEUTRALISED`), or set to 0 where that
  holds for a whole simulation (`_set_zeros`: households are grouped first, e.g. nobody disabled → no
  AAH), and the incomes are set to 0 before the span (`_ZERO_BEFORE_SPAN`), where formulas would otherwise
  compute the whole payroll chain to find 0;
* the garbage collector is kept off the system's objects (`gc.freeze`) and simulations are taken apart after
  use, which removes latency spikes of ~100-200 ms.
Calculation order matters in OpenFisca (its spiral detection returns a default value when a variable comes
back deeper in the same computation, e.g. rsa → aide_logement → rsa of the previous month): the targets are
always calculated in the order of `TARGETS` (the registry's order, rights.py). The rights added after the CSS
(ASPA, AEEH, ARS, bourses, chèque énergie) reuse what the first ones computed (the resources, the N-2 fiscal
incomes): together they add about 10 ms to a single household.
"""

from __future__ import annotations

import datetime as dt
import functools
import gc
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field

import numpy as np
from openfisca_core.indexed_enums import EnumArray
from openfisca_core.simulation_builder import SimulationBuilder
from openfisca_core.simulations import Simulation
from openfisca_core.taxbenefitsystems import TaxBenefitSystem
from openfisca_france import FranceTaxBenefitSystem
from openfisca_france.model.base import TypesActivite, TypesStatutOccupationLogement
from openfisca_france.model.prestations.education import TypesScolarite

from outreach.i18n import N_, _
from outreach.screening.model import Income, Profile, Right
from outreach.screening.rights import (
    LABELS,
    NATIONAL_RIGHT_IDS,
    NEXT_STEPS,
    RIGHTS,
    SCHOOL_AGES,
    TARGETS,
    Facts,
    NationalRight,
)

# --- the situation's constants ----------------------------------------------------------------------

DEFAULT_AGE = 35
DEFAULT_DEPCOM = "21231"  # Dijon
DEFAULT_HOUSING = "social_tenant"  # most residents of priority neighbourhoods rent social housing
DEFAULT_RENT = 450.0  # a tenant who does not know the rent
DEFAULT_SALARY = 1400.0  # about the full-time net SMIC: an employed person who does not say
DEFAULT_UNEMPLOYMENT = 1000.0
DEFAULT_PENSION = 1000.0
DEFAULT_PARTNER_SALARY = 0.0
DEFAULT_JOBSEEKER_MONTHS = 6
# salaire_imposable / salaire_net as OpenFisca-France computes them from a gross wage (private sector,
# non-cadre): the non-deductible CSG and the CRDS (2.9 % of 98.25 % of the gross wage) stay taxable.
SALARY_TAXABLE_RATIO = 1.036
# salaire_net / salaire_de_base (gross wage) as OpenFisca-France computes it, same employee: the ASPA counts gross
# wages and pensions.
SALARY_NET_RATIO = 0.7916
CHUNK_SIZE = 1000  # households per OpenFisca simulation: bounds memory, amortises the per-formula overhead

HOUSING_STATUS = {
    "tenant": TypesStatutOccupationLogement.locataire_vide,
    "social_tenant": TypesStatutOccupationLogement.locataire_hlm,
    "hosted": TypesStatutOccupationLogement.loge_gratuitement,
    "owner": TypesStatutOccupationLogement.proprietaire,
    "homeless": TypesStatutOccupationLogement.sans_domicile,
}
TENANT = (TypesStatutOccupationLogement.locataire_vide, TypesStatutOccupationLogement.locataire_hlm)
ACTIVITY = {
    "employed": TypesActivite.actif,
    "jobseeker": TypesActivite.chomeur,
    "student": TypesActivite.etudiant,
    "retired": TypesActivite.retraite,
    "inactive": TypesActivite.inactif,
}
SCHOOL = {"college": TypesScolarite.college, "lycee": TypesScolarite.lycee, "other": TypesScolarite.inconnue}
COLLEGE_AGES = range(11, 15)  # the school of a child whose school is not known: collège from 11 to 14…
LYCEE_AGES = range(15, 18)  # …lycée from 15 to 17 (ages on the first day of M, "age and a half")
AEEH_AGE_LIMIT = 20

# `TARGETS` (from rights.py): the OpenFisca targets in calculation order, (key in the raw amounts, variable,
# "month" (M) or "year" (M's calendar year), entity). Famille or ménage level: one value per household;
# "individu": the resident's value (the AAH). `LABELS`, `NEXT_STEPS`, `NATIONAL_RIGHT_IDS`: from rights.py too.

# Neutralised in our own copy of the system (OpenFisca's `neutralize_variable`, as reforms do): their formulas
# give 0 for every situation built here, because they rest only on inputs we never set.
#  * ass (allocation de solidarité spécifique): needs `ass_precondition_remplie` (5 years of work in the last
#    10), never set. Its resource base pulls in the AAH of previous years, their N-2 fiscal resources, the CSG
#    of unemployment benefits, the income tax...
#  * asi (allocation supplémentaire d'invalidité): needs `pensions_invalidite`, or `handicap` and a pension.
#  * work-accident annuities (`taux_accident_travail`), daily allowances (`indemnites_journalieres_*`), capital
#    and property incomes, savings, capital gains, self-employment incomes (`rpns_*`).
#  * aides_logement_accedant_et_foyer: home buyers and residents of a foyer (statuses we never set).
NEUTRALISED = (
    "ass",
    "asi",
    "rente_accident_travail",
    "indemnites_journalieres",
    "rsa_indemnites_journalieres_activite",
    "rsa_indemnites_journalieres_hors_activite",
    "rsa_base_ressources_patrimoine_individu",
    "aide_logement_base_ressources_patrimoine",
    "revenus_capital",
    "assiette_csg_plus_values",
    "rpns_imposables",
    "revenu_categoriel_non_salarial",
    "ppa_rsa_derniers_revenus_tns_annuels_connus",
    "aides_logement_accedant_et_foyer",
)
# Set to 0 over the span when that holds for every household of the simulation (households are grouped by
# these flags before being chunked, see `_group_key`):
#  * aah: nobody has a taux_incapacite of 50 % or more;
#  * caah (complément of the AAH): nobody has 80 % or more without a salary (`eligibilite_caah` needs 80 % and
#    no work in the last 12 months). Computing it means computing the aide au logement of each of the 12
#    previous months (for its "majoration pour la vie autonome", counted by the CSS over a rolling year);
#  * aspa: nobody is SENIOR_AGE or more (the ASPA starts at 65, or at the legal retirement age, 62 to 64,
#    with a disability).
SENIOR_AGE = 60
# Incomes before the span: OpenFisca would derive them from gross inputs, all 0, so they are 0; some formulas
# reach back years (the N-2 resources of the AAH of past months) and would run the payroll and
# unemployment-benefit chains to find that 0.
_ZERO_BEFORE_SPAN = (
    "salaire_net",
    "salaire_imposable",
    "salaire_de_base",
    "chomage_net",
    "chomage_imposable",
    "chomage_brut",
    "retraite_nette",
    "retraite_imposable",
    "retraite_brute",
)
_YEARS_BEFORE_SPAN = 3


@functools.cache
def tax_benefit_system() -> TaxBenefitSystem:
    """France's tax and benefit system for the screening, loaded once per process (about 3 s), with the
    `NEUTRALISED` variables neutralised (do not use it for other computations).

    Its ~250,000 objects live as long as the process: they are moved out of the garbage collector's reach
    (`gc.freeze`), otherwise every full collection walks them all (a ~100 ms latency spike).
    """
    system = FranceTaxBenefitSystem()
    for name in NEUTRALISED:
        system.neutralize_variable(name)
    gc.collect()
    gc.freeze()
    return system


def span_months(today: dt.date) -> list[str]:
    """The months whose inputs are set: January of year N-2 to `today`'s month ('YYYY-MM')."""
    return [f"{year}-{month:02d}" for year, month in _months(dt.date(today.year - 2, 1, 1), today)]


def _months(start: dt.date, end: dt.date) -> Iterator[tuple[int, int]]:
    year, month = start.year, start.month
    while (year, month) <= (end.year, end.month):
        yield year, month
        year, month = (year + 1, 1) if month == 12 else (year, month + 1)


def _first_of_month_before(today: dt.date, months: int) -> dt.date:
    index = today.year * 12 + today.month - 1 - months
    return dt.date(index // 12, index % 12 + 1, 1)


def birth_date(age: int, today: dt.date) -> dt.date:
    """'Age and a half': `age` years and 6 months old on the first day of `today`'s month."""
    return _first_of_month_before(today, 12 * age + 6)


# --- the outcome ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class NationalOutcome:
    """The national rights found for one profile.

    `rights`: the rights the resident probably has, and those "à vérifier" (uncertain, even at 0 €); rights
    already received (`Profile.receives`) are left out. `missing`: the profile fields (income parts dotted,
    e.g. "income.salary") whose absence made a shown right uncertain. `amounts`: OpenFisca's raw monthly
    amount for every right id (0 included, received rights included); for "css", 1.0 when the CSS is probably
    granted (free or with a participation), else 0.0, and "css_participation": the monthly participation
    (0 when free or not granted).
    """

    rights: list[Right] = field(default_factory=list)
    missing: list[str] = field(default_factory=list)
    amounts: dict[str, float] = field(default_factory=dict)


# --- profile -> household ---------------------------------------------------------------------------


@dataclass(frozen=True)
class _Person:
    role: str  # "resident", "partner" or "child"
    birth: dt.date
    salary: float = 0.0
    unemployment: float = 0.0
    pension: float = 0.0
    other: float = 0.0
    activity: TypesActivite = TypesActivite.inactif
    disability: float = 0.0  # taux_incapacite, 0 to 1
    rsdae: bool = False
    residence_ok: bool = True
    unemployed_since: dt.date | None = None
    school: TypesScolarite = TypesScolarite.inconnue  # `scolarite` of month M (children)
    handicap: bool = False  # a child with a disability (AEEH)


@dataclass(frozen=True)
class _Household:
    persons: tuple[_Person, ...]
    housing: TypesStatutOccupationLogement
    rent: float
    depcom: str
    unknown: dict[str, tuple[str, ...]]  # right id -> the missing fields it depends on
    disabled: bool  # someone with a taux_incapacite of 50 % or more
    caah_possible: bool  # someone with 80 % or more and no salary
    senior: bool  # someone aged SENIOR_AGE or more


def _age_on_first(birth: dt.date, today: dt.date) -> int:
    """Age on the first day of `today`'s month (OpenFisca's `age` of that month)."""
    first = today.replace(day=1)
    return first.year - birth.year - ((first.month, first.day) < (birth.month, birth.day))


def _schools(profile: Profile, children: Sequence[int]) -> list[TypesScolarite]:
    """Each child's `scolarite` of month M: the answer, or the usual school of the age."""
    if profile.children_school is not None:
        return [SCHOOL[school] for school in profile.children_school]
    return [
        TypesScolarite.college
        if age in COLLEGE_AGES
        else TypesScolarite.lycee
        if age in LYCEE_AGES
        else TypesScolarite.inconnue
        for age in children
    ]


def _disabled_child(profile: Profile, children: Sequence[int]) -> int | None:
    """The index of the child taken as disabled (the youngest under 20), or None."""
    if not profile.child_disability:
        return None
    young = [(age, index) for index, age in enumerate(children) if age < AEEH_AGE_LIMIT]
    return min(young)[1] if young else None


def _household(profile: Profile, today: dt.date) -> _Household:
    """The profile's household, unknown answers replaced by defaults (and recorded in `missing`)."""
    missing: set[str] = set()

    age = profile.age_on(today)
    if age is None:
        missing.add("age")
        age = DEFAULT_AGE
    resident_birth = profile.date_of_birth or birth_date(age, today)

    couple = profile.couple
    if couple is None:
        missing.add("couple")
        couple = False
    if couple and profile.partner_age is None:
        missing.add("partner_age")
    children = profile.children_ages
    if children is None:
        missing.add("children_ages")
        children = []
    # the questions about the children's school and health concern only children of these ages (and are
    # implied by an unknown `children_ages`)
    if profile.children_school is None and any(age in SCHOOL_AGES for age in children):
        missing.add("children_school")
    if profile.child_disability is None and any(age < AEEH_AGE_LIMIT for age in children):
        missing.add("child_disability")
    schools = _schools(profile, children)
    disabled_child = _disabled_child(profile, children)

    # Incomes. No `income` at all (or an empty one) is unknown; within a given `income`, an unknown part is
    # an unknown amount only where the activity says there is one (employed → salary, jobseeker →
    # unemployment, retired → pension, couple → partner_salary), otherwise 0.
    income = profile.income
    if income is not None and all(value is None for value in income.model_dump().values()):
        income = None
    if income is None:
        missing.add("income")
    activity = profile.activity
    if activity is None:
        missing.add("activity")

    def amount(name: str, expected: bool, default: float) -> float:
        value = getattr(income, name) if income is not None else None
        if value is not None:
            return float(value)
        if not expected:
            return 0.0
        if income is not None:
            missing.add(f"income.{name}")
        return default

    salary = amount("salary", activity == "employed", DEFAULT_SALARY)
    unemployment = amount("unemployment", activity == "jobseeker", DEFAULT_UNEMPLOYMENT)
    pension = amount("pension", activity == "retired", DEFAULT_PENSION)
    other = amount("other", False, 0.0)
    partner_salary = amount("partner_salary", True, DEFAULT_PARTNER_SALARY) if couple else 0.0
    if activity is None:
        if salary > 0:
            activity = "employed"
        elif unemployment > 0:
            activity = "jobseeker"
        elif pension > 0 or age >= 65:
            activity = "retired"
        else:
            activity = "inactive"
    unemployed_since = None
    if activity == "jobseeker":
        months = profile.jobseeker_since_months
        if months is None:
            missing.add("jobseeker_since_months")
            months = DEFAULT_JOBSEEKER_MONTHS
        unemployed_since = _first_of_month_before(today, months)

    residence_ok = profile.residence_ok
    if residence_ok is None:
        missing.add("residence_ok")
        residence_ok = True
    rate = profile.disability_rate
    if rate is None:
        missing.add("disability_rate")
        rate = 0
    rsdae = 50 <= rate < 80

    persons = [
        _Person(
            role="resident",
            birth=resident_birth,
            salary=salary,
            unemployment=unemployment,
            pension=pension,
            other=other,
            activity=ACTIVITY[activity],
            disability=rate / 100 if residence_ok else 0.0,
            rsdae=rsdae,
            residence_ok=residence_ok,
            unemployed_since=unemployed_since,
        )
    ]
    if couple:
        persons.append(
            _Person(
                role="partner",
                birth=birth_date(profile.partner_age if profile.partner_age is not None else age, today),
                salary=partner_salary,
                activity=TypesActivite.actif if partner_salary > 0 else TypesActivite.inactif,
                residence_ok=residence_ok,
            )
        )
    persons.extend(
        _Person(
            role="child",
            birth=birth_date(child_age, today),
            residence_ok=residence_ok,
            school=schools[index],
            handicap=index == disabled_child,
        )
        for index, child_age in enumerate(children)
    )

    housing = profile.housing
    if housing is None:
        missing.add("housing")
        housing = DEFAULT_HOUSING
    rent = 0.0
    if housing in ("tenant", "social_tenant"):
        if profile.rent is None:
            missing.add("rent")
            rent = DEFAULT_RENT
        else:
            rent = profile.rent
    depcom = profile.commune_insee
    if depcom is None:
        missing.add("commune_insee")
        depcom = DEFAULT_DEPCOM

    return _Household(
        persons=tuple(persons),
        housing=HOUSING_STATUS[housing],
        rent=rent,
        depcom=depcom,
        unknown={
            right.id: () if right.excluded(profile, today) else tuple(sorted(missing.intersection(right.depends_on)))
            for right in RIGHTS
        },
        disabled=any(person.disability >= 0.5 for person in persons),
        caah_possible=any(person.disability >= 0.8 and person.salary == 0 for person in persons),
        senior=any(_age_on_first(person.birth, today) >= SENIOR_AGE for person in persons),
    )


# --- the vectorised OpenFisca simulation -------------------------------------------------------------

_ROLES = {
    "famille": {"resident": "demandeur", "partner": "conjoint", "child": "enfant"},
    "foyer_fiscal": {"resident": "declarant_principal", "partner": "conjoint", "child": "personne_a_charge"},
    "menage": {"resident": "personne_de_reference", "partner": "conjoint", "child": "enfant"},
}


def _simulate(households: Sequence[_Household], today: dt.date) -> dict[str, np.ndarray]:
    """One OpenFisca simulation for all `households`: key of `TARGETS` -> one value per household."""
    system = tax_benefit_system()
    people = [(index, person) for index, household in enumerate(households) for person in household.persons]
    person_household = np.array([index for index, _ in people], dtype=np.int64)
    roles = [person.role for _, person in people]

    builder = SimulationBuilder()
    builder.create_entities(system)
    builder.declare_person_entity("individu", [f"p{i}" for i in range(len(people))])
    for entity, keys in _ROLES.items():
        population = builder.declare_entity(entity, np.arange(len(households)))
        builder.join_with_persons(population, person_household, [keys[role] for role in roles])
    simulation = builder.build(system)

    def column(name: str, dtype: type = np.float32) -> np.ndarray:
        return np.array([getattr(person, name) for _, person in people], dtype=dtype)

    salary, unemployment, pension, other = (column(name) for name in ("salary", "unemployment", "pension", "other"))
    taxable_salary = salary * np.float32(SALARY_TAXABLE_RATIO)
    gross_salary = salary / np.float32(SALARY_NET_RATIO)
    activity = EnumArray(np.array([person.activity.index for _, person in people], dtype=np.int16), TypesActivite)
    disability = column("disability")
    rsdae = column("rsdae", bool)
    nationality = column("residence_ok", bool)
    no_grant = np.zeros(len(people), dtype=bool)
    housing = EnumArray(
        np.array([household.housing.index for household in households], dtype=np.int16), TypesStatutOccupationLogement
    )
    rent = np.array([household.rent for household in households], dtype=np.float32)
    depcom = np.array([household.depcom for household in households], dtype=object)
    never = np.datetime64(dt.date.max)
    unemployed_since = np.array(
        [np.datetime64(person.unemployed_since) if person.unemployed_since else never for _, person in people],
        dtype="datetime64[D]",
    )

    set_input = simulation.set_input
    set_input("date_naissance", "ETERNITY", np.array([person.birth for _, person in people], dtype="datetime64[D]"))
    set_input("date_debut_chomage", "ETERNITY", unemployed_since)
    months = span_months(today)
    for month in months:
        set_input("salaire_net", month, salary)
        set_input("salaire_imposable", month, taxable_salary)
        set_input("salaire_de_base", month, gross_salary)
        set_input("chomage_net", month, unemployment)
        set_input("chomage_imposable", month, unemployment)
        set_input("retraite_nette", month, pension)
        set_input("retraite_imposable", month, pension)
        set_input("retraite_brute", month, pension)
        set_input("pensions_alimentaires_percues", month, other)
        set_input("activite", month, activity)
        set_input("taux_incapacite", month, disability)
        set_input("aah_restriction_substantielle_durable_acces_emploi", month, rsdae)
        set_input("rsa_condition_nationalite", month, nationality)
        set_input("asi_aspa_condition_nationalite", month, nationality)
        set_input("boursier", month, no_grant)
        set_input("statut_occupation_logement", month, housing)
        set_input("loyer", month, rent)
        set_input("depcom", month, depcom)
    school = EnumArray(np.array([person.school.index for _, person in people], dtype=np.int16), TypesScolarite)
    set_input("scolarite", months[-1], school)
    if any(person.handicap for _, person in people):
        handicap = column("handicap", bool)
        for month in months:
            set_input("handicap", month, handicap)
    _set_zeros(simulation, today, households)

    resident = np.array([role == "resident" for role in roles])
    periods = {"month": months[-1], "year": str(today.year)}
    children = [person for _, person in people if person.role == "child"]
    results: dict[str, np.ndarray] = {}
    try:
        for key, variable, period, entity in TARGETS:
            if key in _ZERO_WITHOUT and not any(_ZERO_WITHOUT[key](child, today) for child in children):
                results[key] = np.zeros(len(households))  # what OpenFisca would find, without computing it
                continue
            values = simulation.calculate(variable, periods[period])
            if entity == "individu":
                values = values[resident]
            results[key] = np.array(values, dtype=np.float64)
    finally:
        _dispose(simulation)
    return results


# Targets that are 0 for a simulation where no child is like this (not calculated then: a few ms for a household
# without children): the ARS needs a child of 6 to 18 in December, the bourses a pupil, the AEEH a disabled child.
_ZERO_WITHOUT: dict[str, Callable[[_Person, dt.date], bool]] = {
    "ars": lambda child, today: _age_on_first(child.birth, today) < 20,  # 18 at the latest in December
    "bourse_college": lambda child, today: child.school == TypesScolarite.college,
    "bourse_lycee": lambda child, today: child.school == TypesScolarite.lycee,
    "aeeh": lambda child, today: child.handicap,
}


def _set_zeros(simulation: Simulation, today: dt.date, households: Sequence[_Household]) -> None:
    """The zeros that hold for these households (see above `SENIOR_AGE`) and the incomes before the span."""
    over_span = []
    if not any(household.disabled for household in households):
        over_span.append("aah")
    if not any(household.caah_possible for household in households):
        over_span.append("caah")
    if not any(household.senior for household in households):
        over_span.append("aspa")
    before = [
        f"{year}-{month:02d}"
        for year, month in _months(dt.date(today.year - 2 - _YEARS_BEFORE_SPAN, 1, 1), dt.date(today.year - 3, 12, 1))
    ]
    system = simulation.tax_benefit_system
    for names, months in ((over_span, span_months(today)), (_ZERO_BEFORE_SPAN, before)):
        for name in names:
            zeros = np.zeros(simulation.get_variable_population(name).count, dtype=system.get_variable(name).dtype)
            for month in months:
                simulation.set_input(name, month, zeros)


def _group_key(household: _Household) -> tuple[bool, bool, bool]:
    return household.disabled, household.caah_possible, household.senior


def _dispose(simulation: Simulation) -> None:
    """Break the simulation <-> population <-> holder reference cycles: its arrays are freed at once by
    reference counting, not by a later (slow, full) garbage collection."""
    for population in simulation.populations.values():
        population._holders.clear()
        population.simulation = None
    simulation.populations = {}


# --- public API -------------------------------------------------------------------------------------


def national_rights(profiles: Sequence[Profile], today: dt.date) -> list[NationalOutcome]:
    """The national rights of each profile for `today`'s month, in the profiles' order.

    Households are grouped (`_group_key`) then computed CHUNK_SIZE at a time, one OpenFisca simulation each.
    """
    households = [_household(profile, today) for profile in profiles]
    groups: dict[tuple[bool, bool, bool], list[int]] = {}
    for index, household in enumerate(households):
        groups.setdefault(_group_key(household), []).append(index)
    outcomes: dict[int, NationalOutcome] = {}
    for indices in groups.values():
        for start in range(0, len(indices), CHUNK_SIZE):
            chunk = indices[start : start + CHUNK_SIZE]
            results = _simulate([households[index] for index in chunk], today)
            for offset, index in enumerate(chunk):
                amounts = _amounts({key: float(values[offset]) for key, values in results.items()})
                outcomes[index] = _outcome(profiles[index], households[index], amounts, today)
    return [outcomes[index] for index in range(len(households))]


def warm_up(today: dt.date) -> None:
    """Load the system and run one simulation of each kind for `today`'s month, so that the next calls are
    fast (a service calls this at start-up: a few seconds). What they created (parameters at each instant,
    caches) is then frozen out of the garbage collector's reach, like the system itself."""
    tax_benefit_system()
    nothing = Income(salary=0, unemployment=0, pension=0, other=0)
    samples = [
        Profile(age=30, couple=False, children_ages=[], housing="tenant", rent=400, income=nothing),
        Profile(age=70, couple=True, partner_age=68, children_ages=[], housing="owner", income=nothing),
        Profile(age=40, children_ages=[5, 12, 16], housing="social_tenant", rent=350, income=nothing,
                disability_rate=80, children_school=["other", "college", "lycee"], child_disability=True),
        Profile(age=66, children_ages=[], housing="hosted", income=nothing, disability_rate=80),
        Profile(age=45, couple=True, children_ages=[4, 8, 12], housing="social_tenant", rent=500, activity="employed",
                income=Income(salary=1200), disability_rate=50),
        Profile(age=62, children_ages=[], housing="tenant", rent=450, disability_rate=60, activity="employed",
                income=Income(salary=900)),
    ]
    national_rights(samples, today)
    gc.collect()
    gc.freeze()


def _amounts(raw: dict[str, float]) -> dict[str, float]:
    """The raw values of the targets -> NationalOutcome.amounts (each right settles its own, rights.py)."""
    amounts: dict[str, float] = {}
    for right in RIGHTS:
        amounts.update(right.amounts(raw))
    return amounts


# --- what the resident reads (French): the labels and texts of each right are in rights.py -------------

FIELD_WORDS = {
    "age": N_("votre âge"),
    "couple": N_("votre situation de couple"),
    "partner_age": N_("l'âge de votre conjoint"),
    "children_ages": N_("vos enfants"),
    "housing": N_("votre logement"),
    "rent": N_("votre loyer"),
    "commune_insee": N_("votre commune"),
    "income": N_("vos revenus"),
    "income.salary": N_("votre salaire"),
    "income.unemployment": N_("votre allocation chômage"),
    "income.pension": N_("votre retraite"),
    "income.partner_salary": N_("le salaire de votre conjoint"),
    "activity": N_("votre activité"),
    "jobseeker_since_months": N_("la date du début de votre chômage"),
    "disability_rate": N_("votre taux d'incapacité"),
    "residence_ok": N_("votre titre de séjour"),
    "children_school": N_("l'école de vos enfants"),
    "child_disability": N_("la santé de vos enfants"),
}
OTHER_ANSWERS = N_("d'autres réponses")
# The "why" of a right is stored in French, one part a line: the right's reason, then what is uncertain. The
# {answers} are FIELD_WORDS, separated by ", " (present.localized shows each in the language of the turn).
UNKNOWN_ANSWERS = N_("À vérifier : nous ne pouvons pas le dire sans connaître {answers}.")
DEPENDS_ON = N_("À vérifier : cela dépend de ces réponses : {answers}.")
TO_CHECK = N_("À vérifier.")
STORED_TEMPLATES = (lambda n: _(UNKNOWN_ANSWERS), lambda n: _(DEPENDS_ON))
WHY_MAX = 200


def _words(fields: Sequence[str]) -> str:
    words = [FIELD_WORDS[name] for name in fields]
    if len(words) > 3:
        words = [*words[:2], OTHER_ANSWERS]
    return ", ".join(words)


def _why(right: NationalRight, facts: Facts, amount: float, fields: tuple[str, ...], caveat: bool) -> str:
    if amount <= 0:
        return UNKNOWN_ANSWERS.format(answers=_words(fields))
    why = right.why(facts)
    if caveat and right.caveat:
        extra = right.caveat
    elif fields:
        extra = DEPENDS_ON.format(answers=_words(fields))
    else:
        return why
    return f"{why}\n{extra}" if len(why) + 1 + len(extra) <= WHY_MAX else f"{why}\n{TO_CHECK}"


def _outcome(profile: Profile, household: _Household, amounts: dict[str, float], today: dt.date) -> NationalOutcome:
    rights: list[Right] = []
    missing: set[str] = set()
    facts = Facts(
        profile=profile, amounts=amounts, works=household.persons[0].salary > 0, tenant=household.housing in TENANT
    )
    for right in RIGHTS:
        if right.id in profile.receives:
            continue
        fields = household.unknown[right.id]
        amount = amounts[right.id]
        # an assumption (the RSDAE of a 50-79 % rate, the MDPH's decision for a child) matters only with an amount
        caveat = amount > 0 and right.caveat is not None and right.caveat_if(profile, today)
        uncertain = bool(fields) or caveat
        if amount <= 0 and not uncertain:
            continue
        missing.update(fields)
        rights.append(
            Right(
                id=right.id,
                label=right.label,
                kind="national",
                monthly_amount=right.monthly_amount(amount),
                yearly_amount=right.yearly_amount(amount),
                why=_why(right, facts, amount, fields, caveat),
                next_step=right.next_step,
                uncertain=uncertain,
            )
        )
    return NationalOutcome(rights=rights, missing=sorted(missing), amounts=amounts)


__all__ = [
    "CHUNK_SIZE",
    "FIELD_WORDS",
    "LABELS",
    "NATIONAL_RIGHT_IDS",
    "NEXT_STEPS",
    "TARGETS",
    "WHY_MAX",
    "NationalOutcome",
    "birth_date",
    "national_rights",
    "span_months",
    "tax_benefit_system",
    "warm_up",
]

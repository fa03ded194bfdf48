"""The national rights the screening looks for: one declaration per right.

Everything that differs from one national right to another is declared here, once: its id, the
OpenFisca-France variable(s) and the period computed, whether the amount is monthly or yearly and when it
is paid, the profile answers it depends on, what the known answers rule out, and the texts the resident
reads (label, why, next step). It is read by the computation (national.py: targets, uncertainty, texts),
the presentation (present.py), the catalogue's "receives" conditions (catalogue.py), the follow-up
questions (booking_texts.py), the statistics (stats.py) and the tests.

    RIGHTS: tuple[NationalRight, ...]     # in calculation order, which is also the order shown
    BY_ID[right_id] -> NationalRight
    NATIONAL_RIGHT_IDS: tuple[str, ...]
    amount_text(right_id, monthly_amount) -> "environ 231 € par mois" | "environ 914 € par an, versée fin août"

Languages. The texts of a right (label, why, next step) are French msgids of the message catalogue (`N_`):
the screening stores them in French (staff read them, the statistics count them) and present.py shows them in
the language of the turn (`present.localized`). A text made of parts is stored one part a line, each part a
msgid or a msgid's template filled in (`STORED_TEMPLATES`), so that it can be shown in another language.

Amounts. `period` is the OpenFisca period computed: "month" (the screening's month) or "year" (its
calendar year: the ARS of the year's rentrée, the chèque énergie of the year). `per` says what the amount
is: a monthly amount, or a yearly one (ARS, bourses, chèque énergie: OpenFisca's bourses are monthly
variables holding the yearly amount of the school year starting in that calendar year). Everywhere a
single figure is stored (`Right.monthly_amount`, the database, the statistics' events) a yearly right's
amount is its monthly equivalent, yearly / 12 (cents), so that x 12 gives its yearly amount back and sums
per month stay meaningful; `Right.yearly_amount` and `amount_text` give the yearly amount itself.

Adding a right: one `NationalRight` below, and OpenFisca case files (tests/screening/cases). If it needs an
answer the screening does not have yet: a Profile field (model.py), its default and its OpenFisca input
(national.py), a question (questions.py, with its Rasa slot in nlu/domain/screening.yml) and its words in
national.FIELD_WORDS.

This module imports neither OpenFisca nor the profile model (cheap to import, no cycle): the callables
receive the Profile (`p`) and `Facts`.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Literal

from outreach import i18n
from outreach.i18n import N_, _

if TYPE_CHECKING:
    from outreach.screening.model import Profile

Period = Literal["month", "year"]
Entity = Literal["famille", "menage", "individu"]

# Answers (profile fields; income parts dotted) that most means-tested rights depend on.
INCOME = ("income", "income.salary", "income.unemployment", "income.pension", "income.partner_salary")
# No ASPA below this age (the resident's, and the partner's when known): 65, or the legal retirement age (62 to 64)
# with a disability.
SENIOR_AGE = 62
SCHOOL_AGES = range(10, 20)  # a child of these ages may be at collège or lycée (the school question is asked)


@dataclass(frozen=True)
class Facts:
    """What the "why" of a right may use: the resident's answers and what the computation found or assumed."""

    profile: Profile
    amounts: Mapping[str, float]  # national.NationalOutcome.amounts
    works: bool  # the resident has a salary (given, or assumed from "employed")
    tenant: bool  # pays a rent (tenant or social tenant, given or assumed)


def _never(profile: Profile, today: dt.date) -> bool:
    return False


@dataclass(frozen=True)
class NationalRight:
    id: str  # the OpenFisca-France variable name where one exists
    label: str  # what the resident reads as the right's title
    name: str  # with its article, inside sentences: "le RSA", "l'allocation de rentrée scolaire (ARS)"
    variables: tuple[tuple[str, str], ...]  # (key in the raw amounts, OpenFisca variable), calculated in this order
    entity: Entity  # of the variables; "individu": the resident's own value
    depends_on: tuple[str, ...]  # profile fields whose absence makes the right uncertain ("à vérifier")
    why: Callable[[Facts], str]  # why it is probably there (its amount is positive), plain French
    next_step: str  # where and how to ask, what to prepare ("Préparez : …")
    period: Period = "month"  # the OpenFisca period computed: the screening's month, or its calendar year
    per: Period = "month"  # the amount is a monthly one, or a yearly one
    when_paid: str | None = None  # for a yearly amount: "versée fin août"
    excluded: Callable[[Profile, dt.date], bool] = _never  # the known answers rule it out, whatever the unknown ones
    caveat: str | None = None  # "À vérifier : …" when the amount rests on an assumption…
    caveat_if: Callable[[Profile, dt.date], bool] = _never  # …that these answers make
    verb: str = "touchez"  # "Vous touchez le RSA." (the catalogue's "receives" conditions): see RECEIVING
    has_amount: bool = True  # False: a cover, not money (the CSS): no amount shown
    claimed: bool = True  # False: it comes without a claim (the chèque énergie): no follow-up asks about a claim
    settle: Callable[[Mapping[str, float]], dict[str, float]] | None = None  # raw values -> amounts (default: id)

    def amounts(self, raw: Mapping[str, float]) -> dict[str, float]:
        """This right's entries of NationalOutcome.amounts from its variables' raw values."""
        if self.settle is not None:
            return self.settle(raw)
        ((key, _variable),) = self.variables
        return {self.id: raw[key]}

    def monthly_amount(self, amount: float) -> float | None:
        """`Right.monthly_amount`: the monthly amount in euros, or a yearly amount's monthly equivalent."""
        if not self.has_amount or amount <= 0:
            return None
        if self.per == "year":
            return round(round(amount) / 12, 2)
        return float(round(amount))

    def yearly_amount(self, amount: float) -> float | None:
        """`Right.yearly_amount`: the yearly amount in euros of a right paid once a year (else None)."""
        if not self.has_amount or amount <= 0 or self.per != "year":
            return None
        return float(round(amount))

    @property
    def receiving(self) -> str:
        """ "Vous touchez le RSA.", "Vous avez la complémentaire santé solidaire." (French, as stored)."""
        return RECEIVING[self.verb].format(right=self.name)

    @property
    def of_name(self) -> str:
        """"du RSA", "de la prime d'activité", "des allocations familiales", "de l'AAH"."""
        return de(self.name)


# "Vous touchez le RSA.": per verb of NationalRight.verb, the sentence; {right} is the right's name (a msgid).
RECEIVING: dict[str, str] = {
    "touchez": N_("Vous touchez {right}."),
    "avez": N_("Vous avez {right}."),
    "recevez": N_("Vous recevez {right}."),
}


def de(words: str) -> str:
    """'de' + words, with the French contractions (du, des; "d'autres" stays)."""
    if words.startswith("le "):
        return "du " + words[3:]
    if words.startswith("les "):
        return "des " + words[4:]
    if words.startswith("d'"):
        return words
    return f"de {words}"


# --- the known answers that rule a right out --------------------------------------------------------


def _children(profile: Profile, ages: range) -> int | None:
    """How many children of these ages (None: the children are not known)."""
    if profile.children_ages is None:
        return None
    return sum(age in ages for age in profile.children_ages)


def _no_child(ages: range) -> Callable[[Profile, dt.date], bool]:
    return lambda p, today: _children(p, ages) == 0


def _no_pupil(level: str) -> Callable[[Profile, dt.date], bool]:
    """No child at this school level: known from the school answer, or from the ages alone."""

    def excluded(p: Profile, today: dt.date) -> bool:
        if p.children_school is not None:
            return level not in p.children_school
        return _children(p, SCHOOL_AGES) == 0

    return excluded


def _no_senior(p: Profile, today: dt.date) -> bool:
    """Too young for the ASPA, and so is the partner (a partner of unknown age is taken to be of the resident's
    age, as the computation does)."""
    age = p.age_on(today)
    partner_young = p.couple is not True or p.partner_age is None or p.partner_age < SENIOR_AGE
    return age is not None and age < SENIOR_AGE and partner_young


# --- the texts that depend on the situation -----------------------------------------------------------

FAMILY = ("couple", "children_ages", *INCOME)


def _fixed(text: str) -> Callable[[Facts], str]:
    return lambda facts: text


def _prime_activite(facts: Facts) -> str:
    if facts.works:
        return N_("Vous travaillez avec un petit salaire : la prime d'activité complète probablement vos revenus.")
    return N_("Votre foyer a de petits revenus du travail : la prime d'activité les complète probablement.")


def _aide_logement(facts: Facts) -> str:
    if facts.tenant:
        return N_("Vous payez un loyer et vos revenus sont modestes : une aide au logement le baisse probablement.")
    return N_("Votre logement et vos revenus ouvrent probablement droit à une aide au logement.")


CSS_PRICE = N_(
    "Vos revenus sont modestes : la complémentaire santé solidaire vous coûterait environ {amount} par mois pour "
    "le foyer."
)


def _css(facts: Facts) -> str:
    participation = facts.amounts["css_participation"]
    if participation > 0:
        return CSS_PRICE.format(amount=euros_fr(participation))
    return N_("Vos revenus sont modestes : la complémentaire santé solidaire est probablement gratuite pour vous.")


def _css_amounts(raw: Mapping[str, float]) -> dict[str, float]:
    """"css": 1.0 when granted, free (ex CMU-C) or with a participation; "css_participation": its monthly price."""
    free = raw["css_free"] > 0
    participation = 0.0 if free else raw["css_participation"]
    return {"css": 1.0 if free or participation > 0 else 0.0, "css_participation": participation}


def _aah_rsdae(p: Profile, today: dt.date) -> bool:
    """Between 50 and 79 % the AAH also needs the RSDAE, which we do not ask: it is assumed."""
    rate = p.disability_rate
    return rate is not None and 50 <= rate < 80 and p.residence_ok is not False


# --- the registry -----------------------------------------------------------------------------------

RIGHTS: tuple[NationalRight, ...] = (
    NationalRight(
        id="rsa",
        label=N_("Revenu de solidarité active (RSA)"),
        name=N_("le RSA"),
        variables=(("rsa", "rsa"),),
        entity="famille",
        depends_on=("age", "partner_age", "housing", "activity", "residence_ok", *FAMILY),
        why=_fixed(
            N_(
                "Vos ressources sont faibles : le RSA (revenu de solidarité active) vous assure probablement un "
                "revenu minimum chaque mois."
            )
        ),
        next_step=N_(
            "Demandez-le sur caf.fr (Mes services en ligne) ou à la CAF (à la MSA si vous êtes agricole). "
            "Préparez : pièce d'identité, RIB, justificatifs de ressources des 3 derniers mois."
        ),
    ),
    NationalRight(
        id="prime_activite",
        label=N_("Prime d'activité"),
        name=N_("la prime d'activité"),
        variables=(("prime_activite", "ppa"),),
        entity="famille",
        depends_on=("age", "partner_age", "housing", "activity", "residence_ok", *FAMILY),
        why=_prime_activite,
        next_step=N_(
            "Demandez-la sur caf.fr (Mes services en ligne) ou à l'accueil de la CAF. Si vous êtes agricole, "
            "demandez-la à la MSA. Préparez : pièce d'identité, RIB, bulletins de salaire des 3 derniers mois."
        ),
    ),
    NationalRight(
        id="aide_logement",
        label=N_("Aide au logement (APL)"),
        name=N_("l'aide au logement (APL)"),
        variables=(("aide_logement", "aide_logement"),),
        entity="famille",
        depends_on=("housing", "rent", "commune_insee", "activity", "jobseeker_since_months", *FAMILY),
        why=_aide_logement,
        next_step=N_(
            "Demandez-la sur caf.fr (Mes services en ligne) ou à l'accueil de la CAF. Préparez : pièce d'identité, "
            "RIB, bail ou quittance de loyer, avis d'imposition."
        ),
        excluded=lambda p, today: p.housing in ("hosted", "owner", "homeless"),
    ),
    NationalRight(
        id="aah",
        label=N_("Allocation aux adultes handicapés (AAH)"),
        name=N_("l'AAH"),
        variables=(("aah", "aah"),),
        entity="individu",
        depends_on=("age", "activity", "disability_rate", "residence_ok", *FAMILY),
        why=_fixed(
            N_(
                "Avec votre taux d'incapacité, l'AAH (allocation aux adultes handicapés) complète probablement vos "
                "ressources."
            )
        ),
        next_step=N_(
            "Déposez un dossier à la MDPH (maison des personnes handicapées) de votre département. Il faut le "
            "formulaire de demande et un certificat médical. Vous pouvez le faire en ligne si votre MDPH le "
            "propose. Préparez : pièce d'identité, justificatif de domicile."
        ),
        excluded=lambda p, today: p.disability_rate is not None and p.disability_rate < 50,
        caveat=N_(
            "À vérifier : entre 50 et 79 %, la MDPH doit aussi reconnaître que le handicap gêne l'accès à l'emploi."
        ),
        caveat_if=_aah_rsdae,
    ),
    NationalRight(
        id="allocations_familiales",
        label=N_("Allocations familiales"),
        name=N_("les allocations familiales"),
        variables=(("allocations_familiales", "af"),),
        entity="famille",
        depends_on=FAMILY,
        why=_fixed(
            N_("Vous avez au moins deux enfants à charge : les allocations familiales sont probablement dues.")
        ),
        next_step=N_(
            "Déclarez vos enfants sur caf.fr (Mes services en ligne) ou à la CAF. Préparez : pièce d'identité, "
            "livret de famille, RIB."
        ),
        excluded=lambda p, today: p.children_ages is not None and sum(age < 20 for age in p.children_ages) < 2,
    ),
    NationalRight(
        id="asf",
        label=N_("Allocation de soutien familial (ASF)"),
        name=N_("l'allocation de soutien familial (ASF)"),
        variables=(("asf", "asf"),),
        entity="famille",
        depends_on=("couple", "children_ages", "income"),  # not means-tested; the "other" income reduces it
        why=_fixed(
            N_(
                "Vous élevez seul(e) vos enfants : l'ASF (allocation de soutien familial) est probablement due si "
                "l'autre parent ne verse pas de pension."
            )
        ),
        next_step=N_(
            "Demandez-la sur caf.fr (Mes services en ligne) ou à l'accueil de la CAF. Préparez : pièce d'identité, "
            "livret de famille, RIB. Ajoutez le jugement, ou une preuve que la pension alimentaire n'est pas versée."
        ),
        excluded=lambda p, today: p.couple is True or _children(p, range(20)) == 0,
    ),
    NationalRight(
        id="complement_familial",
        label=N_("Complément familial"),
        name=N_("le complément familial"),
        variables=(("complement_familial", "cf"),),
        entity="famille",
        depends_on=FAMILY,
        why=_fixed(
            N_("Avec trois enfants de 3 ans ou plus et des revenus modestes, le complément familial est sans doute dû.")
        ),
        next_step=N_(
            "Il est versé par la CAF : vérifiez votre dossier sur caf.fr (Mes services en ligne). Préparez : avis "
            "d'imposition, livret de famille, RIB."
        ),
        excluded=lambda p, today: p.children_ages is not None and sum(3 <= age < 21 for age in p.children_ages) < 3,
    ),
    NationalRight(
        id="css",
        label=N_("Complémentaire santé solidaire (C2S)"),
        name=N_("la complémentaire santé solidaire"),
        variables=(("css_free", "cmu_c"), ("css_participation", "css_participation_forfaitaire")),
        entity="famille",
        depends_on=("age", "partner_age", "housing", *FAMILY),
        why=_css,
        next_step=N_(
            "Demandez-la sur ameli.fr (compte ameli) ou à votre caisse d'assurance maladie. Si vous êtes agricole, "
            "demandez-la à la MSA. Préparez : pièce d'identité, RIB, justificatifs de ressources des 12 derniers "
            "mois."
        ),
        verb="avez",
        has_amount=False,
        settle=_css_amounts,
    ),
    NationalRight(
        id="aspa",
        label=N_("Allocation de solidarité aux personnes âgées (ASPA)"),
        name=N_("l'allocation de solidarité aux personnes âgées (ASPA)"),
        variables=(("aspa", "aspa"),),
        entity="famille",
        depends_on=("age", "partner_age", "activity", "disability_rate", "residence_ok", *FAMILY),
        why=_fixed(
            N_(
                "Avec votre âge et vos petites ressources, l'ASPA (le minimum vieillesse) complète probablement vos "
                "revenus chaque mois."
            )
        ),
        next_step=N_(
            "Demandez-la à votre caisse de retraite (l'Assurance retraite, ou la MSA si vous étiez agricole). Si vous "
            "n'avez pas de retraite, demandez-la à votre mairie. Préparez : pièce d'identité, RIB, avis "
            "d'imposition, justificatifs de ressources des 3 derniers mois. Bon à savoir : après le décès, une "
            "partie peut être reprise sur l'héritage s'il est important."
        ),
        excluded=_no_senior,
    ),
    NationalRight(
        id="aeeh",
        label=N_("Allocation d'éducation de l'enfant handicapé (AEEH)"),
        name=N_("l'allocation d'éducation de l'enfant handicapé (AEEH)"),
        variables=(("aeeh", "aeeh"),),
        entity="famille",
        depends_on=("children_ages", "child_disability"),  # not means-tested
        why=_fixed(
            N_(
                "Votre enfant a un handicap : l'AEEH (allocation d'éducation de l'enfant handicapé) aide la famille, "
                "quels que soient vos revenus."
            )
        ),
        next_step=N_(
            "Déposez un dossier à la MDPH (maison des personnes handicapées) de votre département. Il faut le "
            "formulaire de demande et un certificat médical. Ensuite, la CAF verse l'allocation chaque mois. "
            "Préparez : pièce d'identité, justificatif de domicile, livret de famille."
        ),
        excluded=lambda p, today: p.child_disability is False or _children(p, range(20)) == 0,
        caveat=N_("À vérifier : la MDPH décide, selon le handicap de votre enfant."),
        caveat_if=lambda p, today: True,
    ),
    NationalRight(
        id="ars",
        label=N_("Allocation de rentrée scolaire (ARS)"),
        name=N_("l'allocation de rentrée scolaire (ARS)"),
        variables=(("ars", "ars"),),
        entity="famille",
        period="year",
        per="year",
        when_paid=N_("versée fin août"),
        depends_on=FAMILY,
        why=_fixed(
            N_(
                "Vous avez un enfant de 6 à 18 ans et des revenus modestes : l'ARS aide probablement à payer la "
                "rentrée. Elle est versée fin août."
            )
        ),
        next_step=N_(
            "Si vous touchez déjà une aide de la CAF, elle arrive toute seule fin août. Sinon, demandez-la sur "
            "caf.fr (Mes services en ligne) ou à la CAF. Pour un enfant de 16 à 18 ans, dites sur caf.fr qu'il va "
            "toujours à l'école. Préparez : pièce d'identité, livret de famille, RIB, certificat de scolarité."
        ),
        excluded=_no_child(range(5, 19)),  # 6 to 18 at the rentrée (a child of 5 may be 6 by December)
    ),
    NationalRight(
        id="bourse_college",
        label=N_("Bourse de collège"),
        name=N_("la bourse de collège"),
        variables=(("bourse_college", "bourse_college"),),
        entity="famille",
        per="year",
        when_paid=N_("versée en 3 fois, chaque trimestre"),
        depends_on=(*FAMILY, "children_school"),
        why=_fixed(
            N_("Vous avez un enfant au collège et des revenus modestes : la bourse de collège est probablement due.")
        ),
        next_step=N_(
            "Demandez-la au collège de votre enfant dès la rentrée (septembre et octobre). Vous pouvez aussi la "
            "demander en ligne sur « Scolarité services » avec votre compte ÉduConnect. Préparez : votre dernier "
            "avis d'impôt, un RIB."
        ),
        excluded=_no_pupil("college"),
    ),
    NationalRight(
        id="bourse_lycee",
        label=N_("Bourse de lycée"),
        name=N_("la bourse de lycée"),
        variables=(("bourse_lycee", "bourse_lycee"),),
        entity="famille",
        per="year",
        when_paid=N_("versée en 3 fois, chaque trimestre"),
        depends_on=(*FAMILY, "children_school"),
        why=_fixed(
            N_("Vous avez un enfant au lycée et des revenus modestes : la bourse de lycée est probablement due.")
        ),
        next_step=N_(
            "Demandez-la au lycée de votre enfant, ou en ligne sur « Scolarité services » avec votre compte "
            "ÉduConnect : au printemps pour l'année suivante, ou à la rentrée. Préparez : votre dernier avis "
            "d'impôt, un RIB."
        ),
        excluded=_no_pupil("lycee"),
    ),
    NationalRight(
        id="cheque_energie",
        label=N_("Chèque énergie"),
        name=N_("le chèque énergie"),
        variables=(("cheque_energie", "cheque_energie"),),
        entity="menage",
        period="year",
        per="year",
        when_paid=N_("envoyé une fois par an, par courrier"),
        depends_on=("housing", *FAMILY),
        why=_fixed(
            N_(
                "Vos revenus sont modestes : le chèque énergie aide probablement à payer l'électricité, le gaz ou "
                "le fioul."
            )
        ),
        next_step=N_(
            "Il arrive tout seul par courrier si vous déclarez vos revenus aux impôts chaque année, même sans "
            "revenu. Si vous ne l'avez pas reçu, demandez-le sur chequeenergie.gouv.fr ou au 0 805 204 805 "
            "(appel gratuit). Préparez : votre dernier avis d'impôt."
        ),
        excluded=lambda p, today: p.housing in ("hosted", "homeless"),
        verb="recevez",
        claimed=False,
    ),
)

BY_ID: dict[str, NationalRight] = {right.id: right for right in RIGHTS}
NATIONAL_RIGHT_IDS: tuple[str, ...] = tuple(BY_ID)
LABELS: dict[str, str] = {right.id: right.label for right in RIGHTS}
NEXT_STEPS: dict[str, str] = {right.id: right.next_step for right in RIGHTS}
# (key in the raw amounts, OpenFisca variable, period, entity), in calculation order
TARGETS: tuple[tuple[str, str, Period, Entity], ...] = tuple(
    (key, variable, right.period, right.entity) for right in RIGHTS for key, variable in right.variables
)
# the extra entries of NationalOutcome.amounts besides the right ids
AMOUNT_EXTRAS: tuple[str, ...] = ("css_participation",)


# Texts stored in French whose parts are filled in (present.localized shows them in the language of the turn):
# for a count n, the template in the language of the turn.
STORED_TEMPLATES: tuple[Callable[[int], str], ...] = (
    lambda n: _(CSS_PRICE),
    *(lambda n, text=text: _(text) for text in RECEIVING.values()),
)


def euros_fr(amount: float) -> str:
    """ "1 234 €" in French (narrow no-break space between thousands), as the stored texts say it."""
    return f"{round(amount):,}".replace(",", "\u202f") + " €"


def euros(amount: float) -> str:
    """ "1 234 €" as the language of the turn writes it ("€1,234" in English): i18n.euros."""
    return i18n.euros(amount)


def amount_text(right_id: str, monthly_amount: float | None) -> str | None:
    """How a national right's amount reads, in the language of the turn: "environ 231 € par mois", "environ
    914 € par an, versée fin août" (from the stored monthly amount, a yearly right's monthly equivalent); None
    without an amount."""
    right = BY_ID.get(right_id)
    if right is None or not monthly_amount or not right.has_amount:
        return None
    if right.per == "year":
        amount = euros(monthly_amount * 12)
        if right.when_paid:
            return _("environ {amount} par an, {when}").format(amount=amount, when=_(right.when_paid))
        return _("environ {amount} par an").format(amount=amount)
    return _("environ {amount} par mois").format(amount=euros(monthly_amount))


__all__ = [
    "AMOUNT_EXTRAS",
    "BY_ID",
    "LABELS",
    "NATIONAL_RIGHT_IDS",
    "NEXT_STEPS",
    "RIGHTS",
    "SCHOOL_AGES",
    "TARGETS",
    "Facts",
    "NationalRight",
    "amount_text",
    "de",
    "euros",
    "euros_fr",
]

"""Local programmes catalogue: data·inclusion services with machine-checked eligibility.

Data: one YAML file per service in ``catalogue/services/`` (file name = service ``id``), in the
aides-jeunes style. Each file holds two kinds of keys, kept apart:

* the data·inclusion v1 ``Service`` fields (``id``, ``structure_id``, ``source``, ``nom``,
  ``description``, ``thematiques``, ``publics``, ``zone_eligibilite``, ``modes_accueil``, ``frais``,
  contact fields, ``date_maj``, ``lien_source``…), validated by the ``data-inclusion-schema`` model
  (its "avertissements" count as errors);
* our own keys (``OUR_KEYS``): ``nom_court``, ``resume``, ``demarche``, ``eligibilite``,
  ``reseaux_porteurs``, ``priorite``, ``sur_demande``, ``illustratif``, ``verification``,
  ``references``, validated by ``_OurFields``.

Eligibility language (``eligibilite``): a list of typed conditions, AND-ed; an empty list means no
constraint. Types (strategy table ``CONDITION_TYPES``, unknown types rejected when loading):

==========================  ===============================================================
``age``                     ``operator`` + ``value`` (``>=``, ``>``, ``<=``, ``<``, ``==``), or
                            ``min`` / ``max`` (inclusive); age on the reference date ``today``;
                            a lower bound alone (a floor) gives no "why" words
``communes``                ``values``: INSEE codes; the resident lives in one of them
``quartiers``               no ``values``: lives in a (verified) QPV; else in one of the listed QPV ids
``territoire``              ``value``: ``dijon`` | ``troyes`` (territory of the resident's commune)
``jobseeker_since_months``  ``min``: looking for a job for at least that many months
``activity``                ``values``: employed | jobseeker | student | inactive | retired
``receives``                ``values``: right ids already paid (rsa, aah…); never unknown, since
                            ``Profile.receives`` defaults to an empty list
``single_parent``           not in a couple and at least one child
``rqth``                    has the RQTH (disabled worker recognition)
``disability_rate``         ``min``: incapacity rate (%) at least that
``has_children_under``      ``age``: at least one child younger than that
``housing``                 ``values``: tenant | social_tenant | hosted | owner | homeless
``all`` / ``any``           ``conditions``: AND / OR of nested conditions
``not``                     ``condition``: negation of one condition
==========================  ===============================================================

Evaluation is three-valued: true, false, or unknown when a Profile field it needs is None. Unknown
programmes are still shown, as "à vérifier" (``Right.uncertain``), and the missing fields are listed.
A service also applies only to residents of its ``zone_eligibilite`` communes, which must all belong
to one territory of ``db/reference/territories.yml``.
"""

from __future__ import annotations

import datetime as dt
import functools
import operator
from collections import Counter
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

import yaml
from data_inclusion.schema.v1 import Categorie, ReseauPorteur, Service, Thematique
from pydantic import BaseModel, ConfigDict, Field, HttpUrl, ValidationError, field_validator, model_validator

from outreach import PROJECT_ROOT, i18n, places
from outreach.i18n import N_, _, ngettext
from outreach.screening.model import Activity, Housing, Profile, Right, RightId
from outreach.screening.rights import RIGHTS

CATALOGUE_DIR = PROJECT_ROOT / "catalogue" / "services"
MAX_RESULTS = 5  # a resident reads a handful of programmes, not a directory

# What the resident reads (French msgids, `N_`: present.py shows them in the language of the turn).
NOTICE_OUTSIDE = N_(
    "Je ne connais pas encore les services près de chez vous : pour l'instant, je connais ceux de "
    "Dijon métropole et de Troyes Champagne Métropole. Demandez à votre mairie ou à l'espace "
    "France services le plus proche : ils vous orienteront."
)
NOTICE_NO_COMMUNE = N_("Pour vous montrer les services près de chez vous, dites-moi dans quelle commune vous habitez.")
NOTICE_NO_TOPIC = N_(
    "Je ne connais pas encore de service sur ce sujet près de chez vous. Un adulte-relais peut chercher avec vous."
)


class CatalogueError(ValueError):
    """Invalid catalogue data; the message names the file (and the place in it)."""


# --- three-valued results ---------------------------------------------------------------------


@dataclass(frozen=True)
class Eligibility:
    """``eligible`` is True, False, or None (unknown: the ``missing`` Profile fields are needed).

    ``reasons`` are French sentences ("Vous avez 22 ans.", "Vous cherchez un emploi.") for the conditions that
    held, each a msgid or a template of STORED_TEMPLATES filled in; they make the "why", one a line."""

    eligible: bool | None
    reasons: tuple[str, ...] = ()
    missing: tuple[str, ...] = ()


_FALSE = Eligibility(False)


def _true(*reasons: str) -> Eligibility:
    return Eligibility(True, reasons)


def _unknown(*missing: str) -> Eligibility:
    return Eligibility(None, (), missing)


def _merge_missing(results: Iterable[Eligibility]) -> tuple[str, ...]:
    return tuple(dict.fromkeys(field for result in results for field in result.missing))


def _all_of(results: Sequence[Eligibility]) -> Eligibility:
    if any(result.eligible is False for result in results):
        return _FALSE
    reasons = tuple(reason for result in results for reason in result.reasons)
    unknown = [result for result in results if result.eligible is None]
    if unknown:
        return Eligibility(None, reasons, _merge_missing(unknown))
    return Eligibility(True, reasons)


def _any_of(results: Sequence[Eligibility]) -> Eligibility:
    held = [result for result in results if result.eligible]
    if held:
        return Eligibility(True, tuple(reason for result in held for reason in result.reasons))
    unknown = [result for result in results if result.eligible is None]
    if unknown:
        return Eligibility(None, (), _merge_missing(unknown))
    return _FALSE


# --- the reasons: French sentences, stored as the resident first read them -------------------------

AGE = N_("Vous avez {age} ans.")
LIVES_IN = N_("Vous habitez à {commune}.")
PRIORITY_AREA = N_("Vous habitez un quartier prioritaire ({quartier}).")
DISABILITY_RATE = N_("Vous avez un taux d'incapacité de {rate} %.")
CHILD_UNDER = N_("Vous avez un enfant de moins de {age} ans.")
CHILDREN_UNDER = N_("Vous avez des enfants de moins de {age} ans.")
ASKED = N_("Ce service répond à votre demande : {topic}.")
OPEN_TO = N_("Ce service est ouvert aux habitants de {commune}.")
MISSING = N_("À vérifier : il me manque {answers}.")


def _searching_in(n: int) -> str:
    """ "Vous cherchez un emploi depuis {n} mois." in the language of the turn (a template)."""
    return ngettext("Vous cherchez un emploi depuis {n} mois.", "Vous cherchez un emploi depuis {n} mois.", n)


def _searching(n: int) -> str:
    """The same template in French, as the reasons are stored."""
    with i18n.speaking(i18n.DEFAULT):
        return _searching_in(n)


# The stored reasons whose parts are filled in (present.localized shows them in the language of the turn):
# for a count n, the template in the language of the turn.
STORED_TEMPLATES: tuple[Callable[[int], str], ...] = (
    *(lambda n, text=text: _(text) for text in (AGE, LIVES_IN, PRIORITY_AREA, DISABILITY_RATE, CHILD_UNDER,
                                                 CHILDREN_UNDER, ASKED, OPEN_TO, MISSING)),
    _searching_in,
)  # fmt: skip


# --- conditions (strategy table keyed by ``type``) -----------------------------------------------


@functools.cache
def _known_communes() -> dict[str, places.Commune]:
    return {commune.insee: commune for commune in places.communes()}


@functools.cache
def _known_quartiers() -> dict[str, places.QuartierRef]:
    return {quartier.id: quartier for quartier in places.quartiers()}


def _territory_of(insee: str | None) -> str | None:
    commune = _known_communes().get(insee or "")
    return commune.territory_id if commune else None


class Condition(BaseModel):
    """One machine-checked condition over a Profile."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    type: str

    def evaluate(self, profile: Profile, today: dt.date) -> Eligibility:
        raise NotImplementedError


_COMPARE: dict[str, Callable[[int, int], bool]] = {
    ">=": operator.ge,
    ">": operator.gt,
    "<=": operator.le,
    "<": operator.lt,
    "==": operator.eq,
}


class _Bounds(Condition):
    """``min`` / ``max`` inclusive bounds (at least one)."""

    min: int | None = Field(default=None, ge=0)
    max: int | None = Field(default=None, ge=0)

    def _in_bounds(self, number: int) -> bool:
        return (self.min is None or number >= self.min) and (self.max is None or number <= self.max)


class AgeCondition(_Bounds):
    type: Literal["age"]
    operator: Literal[">=", ">", "<=", "<", "=="] | None = None
    value: int | None = Field(default=None, ge=0, le=120)

    @model_validator(mode="after")
    def _one_form(self) -> AgeCondition:
        comparison = self.operator is not None or self.value is not None
        bounds = self.min is not None or self.max is not None
        if comparison == bounds:
            raise ValueError("age: give either operator + value, or min and/or max")
        if comparison and (self.operator is None or self.value is None):
            raise ValueError("age: operator and value go together")
        if self.min is not None and self.max is not None and self.min > self.max:
            raise ValueError("age: min is greater than max")
        return self

    def evaluate(self, profile: Profile, today: dt.date) -> Eligibility:
        age = profile.age_on(today)
        if age is None:
            return _unknown("age")
        if self.operator is not None and self.value is not None:
            held = _COMPARE[self.operator](age, self.value)
            group = self.operator in ("<", "<=", "==")
        else:
            held = self._in_bounds(age)
            group = self.max is not None
        if not held:
            return _FALSE
        # an age group ("16 to 25") is a reason worth telling; a bare floor ("adults") is not
        return _true(AGE.format(age=age)) if group else _true()


class CommunesCondition(Condition):
    type: Literal["communes"]
    values: tuple[str, ...] = Field(min_length=1)

    @field_validator("values")
    @classmethod
    def _known(cls, values: tuple[str, ...]) -> tuple[str, ...]:
        unknown = sorted(set(values) - set(_known_communes()))
        if unknown:
            raise ValueError(f"communes not in db/reference/territories.yml: {unknown}")
        return values

    def evaluate(self, profile: Profile, today: dt.date) -> Eligibility:
        if profile.commune_insee is None:
            return _unknown("commune_insee")
        if profile.commune_insee not in self.values:
            return _FALSE
        return _true(LIVES_IN.format(commune=_known_communes()[profile.commune_insee].name))


class QuartiersCondition(Condition):
    type: Literal["quartiers"]
    values: tuple[str, ...] = ()  # empty: any verified QPV

    @field_validator("values")
    @classmethod
    def _known(cls, values: tuple[str, ...]) -> tuple[str, ...]:
        unknown = sorted(set(values) - set(_known_quartiers()))
        if unknown:
            raise ValueError(f"quartiers that are not verified QPV ids: {unknown}")
        return values

    def evaluate(self, profile: Profile, today: dt.date) -> Eligibility:
        if profile.quartier is None or profile.quartier == places.UNKNOWN:
            return _unknown("quartier")
        quartier = _known_quartiers().get(profile.quartier)  # "aucun" or an unconfirmed id: not a QPV
        if quartier is None or (self.values and quartier.id not in self.values):
            return _FALSE
        return _true(PRIORITY_AREA.format(quartier=quartier.name))


class TerritoireCondition(Condition):
    type: Literal["territoire"]
    value: str

    @field_validator("value")
    @classmethod
    def _known(cls, value: str) -> str:
        territories = {commune.territory_id for commune in places.communes()}
        if value not in territories:
            raise ValueError(f"unknown territory {value!r} (known: {sorted(territories)})")
        return value

    def evaluate(self, profile: Profile, today: dt.date) -> Eligibility:
        if profile.commune_insee is None:
            return _unknown("commune_insee")
        return _true() if _territory_of(profile.commune_insee) == self.value else _FALSE


class JobseekerSinceCondition(Condition):
    type: Literal["jobseeker_since_months"]
    min: int = Field(ge=0)

    def evaluate(self, profile: Profile, today: dt.date) -> Eligibility:
        months = profile.jobseeker_since_months
        if months is None:
            if profile.activity is not None and profile.activity != "jobseeker":
                return _FALSE
            return _unknown("jobseeker_since_months")
        return _true(_searching(months).format(n=months)) if months >= self.min else _FALSE


_ACTIVITY_WORDS: dict[str, str] = {
    "employed": N_("Vous travaillez."),
    "jobseeker": N_("Vous cherchez un emploi."),
    "student": N_("Vous faites des études."),
    "inactive": N_("Vous êtes sans activité."),
    "retired": N_("Vous êtes à la retraite."),
}


class ActivityCondition(Condition):
    type: Literal["activity"]
    values: tuple[Activity, ...] = Field(min_length=1)

    def evaluate(self, profile: Profile, today: dt.date) -> Eligibility:
        if profile.activity is None:
            return _unknown("activity")
        return _true(_ACTIVITY_WORDS[profile.activity]) if profile.activity in self.values else _FALSE


# "Vous touchez le RSA.", from the registry of national rights
_RIGHT_WORDS: dict[str, str] = {right.id: right.receiving for right in RIGHTS}


class ReceivesCondition(Condition):
    type: Literal["receives"]
    values: tuple[RightId, ...] = Field(min_length=1)

    def evaluate(self, profile: Profile, today: dt.date) -> Eligibility:
        paid = [right for right in self.values if right in profile.receives]
        return _true(*(_RIGHT_WORDS[right] for right in paid)) if paid else _FALSE


class SingleParentCondition(Condition):
    type: Literal["single_parent"]

    def evaluate(self, profile: Profile, today: dt.date) -> Eligibility:
        if profile.couple is True or profile.children_ages == []:
            return _FALSE
        if profile.couple is False and profile.children_ages:
            return _true(N_("Vous vivez seul(e) avec vos enfants."))
        return _unknown(*(name for name in ("couple", "children_ages") if getattr(profile, name) is None))


class RqthCondition(Condition):
    type: Literal["rqth"]

    def evaluate(self, profile: Profile, today: dt.date) -> Eligibility:
        if profile.rqth is None:
            return _unknown("rqth")
        return _true(N_("Vous avez la reconnaissance de travailleur handicapé (RQTH).")) if profile.rqth else _FALSE


class DisabilityRateCondition(Condition):
    type: Literal["disability_rate"]
    min: int = Field(ge=0, le=100)

    def evaluate(self, profile: Profile, today: dt.date) -> Eligibility:
        rate = profile.disability_rate
        if rate is None:
            return _unknown("disability_rate")
        return _true(DISABILITY_RATE.format(rate=rate)) if rate >= self.min else _FALSE


class HasChildrenUnderCondition(Condition):
    type: Literal["has_children_under"]
    age: int = Field(ge=1, le=25)

    def evaluate(self, profile: Profile, today: dt.date) -> Eligibility:
        if profile.children_ages is None:
            return _unknown("children_ages")
        young = [age for age in profile.children_ages if age < self.age]
        if not young:
            return _FALSE
        if len(young) == 1:
            return _true(CHILD_UNDER.format(age=self.age))
        return _true(CHILDREN_UNDER.format(age=self.age))


_HOUSING_WORDS: dict[str, str] = {
    "tenant": N_("Vous êtes locataire."),
    "social_tenant": N_("Vous êtes locataire d'un logement social."),
    "hosted": N_("Vous êtes hébergé(e) chez quelqu'un."),
    "owner": N_("Vous êtes propriétaire."),
    "homeless": N_("Vous n'avez pas de logement."),
}


class HousingCondition(Condition):
    type: Literal["housing"]
    values: tuple[Housing, ...] = Field(min_length=1)

    def evaluate(self, profile: Profile, today: dt.date) -> Eligibility:
        if profile.housing is None:
            return _unknown("housing")
        return _true(_HOUSING_WORDS[profile.housing]) if profile.housing in self.values else _FALSE


class AllCondition(Condition):
    type: Literal["all"]
    conditions: tuple[Condition, ...] = Field(min_length=1)

    def evaluate(self, profile: Profile, today: dt.date) -> Eligibility:
        return _all_of([condition.evaluate(profile, today) for condition in self.conditions])


class AnyCondition(Condition):
    type: Literal["any"]
    conditions: tuple[Condition, ...] = Field(min_length=1)

    def evaluate(self, profile: Profile, today: dt.date) -> Eligibility:
        return _any_of([condition.evaluate(profile, today) for condition in self.conditions])


class NotCondition(Condition):
    type: Literal["not"]
    condition: Condition

    def evaluate(self, profile: Profile, today: dt.date) -> Eligibility:
        inner = self.condition.evaluate(profile, today)
        if inner.eligible is None:
            return inner
        return _FALSE if inner.eligible else _true()  # a negation gives no "why" words


CONDITION_TYPES: dict[str, type[Condition]] = {
    "age": AgeCondition,
    "communes": CommunesCondition,
    "quartiers": QuartiersCondition,
    "territoire": TerritoireCondition,
    "jobseeker_since_months": JobseekerSinceCondition,
    "activity": ActivityCondition,
    "receives": ReceivesCondition,
    "single_parent": SingleParentCondition,
    "rqth": RqthCondition,
    "disability_rate": DisabilityRateCondition,
    "has_children_under": HasChildrenUnderCondition,
    "housing": HousingCondition,
    "all": AllCondition,
    "any": AnyCondition,
    "not": NotCondition,
}
_NESTING = {"all": "conditions", "any": "conditions", "not": "condition"}


def parse_condition(raw: object, where: str = "condition") -> Condition:
    """One condition from its YAML mapping; CatalogueError (naming ``where``) when invalid."""
    if not isinstance(raw, Mapping) or not isinstance(raw.get("type"), str):
        raise CatalogueError(f"{where}: a condition is a mapping with a 'type' key, got {raw!r}")
    kind = raw["type"]
    model = CONDITION_TYPES.get(kind)
    if model is None:
        raise CatalogueError(
            f"{where}: unknown condition type {kind!r} (known types: {', '.join(sorted(CONDITION_TYPES))})"
        )
    data = dict(raw)
    nested_key = _NESTING.get(kind)
    if nested_key == "conditions":
        children = data.get("conditions")
        if not isinstance(children, list) or not children:
            raise CatalogueError(f"{where}: '{kind}' needs a non-empty list under 'conditions'")
        data["conditions"] = tuple(
            parse_condition(child, f"{where}.conditions[{index}]") for index, child in enumerate(children)
        )
    elif nested_key == "condition":
        if "condition" not in data:
            raise CatalogueError(f"{where}: 'not' needs one nested 'condition'")
        data["condition"] = parse_condition(data["condition"], f"{where}.condition")
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        details = "; ".join(f"{'.'.join(map(str, error['loc'])) or kind}: {error['msg']}" for error in exc.errors())
        raise CatalogueError(f"{where} ({kind}): {details}") from None


def parse_eligibility(raw: object, where: str = "eligibilite") -> tuple[Condition, ...]:
    """A top-level ``eligibilite`` list (AND-ed); empty or missing means no constraint."""
    if raw is None:
        return ()
    if not isinstance(raw, list):
        raise CatalogueError(f"{where}: expected a list of conditions")
    return tuple(parse_condition(item, f"{where}[{index}]") for index, item in enumerate(raw))


def evaluate(conditions: Sequence[Condition], profile: Profile, today: dt.date) -> Eligibility:
    """AND of the conditions, three-valued; an empty list holds."""
    return _all_of([condition.evaluate(profile, today) for condition in conditions])


# --- our own keys ---------------------------------------------------------------------------------


class _OurFields(BaseModel):
    """The keys of a service file that are ours, not data·inclusion's."""

    model_config = ConfigDict(extra="forbid")

    nom_court: str = Field(min_length=3, max_length=40, description="Short name shown to the resident")
    resume: str = Field(min_length=10, max_length=160, description="What it is, in plain French")
    demarche: str = Field(min_length=10, max_length=200, description="How to go, in plain French")
    eligibilite: list[Any] = Field(default_factory=list)
    reseaux_porteurs: list[ReseauPorteur] = Field(default_factory=list)
    priorite: int = Field(ge=1, le=4, description="1 targeted programme … 4 general help desk")
    sur_demande: bool = Field(default=False, description="Shown only when a topic asks for it")
    illustratif: bool = Field(description="True: local details could not be confirmed from a public source")
    verification: str = Field(min_length=10, description="What was checked, where, and what was not")
    references: list[HttpUrl] = Field(default_factory=list)

    @field_validator("resume", "demarche", "nom_court")
    @classmethod
    def _plain_text(cls, value: str) -> str:
        if "<" in value or ">" in value:
            raise ValueError("plain text only (no HTML)")
        return value.strip()


OUR_KEYS = frozenset(_OurFields.model_fields)
SCHEMA_KEYS = frozenset(Service.model_fields)
_REQUIRED_SCHEMA_KEYS = ("lien_source", "zone_eligibilite", "thematiques")  # optional in data·inclusion


@dataclass(frozen=True)
class CatalogueService:
    """One validated service file."""

    id: str
    territory_id: str
    service: Service
    label: str
    resume: str
    demarche: str
    thematiques: tuple[str, ...]
    reseaux_porteurs: tuple[str, ...]
    priorite: int
    sur_demande: bool
    illustratif: bool
    conditions: tuple[Condition, ...]
    path: Path

    @property
    def communes(self) -> tuple[str, ...]:
        return tuple(self.service.zone_eligibilite or ())

    def eligibility(self, profile: Profile, today: dt.date) -> Eligibility:
        """The zone (commune of the resident) AND the ``eligibilite`` conditions."""
        if profile.commune_insee is None:
            return _unknown("commune_insee")
        if profile.commune_insee not in self.communes:
            return _FALSE
        return evaluate(self.conditions, profile, today)

    def matches(self, topics: Sequence[str]) -> bool:
        return any(_theme_matches(theme, topics) for theme in self.thematiques)


def _theme_matches(theme: str, topics: Sequence[str]) -> bool:
    """A topic is a thematique ("mobilite--preparer-un-permis") or a category ("mobilite")."""
    return any(theme == topic or theme.startswith(f"{topic}--") for topic in topics)


@dataclass(frozen=True)
class Catalogue:
    services: tuple[CatalogueService, ...]

    def get(self, service_id: str) -> CatalogueService:
        return next(service for service in self.services if service.id == service_id)

    def in_territory(self, territory_id: str) -> tuple[CatalogueService, ...]:
        return tuple(service for service in self.services if service.territory_id == territory_id)


def _schema_errors(exc: ValidationError) -> str:
    return "; ".join(f"{'.'.join(map(str, error['loc']))}: {error['msg']}" for error in exc.errors())


def read_service(path: Path) -> CatalogueService:
    """Read and validate one service file; CatalogueError naming the file when invalid."""
    where = str(path)
    try:
        raw = yaml.safe_load(path.read_text(encoding="utf-8"))
    except (OSError, yaml.YAMLError) as exc:
        raise CatalogueError(f"{where}: cannot read YAML: {exc}") from None
    if not isinstance(raw, dict):
        raise CatalogueError(f"{where}: expected a mapping of fields")
    unknown = sorted(set(raw) - SCHEMA_KEYS - OUR_KEYS)
    if unknown:
        raise CatalogueError(f"{where}: unknown keys {unknown} (neither data·inclusion Service fields nor ours)")
    missing = [key for key in _REQUIRED_SCHEMA_KEYS if not raw.get(key)]
    if missing:
        raise CatalogueError(f"{where}: missing {missing}")
    schema_part = {key: value for key, value in raw.items() if key in SCHEMA_KEYS}
    try:
        service = Service.model_validate(schema_part, context={"ignore_warnings": False})
    except ValidationError as exc:
        raise CatalogueError(f"{where}: data·inclusion Service: {_schema_errors(exc)}") from None
    try:
        ours = _OurFields.model_validate({key: value for key, value in raw.items() if key in OUR_KEYS})
    except ValidationError as exc:
        raise CatalogueError(f"{where}: {_schema_errors(exc)}") from None
    if service.id != path.stem:
        raise CatalogueError(f"{where}: id {service.id!r} must be the file name {path.stem!r}")
    communes = _known_communes()
    zone = list(service.zone_eligibilite or ())
    outside = sorted(code for code in zone if code not in communes)
    if outside:
        raise CatalogueError(f"{where}: zone_eligibilite codes not in db/reference/territories.yml: {outside}")
    territories = {communes[code].territory_id for code in zone}
    if len(territories) != 1:
        raise CatalogueError(f"{where}: zone_eligibilite spans several territories {sorted(territories)}")
    conditions = parse_eligibility(ours.eligibilite, f"{where}: eligibilite")
    return CatalogueService(
        id=service.id,
        territory_id=territories.pop(),
        service=service,
        label=ours.nom_court,
        resume=ours.resume,
        demarche=ours.demarche,
        thematiques=tuple(raw["thematiques"]),  # YAML order (the schema keeps a set)
        reseaux_porteurs=tuple(reseau.value for reseau in ours.reseaux_porteurs),
        priorite=ours.priorite,
        sur_demande=ours.sur_demande,
        illustratif=ours.illustratif,
        conditions=conditions,
        path=path,
    )


@functools.cache
def _load(directory: Path) -> Catalogue:
    paths = sorted([*directory.glob("*.yml"), *directory.glob("*.yaml")])
    if not paths:
        raise CatalogueError(f"{directory}: no service files (*.yml)")
    services = tuple(read_service(path) for path in paths)
    seen = Counter(service.id for service in services)
    duplicated = sorted(service_id for service_id, count in seen.items() if count > 1)
    if duplicated:
        raise CatalogueError(f"{directory}: duplicated service ids {duplicated}")
    return Catalogue(services)


def load_catalogue(directory: Path | None = None) -> Catalogue:
    """Every service file of ``directory`` (default ``catalogue/services/``), validated; cached per
    directory (only a successful load is cached). Raises CatalogueError on invalid data."""
    return _load((directory or CATALOGUE_DIR).resolve())


# --- the resident's local rights ------------------------------------------------------------------


class LocalOutcome(BaseModel):
    rights: list[Right]
    missing: list[str] = Field(default_factory=list)  # Profile fields that would settle "à vérifier"
    notice: str | None = None


_TOPICS = frozenset(theme.value for theme in Thematique) | frozenset(category.value for category in Categorie)

# What "À vérifier : il me manque {answers}." lists, separated by ", " (so no comma inside one of them).
_MISSING_WORDS: dict[str, str] = {
    "age": N_("votre âge"),
    "commune_insee": N_("votre commune"),
    "quartier": N_("votre quartier"),
    "activity": N_("votre situation (travail ou études)"),
    "jobseeker_since_months": N_("la durée de votre recherche d'emploi"),
    "couple": N_("votre situation de couple"),
    "children_ages": N_("l'âge de vos enfants"),
    "rqth": N_("votre statut de travailleur handicapé (RQTH)"),
    "disability_rate": N_("votre taux d'incapacité"),
    "housing": N_("votre logement"),
}


def _asked_topic(service: CatalogueService, topics: Sequence[str] | None) -> str | None:
    """The label of the category through which ``topics`` matched the service, in lower case."""
    for theme in service.thematiques:
        if topics and _theme_matches(theme, topics):
            label = Categorie(theme.split("--")[0]).label
            return label[0].lower() + label[1:]
    return None


def _why(service: CatalogueService, result: Eligibility, profile: Profile, topics: Sequence[str] | None) -> str:
    """The "why" of a local right, stored in French: one sentence a line."""
    # "Vous cherchez un emploi." is dropped when "Vous cherchez un emploi depuis 14 mois." is there too
    unique = list(dict.fromkeys(result.reasons))
    lines = [line for line in unique if not any(o != line and o.startswith(line.rstrip(".")) for o in unique)]
    asked = _asked_topic(service, topics)
    if not lines and asked:
        lines = [ASKED.format(topic=asked)]
    elif not lines:
        lines = [OPEN_TO.format(commune=_known_communes()[profile.commune_insee or ""].name)]
    if result.eligible is None:
        words = [_MISSING_WORDS.get(field, field) for field in result.missing]
        lines.append(MISSING.format(answers=", ".join(words)))
    return "\n".join(lines)


def _right(service: CatalogueService, result: Eligibility, profile: Profile, topics: Sequence[str] | None) -> Right:
    return Right(
        id=service.id,
        label=service.label,
        kind="local",
        why=_why(service, result, profile, topics),
        next_step=service.demarche,
        uncertain=result.eligible is None,
        service_id=service.id,
        reseaux_porteurs=list(service.reseaux_porteurs),
        thematiques=list(service.thematiques),
    )


def local_rights(
    profile: Profile,
    today: dt.date,
    *,
    topics: Sequence[str] | None = None,
    limit: int | None = MAX_RESULTS,
    catalogue: Catalogue | None = None,
) -> LocalOutcome:
    """The local programmes of the resident's territory that they may use, most relevant first.

    ``today`` is the reference date (ages). ``topics``: optional data·inclusion thematiques or
    categories (e.g. ``"mobilite"``, ``"lecture-ecriture-calcul--maitriser-le-francais"``): only the
    services about one of them are returned, including the barrier services kept ``sur_demande``
    (French classes, mobility, digital help, budget advice), which are otherwise left out because no
    Profile field tells that the resident needs them. ``limit``: at most that many rights (None: all).
    Order: sure before "à vérifier", then ``priorite`` (targeted programmes like the PLIE or the CEJ
    before general desks like the CCAS). ``missing`` lists the Profile fields that would settle the
    uncertain ones, the most useful first."""
    if topics is not None:
        unknown = sorted(set(topics) - _TOPICS)
        if unknown:
            raise ValueError(f"unknown topics {unknown}: use data·inclusion thematiques or categories")
    catalogue = catalogue or load_catalogue()
    if profile.commune_insee is None:
        return LocalOutcome(rights=[], missing=["commune_insee"], notice=NOTICE_NO_COMMUNE)
    territory = _territory_of(profile.commune_insee)
    if territory is None:
        return LocalOutcome(rights=[], notice=NOTICE_OUTSIDE)
    candidates = [
        service
        for service in catalogue.in_territory(territory)
        if (service.matches(topics) if topics is not None else not service.sur_demande)
    ]
    found: list[tuple[CatalogueService, Eligibility]] = []
    for service in candidates:
        result = service.eligibility(profile, today)
        if result.eligible is not False:
            found.append((service, result))
    found.sort(key=lambda pair: (pair[1].eligible is None, pair[0].priorite, pair[0].id))
    needed = Counter(field for _, result in found for field in result.missing)
    missing = sorted(needed, key=lambda field: (-needed[field], field))
    shown = found if limit is None else found[:limit]
    notice = NOTICE_NO_TOPIC if topics is not None and not shown else None
    rights = [_right(service, result, profile, topics) for service, result in shown]
    return LocalOutcome(rights=rights, missing=missing, notice=notice)

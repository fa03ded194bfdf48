"""Local programmes catalogue: data files, the eligibility language (three-valued), local_rights."""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Any

import pytest
import yaml
from data_inclusion.schema.v1 import Categorie

from outreach.screening.catalogue import (
    CATALOGUE_DIR,
    CONDITION_TYPES,
    NOTICE_NO_COMMUNE,
    NOTICE_NO_TOPIC,
    NOTICE_OUTSIDE,
    Catalogue,
    CatalogueError,
    evaluate,
    load_catalogue,
    local_rights,
    parse_condition,
    parse_eligibility,
    read_service,
)
from outreach.screening.model import Profile

TODAY = dt.date(2026, 11, 30)
SERVICE_FILES = sorted(CATALOGUE_DIR.glob("*.yml"))
ALL_TOPICS = [category.value for category in Categorie]  # every service, sur_demande ones included


@pytest.fixture(scope="module")
def catalogue() -> Catalogue:
    return load_catalogue()


def ids(outcome) -> list[str]:
    return [right.id for right in outcome.rights]


def by_id(outcome) -> dict:
    return {right.id: right for right in outcome.rights}


# --- the data files -------------------------------------------------------------------------------


@pytest.mark.parametrize("path", SERVICE_FILES, ids=[path.stem for path in SERVICE_FILES])
def test_every_service_file_is_valid(path: Path) -> None:
    service = read_service(path)  # data·inclusion Service + our keys + eligibility, or CatalogueError
    assert service.id == path.stem
    assert service.service.lien_source is not None
    assert service.service.source == "outreach"
    assert len(service.resume) <= 160 and len(service.demarche) <= 200
    assert service.thematiques and service.communes


def test_catalogue_covers_both_territories(catalogue: Catalogue) -> None:
    assert len(SERVICE_FILES) >= 32
    assert len(catalogue.services) == len(SERVICE_FILES)
    dijon, troyes = catalogue.in_territory("dijon"), catalogue.in_territory("troyes")
    assert len(dijon) >= 15 and len(troyes) >= 15
    for territory in (dijon, troyes):
        networks = {reseau for service in territory for reseau in service.reseaux_porteurs}
        assert {
            "plie",
            "mission-locale",
            "france-travail",
            "cap-emploi-reseau-cheops",
            "ccas-cias",
            "france-service",
            "conseillers-numeriques",
            "creches-avip",
            "points-conseil-budget",
        } <= networks
        themes = {theme for service in territory for theme in service.thematiques}
        assert "lecture-ecriture-calcul--maitriser-le-francais" in themes
        assert "mobilite--preparer-un-permis" in themes
        assert "mobilite--etre-accompagne-dans-son-parcours-mobilite" in themes
    assert catalogue.get("dijon-plie-creativ").illustratif is False
    assert catalogue.get("troyes-plie").illustratif is True  # not confirmed by any source read


def test_catalogue_is_cached(catalogue: Catalogue) -> None:
    assert load_catalogue() is catalogue
    assert load_catalogue(CATALOGUE_DIR) is catalogue


# --- loading errors (tmp folders) -----------------------------------------------------------------


def base_service(service_id: str, **changes: Any) -> dict[str, Any]:
    data = yaml.safe_load((CATALOGUE_DIR / "dijon-plie-creativ.yml").read_text(encoding="utf-8"))
    data["id"] = service_id
    data.update(changes)
    return data


def write(directory: Path, name: str, data: dict[str, Any]) -> Path:
    path = directory / f"{name}.yml"
    path.write_text(yaml.safe_dump(data, allow_unicode=True, sort_keys=False), encoding="utf-8")
    return path


def test_unknown_condition_type_is_rejected_at_load_naming_the_file(tmp_path: Path) -> None:
    write(tmp_path, "good-service", base_service("good-service"))
    write(tmp_path, "bad-service", base_service("bad-service", eligibilite=[{"type": "agee", "min": 18}]))
    with pytest.raises(CatalogueError, match=r"bad-service\.yml.*unknown condition type 'agee'"):
        load_catalogue(tmp_path)


def test_unknown_nested_condition_type_is_rejected_with_its_place(tmp_path: Path) -> None:
    nested = [{"type": "any", "conditions": [{"type": "rqth"}, {"type": "ressources"}]}]
    write(tmp_path, "nested", base_service("nested", eligibilite=nested))
    with pytest.raises(CatalogueError, match=r"nested\.yml: eligibilite\[0\]\.conditions\[1\].*'ressources'"):
        load_catalogue(tmp_path)


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"id": "other-id"}, "must be the file name"),
        ({"couleur": "bleu"}, r"unknown keys \['couleur'\]"),
        ({"thematiques": ["trouver-du-travail"]}, "data·inclusion Service"),
        ({"publics": ["tous-publics", "jeunes"]}, "tous-publics"),
        ({"zone_eligibilite": ["21231", "10387"]}, "several territories"),
        ({"zone_eligibilite": ["69123"]}, "not in db/reference"),
        ({"resume": "x" * 161}, "resume"),
        ({"lien_source": None}, r"missing \['lien_source'\]"),
        ({"eligibilite": [{"type": "quartiers", "values": ["nulle_part"]}]}, "not verified QPV ids"),
        ({"eligibilite": [{"type": "age"}]}, "operator \\+ value, or min"),
        ({"eligibilite": [{"type": "age", "min": 30, "max": 20}]}, "min is greater than max"),
        ({"eligibilite": [{"type": "activity", "values": ["chômeur"]}]}, "activity"),
        ({"eligibilite": [{"type": "rqth", "value": True}]}, "Extra inputs are not permitted"),
        ({"eligibilite": {"type": "rqth"}}, "eligibilite: Input should be a valid list"),
        ({"reseaux_porteurs": ["creativ"]}, "reseaux_porteurs"),
    ],
)
def test_invalid_files_are_rejected_naming_the_file(tmp_path: Path, changes: dict[str, Any], message: str) -> None:
    data = base_service("broken")
    data.update(changes)
    write(tmp_path, "broken", data)
    with pytest.raises(CatalogueError, match=message) as error:
        load_catalogue(tmp_path)
    assert "broken.yml" in str(error.value)


def test_an_empty_folder_is_an_error(tmp_path: Path) -> None:
    with pytest.raises(CatalogueError, match="no service files"):
        load_catalogue(tmp_path)


def test_local_rights_uses_an_injected_catalogue(tmp_path: Path) -> None:
    write(tmp_path, "only-one", base_service("only-one", eligibilite=[], sur_demande=False))
    small = load_catalogue(tmp_path)
    outcome = local_rights(Profile(commune_insee="21355"), TODAY, catalogue=small)
    assert ids(outcome) == ["only-one"]
    assert outcome.rights[0].why == "Ce service est ouvert aux habitants de Longvic."


# --- the eligibility language: every type, true / false / unknown ----------------------------------

RQTH = {"type": "rqth"}
RSA = {"type": "receives", "values": ["rsa"]}
OWNER = {"type": "housing", "values": ["owner"]}
ADULT = {"type": "age", "min": 18}

CASES: list[tuple[str, dict[str, Any], dict[str, Any], bool | None, tuple[str, ...]]] = [
    # (case id, condition, profile fields, expected eligible, expected missing)
    ("age-in-range", {"type": "age", "min": 16, "max": 25}, {"age": 22}, True, ()),
    ("age-out-of-range", {"type": "age", "min": 16, "max": 25}, {"age": 26}, False, ()),
    ("age-unknown", {"type": "age", "min": 16, "max": 25}, {}, None, ("age",)),
    ("age-operator-true", {"type": "age", "operator": ">=", "value": 18}, {"age": 18}, True, ()),
    ("age-operator-false", {"type": "age", "operator": "<", "value": 18}, {"age": 18}, False, ()),
    ("age-from-birth-date", {"type": "age", "max": 25}, {"date_of_birth": dt.date(2000, 11, 30)}, False, ()),
    ("age-birthday-not-yet", {"type": "age", "max": 25}, {"date_of_birth": dt.date(2000, 12, 1)}, True, ()),
    ("communes-true", {"type": "communes", "values": ["21166"]}, {"commune_insee": "21166"}, True, ()),
    ("communes-false", {"type": "communes", "values": ["21166"]}, {"commune_insee": "21231"}, False, ()),
    ("communes-unknown", {"type": "communes", "values": ["21166"]}, {}, None, ("commune_insee",)),
    ("quartiers-any-qpv", {"type": "quartiers"}, {"quartier": "gresilles"}, True, ()),
    ("quartiers-none-of-these", {"type": "quartiers"}, {"quartier": "aucun"}, False, ()),
    ("quartiers-unconfirmed-id", {"type": "quartiers"}, {"quartier": "vassaules"}, False, ()),
    ("quartiers-dont-know", {"type": "quartiers"}, {"quartier": "inconnu"}, None, ("quartier",)),
    ("quartiers-unknown", {"type": "quartiers"}, {}, None, ("quartier",)),
    ("quartiers-listed", {"type": "quartiers", "values": ["le_mail"]}, {"quartier": "le_mail"}, True, ()),
    ("quartiers-not-listed", {"type": "quartiers", "values": ["le_mail"]}, {"quartier": "gresilles"}, False, ()),
    ("territoire-true", {"type": "territoire", "value": "troyes"}, {"commune_insee": "10081"}, True, ()),
    ("territoire-false", {"type": "territoire", "value": "troyes"}, {"commune_insee": "21231"}, False, ()),
    ("territoire-outside", {"type": "territoire", "value": "dijon"}, {"commune_insee": "69123"}, False, ()),
    ("territoire-unknown", {"type": "territoire", "value": "dijon"}, {}, None, ("commune_insee",)),
    ("since-true", {"type": "jobseeker_since_months", "min": 12}, {"jobseeker_since_months": 14}, True, ()),
    ("since-false", {"type": "jobseeker_since_months", "min": 12}, {"jobseeker_since_months": 6}, False, ()),
    ("since-not-a-jobseeker", {"type": "jobseeker_since_months", "min": 12}, {"activity": "employed"}, False, ()),
    ("since-unknown", {"type": "jobseeker_since_months", "min": 12}, {"activity": "jobseeker"}, None,
     ("jobseeker_since_months",)),
    ("since-unknown-activity", {"type": "jobseeker_since_months", "min": 12}, {}, None, ("jobseeker_since_months",)),
    ("activity-true", {"type": "activity", "values": ["jobseeker", "inactive"]}, {"activity": "inactive"}, True, ()),
    ("activity-false", {"type": "activity", "values": ["jobseeker"]}, {"activity": "student"}, False, ()),
    ("activity-unknown", {"type": "activity", "values": ["jobseeker"]}, {}, None, ("activity",)),
    ("receives-true", {"type": "receives", "values": ["rsa", "aah"]}, {"receives": ["aah"]}, True, ()),
    ("receives-false-never-unknown", {"type": "receives", "values": ["rsa"]}, {}, False, ()),
    ("single-parent-true", {"type": "single_parent"}, {"couple": False, "children_ages": [3]}, True, ()),
    ("single-parent-couple", {"type": "single_parent"}, {"couple": True}, False, ()),
    ("single-parent-no-child", {"type": "single_parent"}, {"couple": False, "children_ages": []}, False, ()),
    ("single-parent-unknown-couple", {"type": "single_parent"}, {"children_ages": [3]}, None, ("couple",)),
    ("single-parent-unknown-children", {"type": "single_parent"}, {"couple": False}, None, ("children_ages",)),
    ("single-parent-unknown-both", {"type": "single_parent"}, {}, None, ("couple", "children_ages")),
    ("rqth-true", {"type": "rqth"}, {"rqth": True}, True, ()),
    ("rqth-false", {"type": "rqth"}, {"rqth": False}, False, ()),
    ("rqth-unknown", {"type": "rqth"}, {}, None, ("rqth",)),
    ("rate-true", {"type": "disability_rate", "min": 50}, {"disability_rate": 80}, True, ()),
    ("rate-false", {"type": "disability_rate", "min": 50}, {"disability_rate": 30}, False, ()),
    ("rate-unknown", {"type": "disability_rate", "min": 50}, {}, None, ("disability_rate",)),
    ("children-under-true", {"type": "has_children_under", "age": 3}, {"children_ages": [7, 2]}, True, ()),
    ("children-under-false", {"type": "has_children_under", "age": 3}, {"children_ages": [3]}, False, ()),
    ("children-under-none", {"type": "has_children_under", "age": 3}, {"children_ages": []}, False, ()),
    ("children-under-unknown", {"type": "has_children_under", "age": 3}, {}, None, ("children_ages",)),
    ("housing-true", {"type": "housing", "values": ["homeless", "hosted"]}, {"housing": "hosted"}, True, ()),
    ("housing-false", {"type": "housing", "values": ["homeless", "hosted"]}, {"housing": "tenant"}, False, ()),
    ("housing-unknown", {"type": "housing", "values": ["homeless"]}, {}, None, ("housing",)),
    # combinators
    ("any-one-true", {"type": "any", "conditions": [RQTH, OWNER]}, {"rqth": True}, True, ()),
    ("any-all-false", {"type": "any", "conditions": [RQTH, RSA]}, {"rqth": False}, False, ()),
    ("any-unknown", {"type": "any", "conditions": [RQTH, RSA]}, {}, None, ("rqth",)),
    ("any-true-beats-unknown", {"type": "any", "conditions": [RQTH, RSA]}, {"receives": ["rsa"]}, True, ()),
    ("all-true", {"type": "all", "conditions": [ADULT, RQTH]}, {"age": 30, "rqth": True}, True, ()),
    ("all-false-beats-unknown", {"type": "all", "conditions": [ADULT, RQTH]}, {"age": 16}, False, ()),
    ("all-unknown", {"type": "all", "conditions": [ADULT, RQTH]}, {"age": 30}, None, ("rqth",)),
    ("not-true", {"type": "not", "condition": RQTH}, {"rqth": False}, True, ()),
    ("not-false", {"type": "not", "condition": RQTH}, {"rqth": True}, False, ()),
    ("not-unknown", {"type": "not", "condition": RQTH}, {}, None, ("rqth",)),
]  # fmt: skip


@pytest.mark.parametrize(
    ("raw", "fields", "expected", "missing"), [case[1:] for case in CASES], ids=[c[0] for c in CASES]
)
def test_condition(
    raw: dict[str, Any], fields: dict[str, Any], expected: bool | None, missing: tuple[str, ...]
) -> None:
    result = parse_condition(raw).evaluate(Profile(**fields), TODAY)
    assert result.eligible is expected
    assert result.missing == missing
    if expected is False:
        assert result.reasons == ()  # a failed condition gives no "why" words


def test_every_condition_type_has_a_case() -> None:
    covered = {raw["type"] for _, raw, *_ in CASES}
    assert covered == set(CONDITION_TYPES)


def test_top_level_list_is_an_and_and_empty_means_no_constraint() -> None:
    conditions = parse_eligibility(
        [{"type": "age", "min": 16, "max": 25}, {"type": "activity", "values": ["jobseeker"]}]
    )
    assert evaluate(conditions, Profile(age=20, activity="jobseeker"), TODAY).eligible is True
    assert evaluate(conditions, Profile(age=20, activity="employed"), TODAY).eligible is False
    unknown = evaluate(conditions, Profile(age=20), TODAY)
    assert unknown.eligible is None and unknown.missing == ("activity",)
    assert unknown.reasons == ("Vous avez 20 ans.",)  # what is known is kept for the "why"
    assert evaluate(parse_eligibility([]), Profile(), TODAY).eligible is True
    assert evaluate(parse_eligibility(None), Profile(), TODAY).eligible is True


def test_reasons_are_french_verb_phrases() -> None:
    condition = parse_condition(
        {
            "type": "any",
            "conditions": [{"type": "jobseeker_since_months", "min": 12}, {"type": "receives", "values": ["rsa"]}],
        }
    )
    result = condition.evaluate(Profile(jobseeker_since_months=14, receives=["rsa"]), TODAY)
    assert result.reasons == ("Vous cherchez un emploi depuis 14 mois.", "Vous touchez le RSA.")
    floor = parse_condition({"type": "age", "min": 18}).evaluate(Profile(age=40), TODAY)
    assert floor.eligible is True and floor.reasons == ()  # "adults only" is no reason worth telling


def test_unknown_type_outside_a_file_names_its_place() -> None:
    with pytest.raises(CatalogueError, match=r"eligibilite\[1\]: unknown condition type 'salaire'"):
        parse_eligibility([{"type": "rqth"}, {"type": "salaire"}])
    with pytest.raises(CatalogueError, match="mapping with a 'type' key"):
        parse_condition(["rqth"])
    with pytest.raises(CatalogueError, match="non-empty list"):
        parse_condition({"type": "any", "conditions": []})
    with pytest.raises(CatalogueError, match="one nested 'condition'"):
        parse_condition({"type": "not"})


# --- local_rights: the examples that must come out right ------------------------------------------


def test_young_jobseeker_in_chenove_is_offered_mission_locale_and_cej() -> None:
    outcome = local_rights(Profile(age=22, commune_insee="21166", activity="jobseeker"), TODAY)
    rights = by_id(outcome)
    assert {"dijon-cej", "dijon-mission-locale"} <= set(rights)
    cej = rights["dijon-cej"]
    assert cej.kind == "local" and not cej.uncertain
    assert cej.why == "Vous avez 22 ans.\nVous cherchez un emploi."
    assert cej.next_step.startswith("Prenez rendez-vous à la Mission locale")
    assert outcome.notice is None


def test_long_term_jobseeker_on_rsa_in_a_dijon_qpv_is_offered_the_plie() -> None:
    profile = Profile(
        age=40,
        commune_insee="21231",
        quartier="gresilles",
        activity="jobseeker",
        jobseeker_since_months=14,
        receives=["rsa"],
    )
    outcome = local_rights(profile, TODAY)
    plie = by_id(outcome)["dijon-plie-creativ"]
    assert not plie.uncertain
    assert plie.label == "PLIE (Créativ')"
    assert plie.why == "Vous cherchez un emploi depuis 14 mois.\nVous touchez le RSA."
    assert plie.service_id == "dijon-plie-creativ"
    assert plie.reseaux_porteurs == ["plie", "maisons-de-l-emploi"]
    assert plie.thematiques and plie.thematiques[0].startswith("trouver-un-emploi")
    assert "dijon-cite-emploi" in ids(outcome)


def test_the_same_person_in_troyes_gets_troyes_services_never_dijon_ones(catalogue: Catalogue) -> None:
    profile = Profile(
        age=40,
        commune_insee="10387",
        quartier="chartreux",
        activity="jobseeker",
        jobseeker_since_months=14,
        receives=["rsa"],
    )
    outcome = local_rights(profile, TODAY)
    assert "troyes-plie" in ids(outcome)
    assert "troyes-cite-emploi" in ids(outcome)
    everything = local_rights(profile, TODAY, topics=ALL_TOPICS, limit=None)
    assert len(everything.rights) > len(outcome.rights)
    assert {catalogue.get(right.id).territory_id for right in everything.rights} == {"troyes"}


def test_someone_outside_both_territories_gets_no_local_service_and_a_notice() -> None:
    outcome = local_rights(Profile(age=40, commune_insee="69123", activity="jobseeker"), TODAY)
    assert outcome.rights == []
    assert outcome.notice == NOTICE_OUTSIDE
    assert outcome.notice.startswith("Je ne connais pas encore les services près de chez vous")
    assert "mairie" in outcome.notice and "France services" in outcome.notice


def test_an_unknown_commune_gets_no_local_service_and_is_asked() -> None:
    outcome = local_rights(Profile(age=40, activity="jobseeker"), TODAY)
    assert outcome.rights == []
    assert outcome.notice == NOTICE_NO_COMMUNE
    assert outcome.missing == ["commune_insee"]


@pytest.mark.parametrize(
    ("commune", "quartier", "adult_only", "youth"),
    [
        (
            "21231",
            "gresilles",
            {"dijon-plie-creativ", "dijon-tznr", "dijon-point-conseil-budget", "dijon-auto-ecole-sociale"},
            {"dijon-mission-locale", "dijon-cej"},
        ),
        (
            "10081",
            "chantereigne_montvilliers",
            {"troyes-plie", "troyes-etcld", "troyes-point-conseil-budget", "troyes-auto-ecole-solidaire"},
            {"troyes-mission-locale", "troyes-cej"},
        ),
    ],
)
def test_a_sixteen_year_old_is_never_offered_adult_only_programmes(
    commune: str, quartier: str, adult_only: set[str], youth: set[str]
) -> None:
    teenager = Profile(
        age=16,
        commune_insee=commune,
        quartier=quartier,
        activity="jobseeker",
        jobseeker_since_months=14,
        couple=False,
        children_ages=[1],
        housing="hosted",
        rqth=False,
        receives=["rsa"],
    )
    offered = set(ids(local_rights(teenager, TODAY, topics=ALL_TOPICS, limit=None)))
    assert not offered & adult_only
    assert youth <= offered


@pytest.mark.parametrize(
    ("commune", "quartier", "prefix"), [("21617", "belvedere", "dijon"), ("10297", "debussy", "troyes")]
)
def test_a_single_parent_jobseeker_gets_childcare_and_the_plie(commune: str, quartier: str, prefix: str) -> None:
    parent = Profile(
        age=31,
        commune_insee=commune,
        quartier=quartier,
        couple=False,
        children_ages=[2, 6],
        activity="jobseeker",
        jobseeker_since_months=5,
    )
    rights = by_id(local_rights(parent, TODAY))
    avip = rights[f"{prefix}-creche-avip"]
    assert not avip.uncertain
    assert avip.why == "Vous avez un enfant de moins de 3 ans.\nVous cherchez un emploi."
    plie_id = "dijon-plie-creativ" if prefix == "dijon" else "troyes-plie"
    assert "vivez seul(e) avec vos enfants" in rights[plie_id].why
    assert not rights[plie_id].uncertain


def test_french_classes_appear_when_the_language_is_the_topic() -> None:
    french = ["lecture-ecriture-calcul--maitriser-le-francais"]
    dijon = Profile(age=35, commune_insee="21231", quartier="fontaine_d_ouche", activity="inactive")
    assert "dijon-fle-secours-catholique" not in ids(local_rights(dijon, TODAY))  # barrier services: on demand
    asked = local_rights(dijon, TODAY, topics=french)
    assert ids(asked)[0] == "dijon-fle-secours-catholique"
    assert asked.rights[0].why == "Ce service répond à votre demande : lecture, écriture et calcul."
    troyes = Profile(age=35, commune_insee="10387", quartier="senardes", activity="inactive")
    assert {"troyes-fle-delf", "troyes-cite-emploi"} <= set(
        ids(local_rights(troyes, TODAY, topics=["lecture-ecriture-calcul"]))
    )


def test_results_are_capped_and_ordered_by_relevance(catalogue: Catalogue) -> None:
    profile = Profile(age=22, commune_insee="21166", activity="jobseeker")
    everything = local_rights(profile, TODAY, limit=None)
    capped = local_rights(profile, TODAY)
    assert len(everything.rights) > 5 and len(capped.rights) == 5
    assert ids(capped) == ids(everything)[:5]
    order = [(right.uncertain, catalogue.get(right.id).priorite) for right in everything.rights]
    assert order == sorted(order)  # sure before "à vérifier", then targeted programmes before general desks
    assert ids(everything).index("dijon-cej") < ids(everything).index("chenove-ccas")


def test_uncertain_programmes_say_what_is_missing() -> None:
    outcome = local_rights(Profile(age=22, commune_insee="21166", activity="jobseeker"), TODAY, limit=None)
    plie = by_id(outcome)["dijon-plie-creativ"]
    assert plie.uncertain
    assert plie.why.startswith(
        "Vous cherchez un emploi.\nÀ vérifier : il me manque la durée de votre recherche d'emploi"
    )
    assert {"jobseeker_since_months", "couple", "children_ages", "rqth", "housing", "quartier"} <= set(outcome.missing)
    assert "age" not in outcome.missing


def test_the_reference_date_is_an_input() -> None:
    profile = Profile(date_of_birth=dt.date(2001, 6, 15), commune_insee="21231", activity="jobseeker")
    assert "dijon-mission-locale" in ids(local_rights(profile, dt.date(2026, 6, 14), limit=None))  # 24
    assert "dijon-mission-locale" in ids(local_rights(profile, dt.date(2026, 12, 1), limit=None))  # 25
    assert "dijon-mission-locale" not in ids(local_rights(profile, dt.date(2027, 6, 15), limit=None))  # 26


def test_topics_are_checked_and_an_empty_answer_gets_a_notice() -> None:
    with pytest.raises(ValueError, match="unknown topics"):
        local_rights(Profile(commune_insee="21231"), TODAY, topics=["cours-de-cuisine"])
    outcome = local_rights(Profile(commune_insee="21231"), TODAY, topics=["creer-une-entreprise"])
    assert outcome.rights == [] and outcome.notice == NOTICE_NO_TOPIC

"""Understanding in context, as pure rules: what a first message already says (prefill), a typed answer read
against the buttons shown (options), a quartier answering "which commune", a count of questions that never
grows, and the choice offered when the NLU is unsure."""

from __future__ import annotations

import itertools
import json

import pytest

from outreach import options, places
from outreach.screening import prefill, questions
from outreach.services import understanding


@pytest.mark.parametrize(
    ("message", "expected"),
    [
        (
            "slt jsuis toute seule avec mes 2 enfants de 3 et 7 ans, je cherche du travail depuis 1 an jai droit",
            {"s_couple": "non", "s_children": "3,7", "s_activity": "jobseeker", "s_jobseeker_since": "12"},
        ),
        ("slt jsuis toute seule avec mes 2 enfants jai droit a quoi", {"s_couple": "non", "s_children_count": "2"}),
        (
            "Bonjour, je suis mariée, 3 enfants (2, 5 et 9 ans), on est en HLM loyer 520€",
            {"s_couple": "oui", "s_children": "2,5,9", "s_housing": "social_tenant", "s_rent": "520"},
        ),
        (
            "j'ai 34 ans, au chomage depuis 8 mois, je touche 600 de chomage",
            {"s_age": "34", "s_activity": "jobseeker", "s_jobseeker_since": "8", "s_other_income": "600"},
        ),
        (
            "je travaille en cdi je gagne 1200 euros, locataire avec 450 de loyer",
            {"s_activity": "employed", "s_salary": "1200", "s_housing": "tenant", "s_rent": "450"},
        ),
        ("je vis chez ma mère avec mon bébé", {"s_housing": "hosted", "s_children": "0"}),
        ("en hlm on paye 610", {"s_housing": "social_tenant", "s_rent": "610"}),
        ("je paye 300 de credit pour la voiture", {}),  # not a tenant: no rent
        ("retraité, pension de 900", {"s_activity": "retired", "s_other_income": "900"}),
        ("j'ai droit à la prime d'activité ?", {}),
        ("je veux savoir mes droits", {}),
    ],
)
def test_a_first_message_prefills_what_it_says(message: str, expected: dict[str, str]) -> None:
    assert prefill.facts(message) == expected


def test_prefilled_values_are_understood_as_answers() -> None:
    """The form validates what the first message prefilled: each stored value reads as itself."""
    message = "mariée, 3 enfants (2, 5 et 9 ans), HLM loyer 520€, je cherche du travail depuis 8 mois"
    for slot, value in prefill.facts(message).items():
        assert questions.understand(slot, value) == value, slot


def test_the_bot_says_back_what_it_noted_in_one_line() -> None:
    message = "slt jsuis toute seule avec mes 2 enfants de 3 et 7 ans, je cherche du travail depuis 1 an"
    assert prefill.summary(prefill.facts(message), message) == (
        "seule, 2 enfants (3 et 7 ans), en recherche d'emploi depuis 1 an"
    )


def _inform(slot: str, value: str) -> str:
    return "/inform" + json.dumps({slot: value})


TOPICS = [
    ("Vos droits (CAF, RSA…)", "!topic:droits:"),
    ("Le logement", "!topic:logement:"),
    ("La santé", "!topic:sante:"),
    ("Parler à quelqu'un", "/talk_to_human"),
]
COUPLE = [
    ("Seul(e)", _inform("s_couple", "non")),
    ("En couple", _inform("s_couple", "oui")),
    ("Je ne sais pas", "/dont_know"),
    ("Annuler", "/cancel"),
]
HOUSING = [(title, _inform("s_housing", value)) for title, value in questions.BY_SLOT["s_housing"].buttons]


@pytest.mark.parametrize(
    ("typed", "buttons", "chosen"),
    [
        ("caf", TOPICS, 0),
        ("la CAF svp", TOPICS, 0),
        ("jai pas de mutuelle", TOPICS, 2),
        ("parler a qqn stp", TOPICS, 3),
        ("annuler", COUPLE, 3),
        ("jsp", COUPLE, 2),
        ("Seul", COUPLE, 0),
        ("locatair", HOUSING, 0),
        ("bonjour", TOPICS, None),
        ("je voudrais un rendez-vous pour remplir mon dossier de la caf avec quelqu'un demain", TOPICS, None),
    ],
)
def test_a_typed_answer_chooses_the_button_it_means(typed: str, buttons: list, chosen: int | None) -> None:
    assert options.choose(typed, buttons) == chosen


@pytest.mark.parametrize(
    ("slot", "typed", "value"),
    [
        ("s_couple", "toute seule avec mes enfants", "non"),
        ("s_couple", "mariée", "oui"),
        ("s_housing", "hlm", "social_tenant"),
        ("s_housing", "Locataire privé", "tenant"),
        ("s_housing", "chez mes parents", "hosted"),
        ("s_activity", "je cherche du travail depuis 1 an", "jobseeker"),
    ],
)
def test_a_typed_answer_to_a_screening_question_is_its_choice(slot: str, typed: str, value: str) -> None:
    assert questions.is_answer(slot, typed) and questions.understand(slot, typed) == value


@pytest.mark.parametrize(
    ("typed", "place"),
    [
        ("les gresilles", ("Dijon", "gresilles")),
        ("Grésilles à Dijon", ("Dijon", "gresilles")),
        ("j'habite aux grezilles", ("Dijon", "gresilles")),
        ("le mail chenove", ("Chenôve", "le_mail")),
        ("les chartreux", ("Troyes", "chartreux")),
        ("Belvedere", ("Talant", "belvedere")),
        ("chenove", ("Chenôve", None)),
        ("paris", (None, None)),
    ],
)
def test_a_quartier_answers_the_commune_question(typed: str, place: tuple) -> None:
    assert places.resolve_place(typed) == place


def test_an_ordinary_sentence_names_no_place() -> None:
    assert places.mentioned_place("j'ai pas reçu le mail de la caf, j'ai droit à quoi ?") == (None, None)
    assert places.mentioned_place("je suis aux Grésilles, j'ai droit à quoi ?") == ("Dijon", "gresilles")


def test_the_count_of_questions_never_grows_whatever_the_answers() -> None:
    """Every path through the questionnaire: the "encore N" shown before each question only goes down."""
    values = {
        "s_age": ["34"],
        "s_couple": ["oui", "non"],
        "s_children": ["", "3", "12,16"],
        "s_housing": ["tenant", "owner", "hosted"],
        "s_rent": ["450"],
        "s_activity": ["employed", "jobseeker", "inactive", "retired"],
        "s_jobseeker_since": ["12"],
        "s_salary": ["1100"],
        "s_other_income": ["0"],
        "s_partner_salary": ["0"],
        "s_disability": ["0"],
        "s_residence": ["oui"],
        "s_school": ["college"],
        "s_child_disability": ["non"],
    }
    branching = ("s_couple", "s_children", "s_housing", "s_activity")
    for combination in itertools.product(*(values[slot] for slot in branching)):
        chosen = dict(zip(branching, combination, strict=True))
        answers: dict[str, object] = {"commune": None, "s_ask_commune": True}
        shown = []
        while wanted := [slot for slot in questions.required(answers) if answers.get(slot) is None]:
            shown.append(questions.remaining(answers))
            slot = wanted[0]
            answers[slot] = "Dijon" if slot == "commune" else chosen.get(slot, values[slot][0])
        assert shown == sorted(shown, reverse=True), (chosen, shown)
        assert shown[-1] == 1 and shown[0] <= questions.MAX_QUESTIONS


def test_an_unsure_reading_offers_the_two_likely_intents() -> None:
    ranking = [("cancel_appointment", 0.41), ("stop_messages", 0.33), ("goodbye", 0.1)]
    assert understanding.choices(ranking) == ["cancel_appointment", "stop_messages"]
    assert understanding.choices([("out_of_scope", 0.6), ("greet", 0.2)]) == []
    assert understanding.choices([("help", 0.12)]) == []
    assert understanding.choices([("find_job", 0.45), ("childcare", 0.05)]) == ["find_job"]


def test_a_weighty_intent_that_won_narrowly_is_confirmed() -> None:
    close = [("stop_messages", 0.69), ("cancel_appointment", 0.28), ("my_appointments", 0.02)]
    assert understanding.close_call(close) == ["stop_messages", "cancel_appointment"]
    assert understanding.close_call([("stop_messages", 0.95), ("help", 0.03)]) == []  # clear
    assert understanding.close_call([("find_job", 0.55), ("housing_help", 0.4)]) == []  # a topic: cheap to get wrong
    assert understanding.close_call([("cancel", 0.83), ("cancel_appointment", 0.17)]) == []


TERRITORIES = [("Dijon métropole", "!terr:3:dijon"), ("Troyes Champagne Métropole", "!terr:3:troyes"),
               ("Ailleurs", "!terr:3:autre")]
MY_DATA = [("📄 Recevoir mes données", "d:export"), ("🗑️ Tout effacer", "d:erase")]
CONFIRM = [("Oui, annuler", "!cancel!:7"), ("Non, le garder", "!keep")]


@pytest.mark.parametrize(
    ("typed", "buttons", "chosen"),
    [
        ("TROYES", TERRITORIES, 1),
        ("chenove", TERRITORIES, 0),  # a commune of the Dijon territory
        ("aux gresilles", TERRITORIES, 0),
        ("tout effacer", MY_DATA, 1),
        ("je veux recevoir", MY_DATA, 0),
        ("oui", CONFIRM, 0),
        ("non je le garde", CONFIRM, 1),
    ],
)
def test_typed_choices_of_the_channels_own_questions(typed: str, buttons: list, chosen: int) -> None:
    assert options.choose(typed, buttons) == chosen


@pytest.mark.parametrize(
    ("message", "person"),
    [
        ("jcomprend rien a vos question je veu parler a quelquun", True),
        ("Je suis très inquiète. Est-ce que je pourrais parler à une vraie personne ?", True),
        ("passez moi un conseiller svp", True),
        ("pas besoin de parler à quelqu'un, c'est bon", False),
        ("Est-ce que je pourrais avoir un rendez-vous avec quelqu'un ?", False),  # a booking
        ("je voudrais voir l'adulte relais mardi", False),
    ],
)
def test_an_explicit_request_for_a_person_is_recognised_anywhere_in_a_message(message: str, person: bool) -> None:
    assert options.asks_for_a_person(message) is person

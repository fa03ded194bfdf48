"""The screening questionnaire: which questions, in which order, when they are asked, how a typed or
pressed answer is understood, and how the answers become a Profile.

Rasa's form (actions/screening.py) asks them; this module holds the rules, so the form and the tests
share one definition. An answer is stored as a short string: a value, or UNKNOWN ("je ne sais pas").

At most MAX_QUESTIONS questions. Most are asked whenever their `asked_if` holds; the last ones (`rank`) are
extra questions about the children (their school, for the bourses; a disability, for the AEEH), asked only
when a child is concerned AND the questionnaire stays within MAX_QUESTIONS, the lowest rank first. So a
household they do not concern is asked exactly what it was asked before, and a large household that already
has 12 questions is not asked them: the rights they refine stay "à vérifier" (the school then follows the
children's ages).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from outreach import options, places
from outreach.places import fold
from outreach.screening.rights import SCHOOL_AGES

UNKNOWN = "inconnu"
Answers = Mapping[str, Any]
MAX_QUESTIONS = 12


@dataclass(frozen=True)
class Question:
    slot: str
    text: str
    example: str  # shown when the answer was not understood
    buttons: tuple[tuple[str, str], ...] = ()  # (title, value)
    asked_if: Callable[[Answers], bool] = lambda answers: True
    parse: Callable[[str], str | None] = lambda text: None
    rank: int | None = None  # an extra question: asked only within MAX_QUESTIONS, the lowest rank first


def _known(answers: Answers, slot: str) -> Any:
    value = answers.get(slot)
    return None if value in (None, UNKNOWN) else value


# ---------------------------------------------------------------- understanding answers

_NUMBER = re.compile(r"\d+(?:[.,]\d+)?")
_ZERO_WORDS = {"rien", "zero", "aucun", "aucune", "pas de revenu", "pas de revenus", "0", "non", "nada", "personne"}


def _numbers(text: str) -> list[float]:
    spaced = re.sub(r"(?<=\d)[\s.](?=\d{3}\b)", "", text)  # "1 200" or "1.200" -> "1200"
    return [float(n.replace(",", ".")) for n in _NUMBER.findall(spaced)]


def parse_age(text: str) -> str | None:
    numbers = [n for n in _numbers(text) if n == int(n)]
    if len(numbers) != 1 or not 15 <= numbers[0] <= 110:
        return None
    return str(int(numbers[0]))


def parse_amount(text: str) -> str | None:
    """Euros per month: "1200", "1 200 €", "850e", "rien"."""
    folded = fold(text)
    numbers = _numbers(folded)
    if folded in _ZERO_WORDS or folded.startswith(("rien", "pas de", "aucun")):
        return "0"
    if not numbers and re.search(r"\b(pas|plus|rien|aucun|chomage)\b", folded):  # "femme pas travail"
        return "0"
    if len(numbers) != 1 or not 0 <= numbers[0] <= 20_000:
        return None
    amount = numbers[0] * 1000 if re.search(r"\d\s*k\b", folded) else numbers[0]
    return str(round(amount))


def parse_children(text: str) -> str | None:
    """The children's ages, "4,9": from "2 enfants de 4 et 9 ans", "3, 7, 12", "pas d'enfant"."""
    folded = fold(text)
    if folded in {
        "0",
        "aucun",
        "aucune",
        "non",
        "pas d enfant",
        "pas d enfants",
        "sans enfant",
        "sans enfants",
        "zero",
        "personne",
        "pas encore",
    } or folded.startswith(("pas d enfant", "aucun enfant", "non ", "plus d enfant", "ils sont grands")):
        return ""  # "non ils sont grands": none dependent any more
    if "bebe" in folded and not _numbers(folded):
        return "0"
    numbers = [int(n) for n in _numbers(folded) if n == int(n)]
    counted = re.match(r"^\s*(\d+)\s+enfants?\b", folded)
    if counted:  # "2 enfants de 4 et 9 ans": the first number is the count
        count, ages = int(counted.group(1)), numbers[1:]
        if len(ages) != count:
            return None
        numbers = ages
    if not numbers or len(numbers) > 10 or any(age > 25 for age in numbers):
        return None
    return ",".join(str(age) for age in numbers)


def _choice(options: Mapping[str, tuple[str, ...]]) -> Callable[[str], str | None]:
    """The first option one of whose keywords appears in the folded answer (whole words)."""

    def parse(text: str) -> str | None:
        folded = f" {fold(text)} "
        for value, keywords in options.items():
            if any(f" {keyword} " in folded for keyword in keywords):
                return value
        return None

    return parse


parse_couple = _choice(
    {
        "oui": (
            "oui",
            "couple",
            "marie",
            "mariee",
            "pacse",
            "pacsee",
            "concubin",
            "concubine",
            "mari",
            "femme",
            "copain",
            "copine",
            "conjoint",
            "conjointe",
            "ensemble",
            "yes",
            "married",
        ),
        "non": (
            "non",
            "seul",
            "seule",
            "celibataire",
            "divorce",
            "divorcee",
            "separe",
            "separee",
            "veuf",
            "veuve",
            "pas en couple",
            "no",
            "single",
        ),
    }
)
parse_housing = _choice(
    {
        "homeless": ("sans logement", "sans domicile", "sdf", "rue", "115", "dehors", "voiture", "squat"),
        "social_tenant": (
            "hlm",
            "logement social",
            "office",
            "bailleur social",
            "opac",
            "grand dijon habitat",
            "mon logis",
            "troyes habitat",
            "orvitis",
            "social",
        ),
        "hosted": (
            "heberge",
            "hebergee",
            "chez mes parents",
            "chez ma mere",
            "chez mon pere",
            "chez des amis",
            "chez un ami",
            "chez une amie",
            "chez ma soeur",
            "chez mon frere",
            "chez ma famille",
            "foyer",
            "gratuit",
            "gratuitement",
            "loge",
            "logee",
            "chez",
        ),
        "owner": ("proprietaire", "proprio", "a moi", "achete", "credit"),
        "tenant": ("locataire", "loue", "location", "loyer", "appartement", "appart", "studio", "maison", "prive"),
    }
)
parse_activity = _choice(
    {
        "jobseeker": (
            "chomage",
            "chomeur",
            "chomeuse",
            "cherche",
            "recherche",
            "demandeur",
            "demandeuse",
            "france travail",
            "pole emploi",
            "sans emploi",
            "pas de travail",
            "jobseeker",
        ),
        "student": (
            "etudiant",
            "etudiante",
            "etudes",
            "ecole",
            "fac",
            "universite",
            "lycee",
            "apprenti",
            "apprentie",
            "formation",
            "student",
        ),
        "retired": ("retraite", "retraitee", "pension", "retired"),
        "employed": (
            "travaille",
            "salarie",
            "salariee",
            "cdi",
            "cdd",
            "interim",
            "emploi",
            "boulot",
            "taf",
            "job",
            "temps partiel",
            "mi temps",
            "auto entrepreneur",
            "work",
        ),
        "inactive": (
            "sans activite",
            "au foyer",
            "maison",
            "malade",
            "rien",
            "inactif",
            "inactive",
            "invalide",
            "conge parental",
        ),
    }
)


def parse_jobseeker_since(text: str) -> str | None:
    folded = fold(text)
    numbers = _numbers(folded)
    if len(numbers) == 1:
        months = numbers[0] * 12 if re.search(r"\bans?\b|\bannees?\b", folded) else numbers[0]
        return str(round(months)) if 0 <= months <= 600 else None
    if "semaine" in folded or "jours" in folded or "peu" in folded:
        return "1"
    if "longtemps" in folded:
        return "24"
    return None


def parse_disability(text: str) -> str | None:
    """A disability rate ("80"), "rqth", or "0" for no."""
    folded = fold(text)
    if "rqth" in folded or "travailleur handicape" in folded:
        return "rqth"
    numbers = [n for n in _numbers(folded) if 0 <= n <= 100]
    # a rate: the number alone, or said as a rate ("80 %", "taux de 50"), not "titre de séjour 6 ans"
    said_as_rate = re.fullmatch(r"\d+(?:[.,]\d+)?\s*(%|pour ?cent|pourcents?)?", folded) or re.search(
        r"%|pour ?cent|\btaux\b|\bhandicap", folded
    )
    if len(numbers) == 1 and said_as_rate and not re.search(r"\bans?\b|\bmois\b|\beuros?\b", folded):
        return str(round(numbers[0]))
    if folded in {"non", "no", "aucun", "pas de handicap", "nan", "non merci"} or folded.startswith("non"):
        return "0"
    return None


parse_yes_no = _choice(
    {
        "oui": ("oui", "yes", "ouais", "bien sur", "francais", "francaise", "europeen", "europeenne"),
        "non": ("non", "no", "pas encore", "pas"),
    }
)


def parse_commune(text: str) -> str | None:
    return places.resolve_commune(text)


_COLLEGE_WORDS = ("college", "6e", "5e", "4e", "3e", "sixieme", "cinquieme", "quatrieme", "troisieme", "segpa")
_LYCEE_WORDS = ("lycee", "seconde", "2nde", "premiere", "1ere", "terminale", "lycee pro", "bac pro")
_NEITHER_WORDS = ("non", "ni", "aucun", "aucune", "primaire", "apprenti", "apprentie", "apprentissage", "fac",
                  "travaille", "plus a l ecole", "no")


def parse_school(text: str) -> str | None:
    """"college", "lycee", "both" or "none" (neither): from "un au collège et un au lycée", "en 3e", "non"."""
    folded = f" {fold(text)} "
    college = any(f" {word} " in folded for word in _COLLEGE_WORDS)
    lycee = any(f" {word} " in folded for word in _LYCEE_WORDS)
    if (college and lycee) or " les deux " in folded or " deux " in folded:
        return "both"
    if college:
        return "college"
    if lycee:
        return "lycee"
    if any(f" {word} " in folded for word in _NEITHER_WORDS):
        return "none"
    return None


# ---------------------------------------------------------------- the questions

MONEY_BUTTONS = (("Rien (0 €)", "0"),)


def _couple(answers: Answers) -> bool:
    return _known(answers, "s_couple") == "oui"


def _activity(answers: Answers) -> str | None:
    return _known(answers, "s_activity")


def _children_ages(answers: Answers) -> list[int] | None:
    children = answers.get("s_children")
    if children is None or children == UNKNOWN:
        return None
    value = str(children)
    if not re.fullmatch(r"[\d,]*", value):  # typed words not validated yet (a form asks which slots remain)
        value = parse_children(value) or ""
    return [int(age) for age in value.split(",") if age.isdigit()]


def _has_child(ages: range) -> Callable[[Answers], bool]:
    def asked_if(answers: Answers) -> bool:
        return any(age in ages for age in _children_ages(answers) or [])

    return asked_if


def _other_income_text(answers: Answers) -> str:
    activity = _activity(answers)
    if activity == "jobseeker":
        return "Combien touchez-vous de France Travail (chômage) par mois ? Écrivez 0 si rien."
    if activity == "retired":
        return "Combien touchez-vous de retraite par mois ?"
    return "Avez-vous d'autres revenus par mois (pension, indemnités…) ? Écrivez le montant, ou 0."


QUESTIONS: tuple[Question, ...] = (
    Question(
        "commune",
        "Dans quelle commune habitez-vous ?",
        "Chenôve",
        # asked when the commune was not known at the start of this screening ("s_ask_commune")
        asked_if=lambda a: a["s_ask_commune"] if a.get("s_ask_commune") is not None else a.get("commune") is None,
        parse=parse_commune,
    ),
    Question(
        "s_age",
        "Quel âge avez-vous ? Écrivez votre âge, ou choisissez :",
        "34",
        # a representative age per band: the bands keep the thresholds that matter (18, 25, 30, 50, 65)
        (("16-17 ans", "17"), ("18-24 ans", "21"), ("25-29 ans", "27"), ("30-49 ans", "40"), ("50-64 ans", "57"),
         ("65 ans ou plus", "67")),
        parse=parse_age,
    ),
    Question(
        "s_couple", "Vivez-vous en couple ?", "seule", (("Seul(e)", "non"), ("En couple", "oui")), parse=parse_couple
    ),
    Question(
        "s_children",
        "Avez-vous des enfants à charge ? Si oui, écrivez leur âge.",
        "4 et 9",
        (("Pas d'enfant", ""),),
        parse=parse_children,
    ),
    Question(
        "s_housing",
        "Où habitez-vous ?",
        "locataire",
        (
            ("Locataire (privé)", "tenant"),
            ("Logement social (HLM)", "social_tenant"),
            ("Hébergé(e)", "hosted"),
            ("Propriétaire", "owner"),
            ("Sans logement", "homeless"),
        ),
        parse=parse_housing,
    ),
    Question(
        "s_rent",
        "Combien payez-vous de loyer par mois, charges comprises ?",
        "450",
        asked_if=lambda a: _known(a, "s_housing") in ("tenant", "social_tenant"),
        parse=parse_amount,
    ),
    Question(
        "s_activity",
        "Quelle est votre situation ?",
        "je cherche du travail",
        (
            ("Je travaille", "employed"),
            ("Je cherche un emploi", "jobseeker"),
            ("Études", "student"),
            ("Retraite", "retired"),
            ("Sans activité", "inactive"),
        ),
        parse=parse_activity,
    ),
    Question(
        "s_jobseeker_since",
        "Depuis combien de temps cherchez-vous un emploi ?",
        "14 mois",
        (("Moins de 6 mois", "3"), ("6 à 12 mois", "9"), ("1 à 2 ans", "18"), ("Plus de 2 ans", "30")),
        asked_if=lambda a: _activity(a) == "jobseeker",
        parse=parse_jobseeker_since,
    ),
    Question(
        "s_salary",
        "Combien gagnez-vous par mois (salaire net) ?",
        "1100",
        asked_if=lambda a: _activity(a) == "employed",
        parse=parse_amount,
    ),
    Question("s_other_income", "", "0", MONEY_BUTTONS, parse=parse_amount),
    Question(
        "s_partner_salary",
        "Et votre conjoint(e), combien gagne-t-il ou elle par mois ? Écrivez 0 si rien.",
        "1300",
        MONEY_BUTTONS,
        asked_if=_couple,
        parse=parse_amount,
    ),
    Question(
        "s_disability",
        "Avez-vous un handicap reconnu par la MDPH ?",
        "non",
        (
            ("Non", "0"),
            ("Oui, moins de 50 %", "30"),
            ("Oui, 50 à 79 %", "50"),
            ("Oui, 80 % ou plus", "80"),
            ("J'ai la RQTH", "rqth"),
        ),
        parse=parse_disability,
    ),
    Question(
        "s_residence",
        "Êtes-vous Français(e), Européen(ne), ou en France avec un titre de séjour depuis 5 ans ou plus ?",
        "oui",
        (("Oui", "oui"), ("Non", "non")),
        parse=parse_yes_no,
    ),
    # extra questions (rank): the bourses de collège et de lycée, then the AEEH
    Question(
        "s_school",
        "Vos enfants de 10 ans ou plus vont-ils au collège ou au lycée ?",
        "un au collège et un au lycée",
        (("Collège", "college"), ("Lycée", "lycee"), ("Collège et lycée", "both"), ("Ni l'un ni l'autre", "none")),
        asked_if=_has_child(SCHOOL_AGES),
        parse=parse_school,
        rank=2,
    ),
    Question(
        "s_child_disability",
        "Un de vos enfants a-t-il un handicap ?",
        "non",
        (("Non", "non"), ("Oui", "oui")),
        asked_if=_has_child(range(20)),
        parse=parse_yes_no,
        rank=1,
    ),
)
BY_SLOT = {q.slot: q for q in QUESTIONS}

# "pourquoi vous demandez ça ?": why each question is asked, in a line.
REASONS: dict[str, str] = {
    "commune": "Les aides et les permanences dépendent de l'endroit où vous habitez.",
    "s_age": "Certaines aides dépendent de l'âge : par exemple, le RSA est en général pour les 25 ans et plus.",
    "s_couple": "Les aides se calculent pour tout le foyer : seul(e) ou en couple, les montants changent.",
    "s_children": "Les enfants ouvrent des aides (allocations familiales, rentrée scolaire…) et changent les montants.",
    "s_housing": "Les aides au logement (APL) dépendent de votre logement.",
    "s_rent": "Le montant de l'aide au logement dépend de votre loyer.",
    "s_activity": "Votre situation change les aides possibles : prime d'activité, RSA, aide pour trouver un emploi.",
    "s_jobseeker_since": "Certaines aides pour l'emploi dépendent de la durée de votre recherche.",
    "s_salary": "La prime d'activité et le RSA dépendent de ce que vous gagnez.",
    "s_other_income": "Les aides dépendent de tous les revenus du foyer.",
    "s_partner_salary": "Les aides dépendent des revenus de tout le foyer, ceux de votre conjoint(e) aussi.",
    "s_disability": "Un handicap reconnu peut ouvrir l'AAH ou d'autres aides.",
    "s_residence": "Certaines aides, comme le RSA, demandent d'être en France avec un titre de séjour depuis 5 ans.",
    "s_school": "Les bourses de collège et de lycée dépendent de la classe de vos enfants.",
    "s_child_disability": "Un enfant en situation de handicap peut ouvrir l'AEEH, une aide pour la famille.",
}
PRIVACY_NOTE = "Vos réponses servent seulement à estimer vos droits."
SLOTS = tuple(q.slot for q in QUESTIONS if q.slot != "commune")


def text_of(question: Question, answers: Answers) -> str:
    if question.slot == "s_other_income":
        return _other_income_text(answers)
    count = answers.get("s_children_count")
    if question.slot == "s_children" and count and str(count).isdigit():  # said in the first message
        return "Quel âge a votre enfant ?" if int(count) == 1 else f"Quel âge ont vos {count} enfants ?"
    return question.text


def required(answers: Answers) -> list[str]:
    """The questions to ask given the answers so far (at most MAX_QUESTIONS): those whose `asked_if` holds,
    then the extra ones (`rank`) that concern this household, while there is room."""
    asked = [q for q in QUESTIONS if q.rank is None and q.asked_if(answers)]
    extra = sorted((q for q in QUESTIONS if q.rank is not None and q.asked_if(answers)), key=lambda q: q.rank or 0)
    chosen = {q.slot for q in [*asked, *extra][:MAX_QUESTIONS]}
    return [q.slot for q in QUESTIONS if q.slot in chosen]


# Answers that decide which questions follow, and values covering every case (the most questions each).
_BRANCHES: dict[str, tuple[str, ...]] = {
    "s_housing": ("tenant", "owner"),
    "s_activity": ("employed", "jobseeker", "inactive"),
    "s_couple": ("oui", "non"),
    "s_children": ("12,15", "3", ""),
}


def remaining(answers: Answers) -> int:
    """How many questions are still to come, the next one included, AT MOST: the largest count over the answers
    not given yet. An answer only removes possibilities, so this number never grows during a screening
    ("encore 4 questions", then 3…), unlike a "question 5 sur 9" whose total moves with the answers."""
    open_branches = [(slot, values) for slot, values in _BRANCHES.items() if answers.get(slot) is None]
    cases: list[dict[str, Any]] = [dict(answers)]
    for slot, values in open_branches:
        cases = [{**case, slot: value} for case in cases for value in values]
    return max(
        sum(1 for slot in required(case) if answers.get(slot) is None) for case in cases
    )


def progress_text(answers: Answers) -> str:
    """The progress hint shown before a question."""
    left = remaining(answers)
    return "Dernière question :" if left <= 1 else f"Encore {left} questions au plus."


def understand(slot: str, text: str) -> str | None:
    """The stored value for a typed answer, UNKNOWN for "je ne sais pas", or None if not understood."""
    question = BY_SLOT[slot]
    folded = fold(text)
    if folded in {"je sais pas", "jsp", "sais pas", "je ne sais pas", "aucune idee", "j sais pas", "chai pas", UNKNOWN}:
        return UNKNOWN
    for title, value in question.buttons:  # a button's title typed by hand
        if folded == fold(title):
            return value
    if slot == "commune":
        return question.parse(text)
    values = {value for _, value in question.buttons}
    if text in values:  # a button's value (payload)
        return text
    if slot == "s_children" and re.fullmatch(r"\d{1,2}(,\d{1,2})*", text):  # a stored value: "3,7"
        return text
    parsed = question.parse(text)
    if parsed is not None or not question.buttons:
        return parsed
    chosen = options.choose(text, [(title, options.inform(slot, value)) for title, value in question.buttons])
    return question.buttons[chosen][1] if chosen is not None else None


def is_answer(slot: str, text: str) -> bool:
    """Whether `text` answers the question of `slot` (a screening question, or the place form's commune and
    quartier): such a text goes to the form as an answer, whatever intent the NLU would read in it."""
    if slot == "commune":
        return places.resolve_place(text)[0] is not None
    if slot == "quartier":
        return places.resolve_quartier(text, None) is not None
    return slot in BY_SLOT and understand(slot, text) is not None



# ---------------------------------------------------------------- answers -> profile


COLLEGE_MAX_AGE = 14  # a child of a "collège et lycée" answer is at collège up to this age, at lycée above


def children_school(answer: str, ages: list[int]) -> list[str]:
    """Each child's school (Profile.children_school) from the answer to "s_school" and the children's ages.

    Only the children of SCHOOL_AGES can be at collège or lycée; among them, which ones follows the ages:
    "college": those up to COLLEGE_MAX_AGE (or else the youngest); "lycee": those above (or else the oldest);
    "both": by age, and at least one of each when there are two such children; "none": nobody."""
    schools = ["other"] * len(ages)
    pupils = sorted((age, index) for index, age in enumerate(ages) if age in SCHOOL_AGES)
    if answer not in ("college", "lycee", "both") or not pupils:
        return schools
    young = [index for age, index in pupils if age <= COLLEGE_MAX_AGE]
    old = [index for age, index in pupils if age > COLLEGE_MAX_AGE]
    if answer == "both" and len(pupils) > 1:
        if not old:
            young, old = young[:-1], young[-1:]
        elif not young:
            young, old = old[:1], old[1:]
    elif answer == "college":
        young, old = young or [pupils[0][1]], []
    elif answer == "lycee":
        young, old = [], old or [pupils[-1][1]]
    for index in young:
        schools[index] = "college"
    for index in old:
        schools[index] = "lycee"
    return schools


def _float(answers: Answers, slot: str) -> float | None:
    value = _known(answers, slot)
    return float(value) if value not in (None, "") else None


def profile_data(answers: Answers) -> dict[str, Any]:
    """The Profile (JSON) for these answers; unknown answers stay absent (→ "à vérifier")."""
    data: dict[str, Any] = {}
    commune = places.commune_by_name(str(answers.get("commune") or ""))
    if commune is not None:
        data["commune_insee"] = commune.insee
    quartier = answers.get("quartier")
    if quartier and quartier not in (places.UNKNOWN, places.NONE_OF_THESE):
        data["quartier"] = quartier
    if (age := _known(answers, "s_age")) is not None:
        data["age"] = int(age)
    if (couple := _known(answers, "s_couple")) is not None:
        data["couple"] = couple == "oui"
    children = _children_ages(answers)
    if children is not None:
        data["children_ages"] = children
        if (school := _known(answers, "s_school")) is not None and any(age in SCHOOL_AGES for age in children):
            data["children_school"] = children_school(str(school), children)
        if (disabled := _known(answers, "s_child_disability")) is not None and any(age < 20 for age in children):
            data["child_disability"] = disabled == "oui"
    if (housing := _known(answers, "s_housing")) is not None:
        data["housing"] = housing
    if (rent := _float(answers, "s_rent")) is not None:
        data["rent"] = rent
    activity = _activity(answers)
    if activity is not None:
        data["activity"] = activity
    if (since := _known(answers, "s_jobseeker_since")) is not None:
        data["jobseeker_since_months"] = int(since)
    income: dict[str, float] = {}
    if (salary := _float(answers, "s_salary")) is not None:
        income["salary"] = salary
    elif activity in ("jobseeker", "student", "retired", "inactive"):
        income["salary"] = 0.0
    if (other := _float(answers, "s_other_income")) is not None:
        key = {"jobseeker": "unemployment", "retired": "pension"}.get(activity or "", "other")
        income[key] = other
    if (partner := _float(answers, "s_partner_salary")) is not None:
        income["partner_salary"] = partner
    if income:
        data["income"] = income
    disability = _known(answers, "s_disability")
    if disability == "rqth":
        data["rqth"] = True
    elif disability is not None:
        data["disability_rate"] = int(disability)
        data["rqth"] = False if int(disability) == 0 else None
        if data["rqth"] is None:
            del data["rqth"]
    if (residence := _known(answers, "s_residence")) is not None:
        data["residence_ok"] = residence == "oui"
    return data

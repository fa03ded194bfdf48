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
from outreach.i18n import N_, _, ngettext
from outreach.places import fold
from outreach.screening.rights import SCHOOL_AGES

UNKNOWN = "inconnu"
Answers = Mapping[str, Any]
MAX_QUESTIONS = 12


@dataclass(frozen=True)
class Question:
    slot: str
    text: str  # a French msgid (N_): `text_of` says it in the language of the turn
    example: str  # shown when the answer was not understood (`example_of`)
    buttons: tuple[tuple[str, str], ...] = ()  # (title, value); titles are msgids (`buttons_of`)
    asked_if: Callable[[Answers], bool] = lambda answers: True
    parse: Callable[[str], str | None] = lambda text: None
    rank: int | None = None  # an extra question: asked only within MAX_QUESTIONS, the lowest rank first


def _known(answers: Answers, slot: str) -> Any:
    value = answers.get(slot)
    return None if value in (None, UNKNOWN) else value


# ---------------------------------------------------------------- understanding answers

_NUMBER = re.compile(r"\d+(?:[.,]\d+)?")
# Digits residents may type on an Arabic or Persian keyboard ("٣٤", "۱۲"), and the Arabic decimal and
# thousands separators: read as 0-9, "," and nothing.
_DIGITS = str.maketrans(
    {**{chr(0x0660 + i): str(i) for i in range(10)}, **{chr(0x06F0 + i): str(i) for i in range(10)},
     "\u066b": ",", "\u066c": ""}
)  # fmt: skip

# Yes and no as residents say them (French, English, Arabic, Darija in Latin letters, Turkish, Portuguese),
# folded: matched as whole words anywhere in the answer…
YES_WORDS = ("oui", "ouais", "ouai", "bien sur", "yes", "yeah", "yep", "yup", "of course", "نعم", "ايه", "ايوه",
             "ايوا", "واخا", "naam", "na3am", "iyeh", "iyah", "wakha", "waxa", "evet", "sim", "claro")  # fmt: skip
NO_WORDS = ("non", "no", "nope", "nah", "hayır", "hayir", "yok", "nao", "لا", "ما عنديش", "makaynch")  # fmt: skip
# …and words that mean yes or no only when they are the whole answer ("la" is also a French article, "ah" an
# interjection): "ah" (Darija yes), "la" (Arabic no).
YES_ALONE = frozenset({"ah", "ih", "اه", "اي", "var"})
NO_ALONE = frozenset({"la", "lla", "la2", "la la"})  # i18n: ignore
_ZERO_WORDS = {"rien", "zero", "aucun", "aucune", "0", "non", "nada", "personne",
               "pas de revenu", "pas de revenus",  # i18n: ignore
               "nothing", "none", "no", "nope", "hic", "yok", "nenhum", "nenhuma",
               "لا شيء", "والو", "walou"}  # fmt: skip


def ascii_digits(text: str) -> str:
    """Arabic-Indic and Persian digits as 0-9: "٣٤" -> "34", "۱۲" -> "12"."""
    return text.translate(_DIGITS)


def _folded(text: str) -> str:
    """The folded answer (places.fold), digits as 0-9."""
    return fold(ascii_digits(text))


def _words(text: str) -> str:
    """The folded answer, punctuation as spaces: "Evet !" -> "evet" (for matching words, not numbers)."""
    return " ".join(re.sub(r"[^\w\s]", " ", _folded(text)).split())


def yes_no(text: str) -> str | None:
    """"oui", "non" or None: the resident's yes or no, in any of the languages residents use."""
    folded = _words(text)
    if folded in YES_ALONE:
        return "oui"
    if folded in NO_ALONE:
        return "non"
    padded = f" {folded} "
    if any(f" {word} " in padded for word in YES_WORDS):
        return "oui"
    if any(f" {word} " in padded for word in NO_WORDS):
        return "non"
    return None


def _numbers(text: str) -> list[float]:
    text = ascii_digits(text)
    spaced = re.sub(r"(?<=\d)[\s.](?=\d{3}\b)", "", text)  # "1 200" or "1.200" -> "1200"
    return [float(n.replace(",", ".")) for n in _NUMBER.findall(spaced)]


def parse_age(text: str) -> str | None:
    numbers = [n for n in _numbers(text) if n == int(n)]
    if len(numbers) != 1 or not 15 <= numbers[0] <= 110:
        return None
    return str(int(numbers[0]))


def parse_amount(text: str) -> str | None:
    """Euros per month: "1200", "1 200 €", "850e", "rien"."""
    folded = _folded(text)
    numbers = _numbers(folded)
    if folded in _ZERO_WORDS or folded.startswith(("rien", "pas de", "aucun")):
        return "0"
    if not numbers and (_words(text) in _ZERO_WORDS or yes_no(text) == "non"):  # "nothing", "yok", "لا"
        return "0"
    if not numbers and re.search(r"\b(pas|plus|rien|aucun|chomage)\b", folded):  # "femme pas travail"
        return "0"
    if len(numbers) != 1 or not 0 <= numbers[0] <= 20_000:
        return None
    amount = numbers[0] * 1000 if re.search(r"\d\s*k\b", folded) else numbers[0]
    return str(round(amount))


def parse_children(text: str) -> str | None:
    """The children's ages, "4,9": from "2 enfants de 4 et 9 ans", "3, 7, 12", "pas d'enfant", "no"."""
    folded = _folded(text)
    if folded in {
        "0",
        "aucun",
        "aucune",
        "non",
        "pas d enfant",  # i18n: ignore
        "pas d enfants",  # i18n: ignore
        "sans enfant",
        "sans enfants",
        "zero",
        "personne",
        "pas encore",  # i18n: ignore
    } or folded.startswith(("pas d enfant", "aucun enfant", "non ", "plus d enfant", "ils sont grands")):
        return ""  # "non ils sont grands": none dependent any more
    if not _numbers(folded) and yes_no(text) == "non":  # "no", "hayır", "لا"
        return ""
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
        folded = f" {_words(text)} "
        for value, keywords in options.items():
            if any(f" {keyword} " in folded for keyword in keywords):
                return value
        return None

    return parse


_couple_words = _choice(
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
            "pas en couple",  # i18n: ignore
            "no",
            "single",
        ),
    }
)


def parse_couple(text: str) -> str | None:
    """"oui" (in a couple) or "non": from "seule", "mariée", "pas en couple", or a yes or no in any language."""
    if " pas en couple " in f" {_words(text)} ":  # i18n: ignore
        return "non"
    return _couple_words(text) or yes_no(text)


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
            "chez des amis",  # i18n: ignore
            "chez un ami",
            "chez une amie",  # i18n: ignore
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
            "pas de travail",  # i18n: ignore
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
    folded = _folded(text)
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
    folded = _folded(text)
    if "rqth" in folded or "travailleur handicape" in folded:
        return "rqth"
    numbers = [n for n in _numbers(folded) if 0 <= n <= 100]
    # a rate: the number alone, or said as a rate ("80 %", "taux de 50"), not "titre de séjour 6 ans"
    said_as_rate = re.fullmatch(r"\d+(?:[.,]\d+)?\s*(%|pour ?cent|pourcents?)?", folded) or re.search(
        r"%|pour ?cent|\btaux\b|\bhandicap", folded
    )
    if len(numbers) == 1 and said_as_rate and not re.search(r"\bans?\b|\bmois\b|\beuros?\b", folded):
        return str(round(numbers[0]))
    no_words = {"non", "no", "aucun", "pas de handicap", "nan", "non merci"}  # i18n: ignore
    if folded in no_words or folded.startswith("non"):
        return "0"
    if not numbers and yes_no(text) == "non":  # "no", "hayır", "não", "لا"
        return "0"
    return None


_nationality_words = _choice(
    {"oui": ("francais", "francaise", "europeen", "europeenne"), "non": ("pas encore", "pas")}  # i18n: ignore
)


def parse_yes_no(text: str) -> str | None:
    """"oui" or "non": a yes or no in any language residents use, or "française", "pas encore"."""
    return yes_no(text) or _nationality_words(text)


def parse_commune(text: str) -> str | None:
    return places.resolve_commune(text)


_COLLEGE_WORDS = ("college", "6e", "5e", "4e", "3e", "sixieme", "cinquieme", "quatrieme", "troisieme", "segpa")
_LYCEE_WORDS = ("lycee", "seconde", "2nde", "premiere", "1ere", "terminale", "lycee pro", "bac pro")
_NEITHER_WORDS = ("non", "ni", "aucun", "aucune", "primaire", "apprenti", "apprentie", "apprentissage", "fac",
                  "travaille", "plus a l ecole", "no")  # i18n: ignore


def parse_school(text: str) -> str | None:
    """"college", "lycee", "both" or "none" (neither): from "un au collège et un au lycée", "en 3e", "non"."""
    folded = f" {_words(text)} "
    college = any(f" {word} " in folded for word in _COLLEGE_WORDS)
    lycee = any(f" {word} " in folded for word in _LYCEE_WORDS)
    if (college and lycee) or " les deux " in folded or " deux " in folded:  # i18n: ignore
        return "both"
    if college:
        return "college"
    if lycee:
        return "lycee"
    if any(f" {word} " in folded for word in _NEITHER_WORDS) or yes_no(text) == "non":
        return "none"
    return None


# ---------------------------------------------------------------- the questions

MONEY_BUTTONS = ((N_("Rien (0 €)"), "0"),)


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
        return _("Combien touchez-vous de France Travail (chômage) par mois ? Écrivez 0 si rien.")
    if activity == "retired":
        return _("Combien touchez-vous de retraite par mois ?")
    return _("Avez-vous d'autres revenus par mois (pension, indemnités…) ? Écrivez le montant, ou 0.")


QUESTIONS: tuple[Question, ...] = (
    Question(
        "commune",
        N_("Dans quelle commune habitez-vous ?"),
        "Chenôve",
        # asked when the commune was not known at the start of this screening ("s_ask_commune")
        asked_if=lambda a: a["s_ask_commune"] if a.get("s_ask_commune") is not None else a.get("commune") is None,
        parse=parse_commune,
    ),
    Question(
        "s_age",
        N_("Quel âge avez-vous ? Écrivez votre âge, ou choisissez :"),
        "34",
        # a representative age per band: the bands keep the thresholds that matter (18, 25, 30, 50, 65)
        ((N_("16-17 ans"), "17"), (N_("18-24 ans"), "21"), (N_("25-29 ans"), "27"), (N_("30-49 ans"), "40"),
         (N_("50-64 ans"), "57"), (N_("65 ans ou plus"), "67")),
        parse=parse_age,
    ),
    Question(
        "s_couple",
        N_("Vivez-vous en couple ?"),
        N_("seule"),
        ((N_("Seul(e)"), "non"), (N_("En couple"), "oui")),
        parse=parse_couple,
    ),
    Question(
        "s_children",
        N_("Avez-vous des enfants à charge ? Si oui, écrivez leur âge."),
        N_("4 et 9"),
        ((N_("Pas d'enfant"), ""),),
        parse=parse_children,
    ),
    Question(
        "s_housing",
        N_("Où habitez-vous ?"),
        N_("locataire"),
        (
            (N_("Locataire (privé)"), "tenant"),
            (N_("Logement social (HLM)"), "social_tenant"),
            (N_("Hébergé(e)"), "hosted"),
            (N_("Propriétaire"), "owner"),
            (N_("Sans logement"), "homeless"),
        ),
        parse=parse_housing,
    ),
    Question(
        "s_rent",
        N_("Combien payez-vous de loyer par mois, charges comprises ?"),
        "450",
        asked_if=lambda a: _known(a, "s_housing") in ("tenant", "social_tenant"),
        parse=parse_amount,
    ),
    Question(
        "s_activity",
        N_("Quelle est votre situation ?"),
        N_("je cherche du travail"),
        (
            (N_("Je travaille"), "employed"),
            (N_("Je cherche un emploi"), "jobseeker"),
            (N_("Études"), "student"),
            (N_("Retraite"), "retired"),
            (N_("Sans activité"), "inactive"),
        ),
        parse=parse_activity,
    ),
    Question(
        "s_jobseeker_since",
        N_("Depuis combien de temps cherchez-vous un emploi ?"),
        N_("14 mois"),
        ((N_("Moins de 6 mois"), "3"), (N_("6 à 12 mois"), "9"), (N_("1 à 2 ans"), "18"), (N_("Plus de 2 ans"), "30")),
        asked_if=lambda a: _activity(a) == "jobseeker",
        parse=parse_jobseeker_since,
    ),
    Question(
        "s_salary",
        N_("Combien gagnez-vous par mois (salaire net) ?"),
        "1100",
        asked_if=lambda a: _activity(a) == "employed",
        parse=parse_amount,
    ),
    Question("s_other_income", "", "0", MONEY_BUTTONS, parse=parse_amount),
    Question(
        "s_partner_salary",
        N_("Et votre conjoint(e), combien gagne-t-il ou elle par mois ? Écrivez 0 si rien."),
        "1300",
        MONEY_BUTTONS,
        asked_if=_couple,
        parse=parse_amount,
    ),
    Question(
        "s_disability",
        N_("Avez-vous un handicap reconnu par la MDPH (maison des personnes handicapées) ?"),
        N_("non"),
        (
            (N_("Non"), "0"),
            (N_("Oui, moins de 50 %"), "30"),
            (N_("Oui, 50 à 79 %"), "50"),
            (N_("Oui, 80 % ou plus"), "80"),
            (N_("J'ai la RQTH"), "rqth"),
        ),
        parse=parse_disability,
    ),
    Question(
        "s_residence",
        N_("Êtes-vous Français(e), Européen(ne), ou en France avec un titre de séjour depuis 5 ans ou plus ?"),
        N_("oui"),
        ((N_("Oui"), "oui"), (N_("Non"), "non")),
        parse=parse_yes_no,
    ),
    # extra questions (rank): the bourses de collège et de lycée, then the AEEH
    Question(
        "s_school",
        N_("Vos enfants de 10 ans ou plus vont-ils au collège ou au lycée ?"),
        N_("un au collège et un au lycée"),
        (
            (N_("Collège"), "college"),
            (N_("Lycée"), "lycee"),
            (N_("Collège et lycée"), "both"),
            (N_("Ni l'un ni l'autre"), "none"),
        ),
        asked_if=_has_child(SCHOOL_AGES),
        parse=parse_school,
        rank=2,
    ),
    Question(
        "s_child_disability",
        N_("Un de vos enfants a-t-il un handicap ?"),
        N_("non"),
        ((N_("Non"), "non"), (N_("Oui"), "oui")),
        asked_if=_has_child(range(20)),
        parse=parse_yes_no,
        rank=1,
    ),
)
BY_SLOT = {q.slot: q for q in QUESTIONS}

# "pourquoi vous demandez ça ?": why each question is asked, in a line.
REASONS: dict[str, str] = {
    "commune": N_("Les aides et les permanences dépendent de l'endroit où vous habitez."),
    "s_age": N_(
        "Certaines aides dépendent de l'âge. Par exemple, le RSA (revenu de solidarité active) est en général "
        "pour les 25 ans et plus."
    ),
    "s_couple": N_("Les aides se calculent pour tout le foyer : seul(e) ou en couple, les montants changent."),
    "s_children": N_(
        "Les enfants ouvrent des aides (allocations familiales, rentrée scolaire…) et changent les montants."
    ),
    "s_housing": N_("Les aides au logement (APL) dépendent de votre logement."),
    "s_rent": N_("Le montant de l'aide au logement dépend de votre loyer."),
    "s_activity": N_(
        "Votre situation change les aides possibles : prime d'activité, RSA (revenu de solidarité active), aide "
        "pour trouver un emploi."
    ),
    "s_jobseeker_since": N_("Certaines aides pour l'emploi dépendent de la durée de votre recherche."),
    "s_salary": N_("La prime d'activité et le RSA (revenu de solidarité active) dépendent de ce que vous gagnez."),
    "s_other_income": N_("Les aides dépendent de tous les revenus du foyer."),
    "s_partner_salary": N_("Les aides dépendent des revenus de tout le foyer, ceux de votre conjoint(e) aussi."),
    "s_disability": N_("Un handicap reconnu peut ouvrir l'AAH (allocation aux adultes handicapés) ou d'autres aides."),
    "s_residence": N_(
        "Certaines aides demandent d'être en France avec un titre de séjour depuis 5 ans. C'est le cas du RSA "
        "(revenu de solidarité active)."
    ),
    "s_school": N_("Les bourses de collège et de lycée dépendent de la classe de vos enfants."),
    "s_child_disability": N_(
        "Un enfant handicapé peut ouvrir l'AEEH (allocation d'éducation de l'enfant handicapé), une aide pour la "
        "famille."
    ),
}
PRIVACY_NOTE = N_("Vos réponses servent seulement à estimer vos droits.")
SLOTS = tuple(q.slot for q in QUESTIONS if q.slot != "commune")


def text_of(question: Question, answers: Answers) -> str:
    """The question as the resident reads it, in the language of the turn."""
    if question.slot == "s_other_income":
        return _other_income_text(answers)
    count = answers.get("s_children_count")
    if question.slot == "s_children" and count and str(count).isdigit():  # said in the first message
        n = int(count)
        return ngettext("Quel âge a votre enfant ?", "Quel âge ont vos {n} enfants ?", n).format(n=n)
    return _(question.text)


def buttons_of(question: Question) -> list[tuple[str, str]]:
    """The question's buttons (title, value), titles in the language of the turn."""
    return [(_(title), value) for title, value in question.buttons]


def example_of(question: Question) -> str:
    """The example shown when an answer was not understood, in the language of the turn."""
    return _(question.example)


def reason(slot: str | None) -> str | None:
    """Why the question of `slot` is asked ("pourquoi vous demandez ça ?"), in the language of the turn."""
    why = REASONS.get(str(slot))
    return _(why) if why else None


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
    if left <= 1:
        return _("Dernière question :")
    return ngettext("Encore {n} question au plus.", "Encore {n} questions au plus.", left).format(n=left)


# "je ne sais pas", folded, in the languages residents use
_DONT_KNOW = frozenset({
    "jsp", "aucune idee", UNKNOWN,
    "je sais pas", "sais pas", "je ne sais pas", "j sais pas", "chai pas",  # i18n: ignore
    "i don t know", "i dont know", "dont know", "don t know", "idk", "no idea", "bilmiyorum", "bilmem",
    "nao sei", "nao sei nao", "ma3rftch", "ma na3rf", "manarf", "لا اعرف", "ما عرفتش", "معرفتش",
})  # fmt: skip


def understand(slot: str, text: str) -> str | None:
    """The stored value for a typed answer, UNKNOWN for "je ne sais pas", or None if not understood."""
    question = BY_SLOT[slot]
    text = ascii_digits(text)
    folded = fold(text)
    if folded in _DONT_KNOW or _words(text) in _DONT_KNOW:
        return UNKNOWN
    for title, value in question.buttons:  # a button's title typed by hand (in French or in the turn's language)
        if folded in (fold(title), fold(_(title))):
            return value
    if slot == "commune":
        return question.parse(text)
    values = {value for _title, value in question.buttons}
    if text in values:  # a button's value (payload)
        return text
    if slot == "s_children" and re.fullmatch(r"\d{1,2}(,\d{1,2})*", text):  # a stored value: "3,7"
        return text
    parsed = question.parse(text)
    if parsed is not None or not question.buttons:
        return parsed
    chosen = options.choose(text, [(title, options.inform(slot, value)) for title, value in buttons_of(question)])
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

"""A typed answer read against the buttons the resident has in front of them, before any intent.

Residents often type instead of pressing: "caf" at "C'est à quel sujet ?", "hlm" at "Où habitez-vous ?",
"seule" at "Vivez-vous en couple ?", "annuler", "jsp", a quartier's name with a typo. `choose` finds the button
such a short answer means: its title or one of its synonyms (per option, below), accent-insensitive, with typos
(rapidfuzz), a longer matching phrase winning over a shorter one; nothing when two buttons match as well (the
message then goes to the dialogue engine as usual). Long messages (more than MAX_WORDS words) are never matched
here: they say more than a choice.
"""

from __future__ import annotations

import json
import re
import unicodedata
from collections.abc import Mapping, Sequence
from functools import cache

from rapidfuzz import fuzz

from outreach import places
from outreach.places import fold

MAX_WORDS = 7
TYPO_SCORE = 88  # rapidfuzz ratio (0-100) for a whole answer close to a title or synonym
WINDOW_SCORE = 90  # ... for a group of words of the answer close to a synonym of 5 letters or more

# Synonyms per option key (see `option_key`): words residents use for that choice.
SYNONYMS: dict[str, tuple[str, ...]] = {
    # booking topics ("!topic:<key>:…")
    "topic=droits": (
        "caf",
        "droits",
        "mes droits",
        "aides",
        "aide",
        "rsa",
        "apl",
        "prime d activite",
        "prime",
        "allocations",
        "alloc",
        "allocs",
        "aah",
        "msa",
        "dossier caf",
    ),
    "topic=emploi": (
        "emploi",
        "travail",
        "boulot",
        "job",
        "taf",
        "cv",
        "formation",
        "france travail",
        "pole emploi",
        "chomage",
        "chercher du travail",
        "trouver du travail",
    ),
    "topic=logement": (
        "logement",
        "loyer",
        "hlm",
        "appartement",
        "appart",
        "expulsion",
        "proprio",
        "maison",
        "logement social",
    ),
    "topic=sante": (
        "sante",
        "mutuelle",
        "css",
        "cmu",
        "medecin",
        "carte vitale",
        "soins",
        "docteur",
        "ameli",
        "complementaire sante",
        "dentiste",
        "lunettes",
    ),
    "topic=budget": (
        "budget",
        "dettes",
        "dette",
        "argent",
        "banque",
        "credit",
        "factures",
        "huissier",
        "trop percu",
        "fin de mois",
    ),
    "topic=famille": (
        "famille",
        "enfants",
        "enfant",
        "creche",
        "garde",
        "nounou",
        "ecole",
        "cantine",
        "garde d enfants",
        "bebe",
    ),
    "topic=mobilite": ("mobilite", "permis", "transport", "transports", "bus", "tram", "voiture", "velo"),
    "topic=numerique": (
        "numerique",
        "internet",
        "ordinateur",
        "ordi",
        "en ligne",
        "mail",
        "email",
        "site internet",
        "demarches en ligne",
        "papiers en ligne",
        "scanner",
        "imprimer",
    ),
    "topic=langue": (
        "francais",
        "langue",
        "traduction",
        "traducteur",
        "interprete",
        "cours de francais",
        "apprendre le francais",
    ),
    # screening answers (/inform{"<slot>": "<value>"}) need no synonyms here: their question's own parser
    # (outreach/screening/questions.py) reads "seule", "hlm", "chez mes parents"… and is tried first
    # buttons shown with many questions
    "/dont_know": (
        "je sais pas",
        "je ne sais pas",
        "jsp",
        "sais pas",
        "aucune idee",
        "chais pas",
        "j sais pas",
        "je sais plus",
    ),
    "/cancel": ("annuler", "annule", "laisse tomber", "arreter", "stop les questions", "on arrete"),
    "/talk_to_human": (
        "parler a quelqu un",
        "quelqu un",
        "un humain",
        "une personne",
        "un conseiller",
        "une conseillere",
        "adulte relais",
        "parler a une personne",
    ),
    "/check_rights": ("droits", "mes droits", "mes aides", "aides", "caf"),
    "/book_appointment": ("rendez vous", "rdv", "un rdv", "un rendez vous", "prendre rdv"),
    "/affirm": ("oui", "ouais", "ok", "d accord", "dac", "yes", "oui merci"),
    "/deny": ("non", "nan", "non merci", "no"),
    "!keep": ("garder", "je garde", "non", "nan", "le garder", "non je garde"),
    "!cancel!": ("oui", "ouais", "ok", "d accord", "oui annuler", "oui annule", "annuler", "annule", "vas y",
                 "confirme", "je confirme", "oui merci"),
    # the resident's data (/donnees): reusable channel buttons "d:<choice>"
    "d:export": ("exporter", "telecharger", "recevoir", "recevoir mes donnees", "une copie", "le fichier"),
    "d:erase": ("effacer", "supprimer", "tout effacer", "tout supprimer", "efface", "supprime", "efface tout",
                "supprime tout", "effacer mes donnees", "supprimer mes donnees"),
    "d:erase!": ("oui", "ouais", "ok", "d accord", "oui effacer", "oui supprimer", "oui tout effacer", "vas y",
                 "confirme", "je confirme"),
    "d:keep": ("non", "nan", "garder", "on garde", "laisse", "finalement non", "annuler"),
    # where a case goes when the territory is unknown: "!terr:<case>:<territory>" (communes and quartiers too)
    "terr=autre": ("ailleurs", "autre", "autre ville", "pas ici", "paris", "lyon", "marseille"),
}


def plain_text(text: str) -> str:
    """What a person wrote, as words only: invisible format characters (zero-width, right-to-left overrides) removed,
    spaces trimmed, and never a leading "/" (an unknown command is read as words: "/aide_moi" → "aide moi"). No text
    from a resident is ever read by Rasa as an intent payload ("/inform{…}" after a non-breaking space)."""
    cleaned = "".join(c for c in text if unicodedata.category(c) != "Cf").strip()
    if cleaned.startswith("/"):
        command, _, rest = cleaned.lstrip("/").partition(" ")
        cleaned = f"{command.split('@', 1)[0].replace('_', ' ')} {rest}".strip()
    while cleaned.startswith("/"):
        cleaned = cleaned.lstrip("/").lstrip()
    return cleaned


def inform(slot: str, value: str) -> str:
    """The payload of a button (or a typed answer) that answers a form's question: /inform{"<slot>": "<value>"}."""
    return "/inform" + json.dumps({slot: value}, ensure_ascii=False)


def informed(payload: str) -> tuple[str, str] | None:
    """(slot, value) of an `inform` payload, or None for any other payload."""
    if not payload.startswith("/inform{"):
        return None
    try:
        answered = json.loads(payload.removeprefix("/inform"))
    except ValueError:
        return None
    if not isinstance(answered, dict) or len(answered) != 1:
        return None
    ((slot, value),) = answered.items()
    return str(slot), str(value)


def option_key(payload: str) -> str:
    """The key of a button in SYNONYMS: "topic=droits" for "!topic:droits:…", "s_couple=non" for
    /inform{"s_couple": "non"}, the payload itself for an intent ("/dont_know") or a channel verb ("!keep")."""
    if payload.startswith("!topic:"):
        return "topic=" + payload.split(":")[1]
    if (answer := informed(payload)) is not None:
        return "=".join(answer)
    if payload.startswith("!terr:"):
        return "terr=" + payload.split(":")[-1]
    if payload.startswith("!"):
        return payload.split(":")[0]
    return payload


@cache
def _place_synonyms() -> dict[str, tuple[str, ...]]:
    """Quartier buttons answer to their aliases and usual misspellings (db/reference)."""
    found: dict[str, tuple[str, ...]] = {}
    for quartier in places.quartiers():
        found[f"quartier={quartier.id}"] = (quartier.name, quartier.id.replace("_", " "), *quartier.aliases)
        key = f"terr={quartier.territory_id}"
        found[key] = (*found.get(key, ()), quartier.name, *quartier.aliases)
    for commune in places.communes():
        key = f"terr={commune.territory_id}"
        found[key] = (*found.get(key, ()), commune.name)
    return found


def _phrases(title: str, payload: str, extra: Mapping[str, Sequence[str]]) -> list[str]:
    key = option_key(payload)
    phrases = [title, *SYNONYMS.get(key, ()), *_place_synonyms().get(key, ()), *extra.get(key, ())]
    return [folded for folded in (fold(_clean(p)) for p in phrases) if folded]


def _clean(text: str) -> str:
    """Emojis and punctuation out: "Seul(e) 👍" → "Seul e"."""
    return re.sub(r"[^\w' -]+", " ", text)


# SMS spellings spelled out, politeness words dropped: "parler a qqn stp" → "parler a quelqu un".
_SMS = {
    "qqn": "quelqu un",
    "qq1": "quelqu un",
    "kelkun": "quelqu un",
    "rdv": "rendez vous",
    "ui": "oui",
    "wi": "oui",
    "ouii": "oui",
    "nn": "non",
    "nan": "non",
    "pr": "pour",
    "stp": "",
    "svp": "",
    "merci": "",
    "bjr": "",
    "bonjour": "",
    "slt": "",
    "salut": "",
    "please": "",
}


def _answer(text: str) -> str:
    return " ".join(filter(None, (_SMS.get(word, word) for word in fold(_clean(text)).split())))


def _score(answer: str, phrase: str) -> float:
    """How well `answer` (folded) says `phrase` (folded): the phrase's length when it is there (a longer phrase
    wins), less for a typo; 0 when absent."""
    if answer == phrase:
        return 1000.0 + len(phrase)
    if f" {phrase} " in f" {answer} ":
        return float(len(phrase)) + 100.0
    if len(answer) >= 4 and f" {answer} " in f" {phrase} ":  # "troyes" for "Troyes Champagne Métropole"
        return float(len(answer)) + 20.0
    if len(answer) >= 5:  # a typo of some of the phrase's words: "locatair" for "Locataire (privé)"
        words, size = phrase.split(), len(answer.split())
        for start in range(0, max(0, len(words) - size) + 1):
            if fuzz.ratio(" ".join(words[start : start + size]), answer) >= TYPO_SCORE:
                return float(len(answer)) + 15.0
    if fuzz.ratio(answer, phrase) >= TYPO_SCORE and len(phrase) >= 4:
        return float(len(phrase)) + 50.0
    if len(phrase) >= 5:  # a group of the answer's words close to the phrase: "aux grezilles"
        words, size = answer.split(), len(phrase.split())
        for start in range(0, max(1, len(words) - size + 1)):
            if fuzz.ratio(" ".join(words[start : start + size]), phrase) >= WINDOW_SCORE:
                return float(len(phrase)) + 10.0
    return 0.0


def says_only(text: str, title: str, payload: str) -> bool:
    """Whether the typed text is the option itself (its title or a synonym, a typo allowed), with nothing more:
    "rendez-vous" is the "Prendre rendez-vous" option, "un rdv demain aprem" says more (the date) and goes to the
    dialogue engine in full."""
    answer = _answer(text)
    return any(answer == phrase or fuzz.ratio(answer, phrase) >= TYPO_SCORE for phrase in _phrases(title, payload, {}))


def choose(
    text: str, buttons: Sequence[tuple[str, str]], synonyms: Mapping[str, Sequence[str]] | None = None
) -> int | None:
    """The index of the button (title, payload) that the typed `text` chooses, or None. `synonyms` adds words
    per option key to SYNONYMS."""
    answer = _answer(text)
    if not answer or len(answer.split()) > MAX_WORDS:
        return None
    scores = [
        max((_score(answer, phrase) for phrase in _phrases(title, payload, synonyms or {})), default=0.0)
        for title, payload in buttons
    ]
    best = max(scores, default=0.0)
    if best <= 0 or scores.count(best) > 1:
        return None
    return scores.index(best)


_PERSON = re.compile(
    r"\b(parler|discuter|appeler|contacter|avoir|passez moi|passer)\b(?:\s+\w+){0,4}?\s+"
    r"(a |avec )?(quelqu un|qqn|qq1|quelquun|kelkun|une personne|une vraie personne|un humain|un etre humain|"
    r"un conseiller|une conseillere|l adulte relais|un adulte relais|la mediatrice|le mediateur)\b"
    r"|\b(un humain|une vraie personne|quelqu un de vrai|personne reelle)\b"
)
_BOOKING = re.compile(r"\b(rendez vous|rendezvous|rdv|permanence|creneau)\b")
_NOT = re.compile(r"\b(pas|plus|jamais)\b(?:\s+\w+){0,2}\s+(parler|discuter|appeler|besoin)")


_QUESTION = re.compile(
    r"^(est ce que|est ce qu|c est quoi|cest quoi|c quoi|qu est ce|quest ce|comment|combien|pourquoi|pk|pq|quand|"
    r"ou est|ou se|qui|quel|quelle|quels|quelles|faut il|peut on|on peut|je peux|j ai le droit|c est gratuit|"
    r"c gratuit|how|what|why|when|where|can i|do i|is it)\b|\bcombien\b"
)


def is_question(text: str) -> bool:
    """Whether a message asks something ("c gratuit ?", "combien ça coûte", "est ce que je dois venir")."""
    return "?" in text or "؟" in text or bool(_QUESTION.search(fold(text)))


def asks_for_a_person(text: str) -> bool:
    """An explicit request for a person ("je veu parler a quelquun", "… est-ce que je pourrais parler à une vraie
    personne ?"), wherever it stands in the message: the resident always reaches a person (not read as help or a
    topic by the NLU). "pas besoin de parler à quelqu'un" is not one, nor "un rendez-vous avec quelqu'un" (a
    booking)."""
    folded = fold(_clean(text)).replace("quelqu un", "quelqu un")
    return bool(_PERSON.search(folded)) and not _NOT.search(folded) and not _BOOKING.search(folded)

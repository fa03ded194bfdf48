"""Plain French (FALC spirit) as a rule set the tests apply to every French text a resident reads (the msgids of
the catalogue). The rules and their reasons are in docs/plain-french.md."""

from __future__ import annotations

import re
import unicodedata

MAX_SENTENCE_WORDS = 20
MAX_WORD_LETTERS = 15
MAX_MESSAGE_CHARS = 420  # a longer text is split into two messages
LABEL_CHARS = 40  # button titles and labels: the question they answer explains the words

# Acronyms residents may not know, and the words that explain them (accent-free, lower case): one of them must
# be in the same message.
JARGON: dict[str, tuple[str, ...]] = {
    "QPV": ("quartier prioritaire",),
    "RSA": ("revenu de solidarite",),
    "CSS": ("complementaire sante", "mutuelle"),
    "AAH": ("adultes handicapes", "handicap"),
    "APL": ("aide au logement", "aide pour le loyer", "aides au logement"),
    "ALS": ("aide au logement", "aides au logement"),
    "ALF": ("aide au logement", "aides au logement"),
    "PLIE": ("insertion", "emploi"),
    "CEJ": ("contrat d'engagement jeune", "contrat engagement jeune"),
    "FLE": ("cours de francais", "francais langue etrangere"),
    "MDPH": ("personnes handicapees", "handicap"),
    "CCAS": ("action sociale", "mairie"),
    "ASF": ("soutien familial",),
    "PAJE": ("jeune enfant",),
    "CMG": ("mode de garde",),
    "AEEH": ("enfant handicape", "education de l'enfant"),
    "ASS": ("solidarite specifique",),
    "ARE": ("chomage",),
    "CESF": ("conseiller", "conseillere"),
    "EPN": ("espace", "numerique"),
}
PLACEHOLDER = re.compile(r"\{[a-z_]*\}")
SENTENCE_END = re.compile(r"(?<=[.!?…:;])\s+|\n+|\s+[•·-]\s+")
WORD = re.compile(r"[^\W\d_]+", re.UNICODE)


def fold(text: str) -> str:
    return "".join(c for c in unicodedata.normalize("NFD", text.lower()) if not unicodedata.combining(c))


def sentences(text: str) -> list[str]:
    return [s.strip() for s in SENTENCE_END.split(PLACEHOLDER.sub("X", text)) if s.strip()]


def problems(text: str) -> list[str]:
    """What makes `text` hard to read, per the rules; [] when it reads plainly."""
    found = []
    if len(text) > MAX_MESSAGE_CHARS:
        found.append(f"{len(text)} characters (split it: at most {MAX_MESSAGE_CHARS})")
    for sentence in sentences(text):
        words = WORD.findall(sentence.replace("'", " ").replace("’", " "))
        if len(words) > MAX_SENTENCE_WORDS:
            found.append(f"a sentence of {len(words)} words (at most {MAX_SENTENCE_WORDS}): {sentence[:50]!r}…")
        for word in words:
            if len(word) > MAX_WORD_LETTERS:
                found.append(f"a word of {len(word)} letters: {word!r}")
    if len(text) > LABEL_CHARS:
        folded = fold(text)
        for acronym, explanations in JARGON.items():
            if re.search(rf"\b{acronym}\b", text) and not any(e in folded for e in explanations):
                found.append(f"{acronym} without its meaning ({' / '.join(explanations)})")
    return found

"""Where a resident lives: communes and QPV of the territories, matched the way residents type them."""

from __future__ import annotations

import difflib
import re
import unicodedata
from dataclasses import dataclass
from functools import cache

from rapidfuzz import fuzz

from db.reference import read_reference

OTHER = "autre"  # lives outside the territories we cover
UNKNOWN = "inconnu"  # "je ne sais pas"
NONE_OF_THESE = "aucun"  # a quartier that is not one of the QPV listed


@dataclass(frozen=True)
class Commune:
    insee: str
    name: str
    territory_id: str


@dataclass(frozen=True)
class QuartierRef:
    id: str
    name: str
    territory_id: str
    communes: tuple[str, ...]
    aliases: tuple[str, ...]


def fold(text: str) -> str:
    decomposed = unicodedata.normalize("NFD", text.lower().replace("’", "'"))
    plain = "".join(c for c in decomposed if not unicodedata.combining(c))
    return " ".join(plain.replace("-", " ").replace("'", " ").split())


@cache
def communes() -> tuple[Commune, ...]:
    return tuple(Commune(c.insee, c.name, t.id) for t in read_reference() for c in t.communes)


@cache
def quartiers() -> tuple[QuartierRef, ...]:
    return tuple(
        QuartierRef(q.id, q.name, t.id, tuple(q.communes), tuple(q.aliases))
        for t in read_reference()
        for q in t.quartiers
        if q.verified
    )


def commune_by_name(name: str) -> Commune | None:
    return next((c for c in communes() if c.name == name), None)


def quartiers_of(commune_name: str) -> list[QuartierRef]:
    commune = commune_by_name(commune_name)
    return [q for q in quartiers() if commune and commune.insee in q.communes]


def _best(text: str, candidates: dict[str, str]) -> str | None:
    """The value whose key matches the folded text exactly, as a word group, or closely (typos)."""
    folded = fold(text)
    if not folded:
        return None
    if folded in candidates:
        return candidates[folded]
    for key, value in sorted(candidates.items(), key=lambda kv: -len(kv[0])):
        if len(key) >= 4 and f" {key} " in f" {folded} ":
            return value
    close = difflib.get_close_matches(folded, list(candidates), n=1, cutoff=0.8)
    if close:
        return candidates[close[0]]
    return _in_words(folded, candidates)


def _in_words(folded: str, candidates: dict[str, str]) -> str | None:
    """A key of 5 letters or more close to a group of the text's words, with a typo: "j habite aux grezilles"."""
    words = folded.split()
    best: tuple[float, str] | None = None
    for key, value in candidates.items():
        size = len(key.split())
        if len(key) < 5 or size > len(words):
            continue
        for start in range(len(words) - size + 1):
            score = fuzz.ratio(" ".join(words[start : start + size]), key)
            if score >= 85 and (best is None or score > best[0]):
                best = (score, value)
    return best[1] if best else None


_DONT_KNOW = {  # what residents type: words to match, not messages
    "je sais pas", "jsp", "sais pas", "je ne sais pas",  # i18n: ignore
    "aucune idee", "j sais pas", "chai pas", "inconnu",  # i18n: ignore
}
_NONE_OF_THESE = {
    "aucun", "un autre quartier", "autre quartier", "autre", "aucun de ces quartiers", "non",  # i18n: ignore
}


def resolve_commune(text: str) -> str | None:
    """A commune name, OTHER, UNKNOWN, or None when the answer cannot be understood."""
    folded = fold(text)
    if folded in _DONT_KNOW:
        return UNKNOWN
    if folded in {"autre", "autre commune", "aucune", "ailleurs", "autre ville"}:
        return OTHER
    names = {fold(c.name): c.name for c in communes()}
    names.update({fold(c.name).replace("saint", "st"): c.name for c in communes()})
    names.update({c.insee: c.name for c in communes()})
    return _best(text, names)


def resolve_quartier(text: str, commune_name: str | None) -> str | None:
    """A quartier id of that commune, NONE_OF_THESE, UNKNOWN, or None when not understood."""
    folded = fold(text)
    if folded in _DONT_KNOW:
        return UNKNOWN
    if folded in _NONE_OF_THESE:
        return NONE_OF_THESE
    pool = quartiers_of(commune_name) if commune_name else list(quartiers())
    keys: dict[str, str] = {}
    for quartier in pool:
        keys[fold(quartier.name)] = quartier.id
        keys[fold(quartier.id.replace("_", " "))] = quartier.id
        for alias in quartier.aliases:
            keys[fold(alias)] = quartier.id
    return _best(text, keys)


def resolve_place(text: str) -> tuple[str | None, str | None]:
    """(commune, quartier id) from an answer to "which commune": a commune, a QPV (its commune follows from the
    reference data), or both ("Grésilles à Dijon"). Either can be None; UNKNOWN/OTHER as in resolve_commune."""
    commune = resolve_commune(text)
    if commune in (UNKNOWN, OTHER):
        return commune, None
    quartier = resolve_quartier(text, commune) if commune else resolve_quartier(text, None)
    if quartier in (None, UNKNOWN, NONE_OF_THESE):
        return commune, None
    if commune is None:
        found = next((q for q in quartiers() if q.id == quartier), None)
        names = [c.name for c in communes() if found and c.insee in found.communes]
        commune = names[0] if names else None
    return commune, quartier


_VAGUE_KEYS = {"le mail", "les mails", "gare", "le bief", "centre"}  # i18n: ignore


def mentioned_place(text: str) -> tuple[str | None, str | None]:
    """(commune, quartier id) named plainly in a message about something else ("je suis aux Grésilles, j'ai droit
    à quoi ?"): whole names of 6 letters or more only, no typo tolerance and no common words, so that an ordinary
    sentence ("j'ai pas reçu le mail") names no place."""
    folded = " " + fold(re.sub(r"[^\w'’ -]+", " ", text)) + " "
    commune = next((c.name for c in communes() if f" {fold(c.name)} " in folded), None)
    for quartier in quartiers():
        keys = {fold(quartier.name), *(fold(alias) for alias in quartier.aliases)}
        if any(len(key) >= 6 and key not in _VAGUE_KEYS and f" {key} " in folded for key in keys):
            names = [c.name for c in communes() if c.insee in quartier.communes]
            if commune is None or commune in names:
                return commune or (names[0] if names else None), quartier.id
    return commune, None


def quartier_name(quartier_id: str | None) -> str | None:
    return next((q.name for q in quartiers() if q.id == quartier_id), None)

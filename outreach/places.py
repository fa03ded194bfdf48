"""Where a resident lives: communes and QPV of the territories, matched the way residents type them."""

from __future__ import annotations

import difflib
import unicodedata
from dataclasses import dataclass
from functools import cache

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
    return candidates[close[0]] if close else None


_DONT_KNOW = {"je sais pas", "jsp", "sais pas", "je ne sais pas", "aucune idee", "j sais pas", "chai pas", "inconnu"}


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
    if folded in {"aucun", "un autre quartier", "autre quartier", "autre", "aucun de ces quartiers", "non"}:
        return NONE_OF_THESE
    pool = quartiers_of(commune_name) if commune_name else list(quartiers())
    keys: dict[str, str] = {}
    for quartier in pool:
        keys[fold(quartier.name)] = quartier.id
        keys[fold(quartier.id.replace("_", " "))] = quartier.id
        for alias in quartier.aliases:
            keys[fold(alias)] = quartier.id
    return _best(text, keys)

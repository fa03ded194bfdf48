"""What a message already says about the household, so the screening does not ask it again.

"slt jsuis toute seule avec mes 2 enfants de 3 et 7 ans, je cherche du travail depuis 1 an jai droit a quoi"
gives {"s_couple": "non", "s_children": "3,7", "s_activity": "jobseeker", "s_jobseeker_since": "12"}, and
`summary` says it back in one line: "seule, 2 enfants (3 et 7 ans), en recherche d'emploi depuis 1 an".

Only what is said plainly is taken (a fact stated with a negation the rules cannot read is left to the
question). Values are the stored answers of outreach/screening/questions.py; `s_children_count` is a number
of children said without their ages (the question then asks only the ages).
"""

from __future__ import annotations

import re

from outreach.places import fold

_WORD_NUMBERS = {
    "un": 1,
    "une": 1,
    "deux": 2,
    "trois": 3,
    "quatre": 4,
    "cinq": 5,
    "six": 6,
    "sept": 7,
    "huit": 8,
    "neuf": 9,
    "dix": 10,
}
_NUM = r"(\d{1,2}|un|une|deux|trois|quatre|cinq|six|sept|huit|neuf|dix)"


def _any(*phrases: str) -> str:
    """A pattern matching any of the phrases as whole words."""
    return r"\b(" + "|".join(phrases) + r")\b"


def _number(word: str) -> int:
    return int(word) if word.isdigit() else _WORD_NUMBERS[word]


def _norm(text: str) -> str:
    """Folded, SMS forms spelled out ("jsuis" → "je suis", "jai" → "j ai", "2enfants" → "2 enfants")."""
    folded = fold(text.replace("€", " euros "))
    folded = re.sub(r"(\d)([a-z])", r"\1 \2", folded)
    replacements = {
        r"\bjsuis\b": "je suis",
        r"\bchui\b": "je suis",
        r"\bjsui\b": "je suis",
        r"\bjai\b": "j ai",
        r"\bg\b": "j ai",
        r"\bjcherche\b": "je cherche",
        r"\bjtravaille\b": "je travaille",
        r"\bmn\b": "mon",
        r"\bms\b": "mes",
        r"\bds\b": "dans",
        r"\bdp\b": "depuis",
        r"\bdepui\b": "depuis",
        r"\bavc\b": "avec",
        r"\benfant\b": "enfants",
        r"\bgosses?\b": "enfants",
        r"\bgamins?\b": "enfants",
        r"\bpetits\b": "enfants",
        r"\bmome?s\b": "enfants",
        r"\bfils\b": "enfants",
        r"\bfilles\b": "enfants",
        r"\bboulot\b": "travail",
        r"\btaf\b": "travail",
        r"\bjob\b": "travail",
        r"\bchommage\b": "chomage",
    }
    for pattern, replacement in replacements.items():
        folded = re.sub(pattern, replacement, folded)
    return folded


_SINGLE = _any(
    r"toute? seule?",
    r"seule?",
    r"celibataire",
    r"divorcee?",
    r"separee?",
    r"veuve?",
    r"maman solo",
    r"mere (isolee|seule|celibataire)",
    r"pere (isole|seul)",
    r"monoparentale?",
    r"mon ex",
    r"ma ex",
    r"mon mari (est )?(parti|decede)",
    r"sans (mari|conjoint)",
)
_COUPLE = _any(
    r"en couple",
    r"mariee?",
    r"pacsee?",
    r"mon mari",
    r"ma femme",
    r"mon epoux",
    r"mon epouse",
    r"mon conjoint",
    r"ma conjointe",
    r"mon compagnon",
    r"ma compagne",
    r"mon copain",
    r"ma copine",
    r"concubine?",
)


def _couple(text: str) -> str | None:
    if re.search(_SINGLE, text):
        return "non"
    if re.search(_COUPLE, text) and not re.search(r"\b(pas|plus) (de |d )?(mari|femme|conjoint)", text):
        return "oui"
    return None


def _children(text: str) -> tuple[str | None, int | None]:
    """(ages "3,7" or "" for none, count said without ages)."""
    if re.search(r"\b(pas|sans|aucun|zero) (d |de )?enfants\b", text):
        return "", None
    counted = re.search(_NUM + r" enfants\b", text)
    count = _number(counted.group(1)) if counted else None
    ages_part = re.search(
        r"enfants?\s*(?:\(|de|qui ont|ont|ages? de|:|,)?\s*"
        r"((?:\d{1,2}\s*(?:ans?|mois)?\s*(?:,|et|\+|/)?\s*)+)\s*(ans?|mois)\b",
        text,
    )
    ages: list[int] = []
    if ages_part:
        numbers = re.findall(r"\d{1,2}(?:\s*mois)?", ages_part.group(0))
        ages = [0 if "mois" in n else int(n) for n in numbers]
        if ages_part.group(2).startswith("mois") and len(ages) == 1:
            ages = [0]
    if ages and (count is None or count == len(ages)) and all(age <= 25 for age in ages):
        return ",".join(str(a) for a in ages), None
    baby = re.search(r"\b(un|mon|1) bebe\b", text)
    if count is None and baby:
        return "0", None
    return None, count


_JOBSEEKER = _any(
    r"je cherche (du |un )?(travail|emploi)",
    r"cherche (du |un )?(travail|emploi)",
    r"recherche d emploi",
    r"au chomage",
    r"chomeur",
    r"chomeuse",
    r"demandeu(r|se) d emploi",
    r"inscrite? (a|au|chez) (france travail|pole emploi)",
    r"sans emploi",
    r"pas de travail",
    r"je travaille (pas|plus)",
    r"j ai (perdu|plus) (mon|de) travail",
)
_EMPLOYED = _any(
    r"je travaille",
    r"je bosse",
    r"en cdi",
    r"en cdd",
    r"en interim",
    r"salariee?",
    r"j ai un (travail|emploi)",
    r"a temps partiel",
    r"a mi temps",
    r"aide a domicile",
    r"agent d entretien",
    r"caissiere",
    r"auxiliaire de vie",
)
_STUDENT = _any(
    r"etudiante?",
    r"je fais (des|mes) etudes",
    r"en formation",
    r"apprentie?",
    r"lyceenne?",
)
_RETIRED = _any(
    r"retraitee?",
    r"a la retraite",
)
_INACTIVE = _any(
    r"au foyer",
    r"en conge parental",
    r"en invalidite",
)


def _activity(text: str) -> str | None:
    if re.search(_JOBSEEKER, text):
        return "jobseeker"
    for value, pattern in (("student", _STUDENT), ("retired", _RETIRED), ("inactive", _INACTIVE)):
        if re.search(pattern, text):
            return value
    if re.search(_EMPLOYED, text) and not re.search(r"\bje (ne )?(travaille|bosse) (pas|plus)\b", text):
        return "employed"
    return None


def _since(text: str) -> str | None:
    found = re.search(r"\bdepuis " + _NUM + r" (ans?|annees?|mois|semaines?)\b", text)
    if found:
        amount, unit = _number(found.group(1)), found.group(2)
        months = amount * 12 if unit.startswith(("an", "annee")) else (1 if unit.startswith("semaine") else amount)
        return str(months) if 0 <= months <= 600 else None
    if re.search(r"\bdepuis (longtemps|des annees)\b", text):
        return "24"
    if re.search(r"\bdepuis (peu|quelques (jours|semaines))\b", text):
        return "1"
    return None


_HOUSING = (
    ("homeless", r"\b(a la rue|sans logement|sans domicile|sdf|dans ma voiture|je dors dehors|au 115)\b"),
    (
        "hosted",
        r"\b(hebergee?|chez (mes parents|ma mere|mon pere|des amis|un ami|une amie|ma soeur|mon frere|ma famille"
        r"|quelqu un))\b",
    ),
    ("social_tenant", r"\b(hlm|logement social|bailleur social)\b"),
    ("owner", r"\b(proprietaire)\b"),
    ("tenant", r"\b(locataire|je loue|mon proprio|ma proprio|loyer)\b"),
)


def _housing(text: str) -> str | None:
    for value, pattern in _HOUSING:
        if re.search(pattern, text):
            return value
    return None


def _amount(text: str, pattern: str) -> str | None:
    found = re.search(pattern, text)
    if not found:
        return None
    value = int(found.group("n").replace(" ", ""))
    return str(value) if 0 <= value <= 20_000 else None


_EUROS = r"(?P<n>\d{1,2} ?\d{3}|\d{2,4})\s*(?:euros?|e\b|balles)?"


def _rent(text: str) -> str | None:
    """ "loyer de 450", "450 € de loyer", or what a tenant pays ("en hlm on paye 610"; kept only for a tenant)."""
    return (
        _amount(text, r"\bloyer (?:de |d |est de |a |c est )?" + _EUROS)
        or _amount(text, _EUROS + r"\s*(?:de|d) loyer\b")
        or _amount(text, r"\b(?:je|on|nous) (?:paye|payons|paie|paies)\s+(?:environ |a peu pres )?" + _EUROS)
    )


def _salary(text: str) -> str | None:
    return _amount(
        text,
        r"\b(?:je gagne|salaire (?:de |d |net de )?|je touche)\s*(?:environ |a peu pres |autour de |dans les )?"
        + _EUROS
        + r"(?! (?:de|d) (?:chomage|are|france travail|pole emploi|retraite|pension))",
    )


def _other_income(text: str) -> str | None:
    return _amount(
        text,
        r"\b(?:je touche|j ai|je percois|je recois)\s+"
        + _EUROS
        + r"\s*(?:de|d)\s+(?:chomage|are|france travail|pole emploi|retraite|pension)\b",
    )


def _age(text: str) -> str | None:
    found = re.search(r"\b(?:j ai|je suis agee? de|agee? de|moi) (\d{2}) ?ans\b", text)
    if found and 16 <= int(found.group(1)) <= 110:
        return found.group(1)
    return None


def facts(text: str) -> dict[str, str]:
    """The screening answers a message states plainly: slot → stored value (see the module doc)."""
    norm = _norm(text)
    found: dict[str, str | None] = {
        "s_age": _age(norm),
        "s_couple": _couple(norm),
        "s_housing": _housing(norm),
        "s_rent": _rent(norm),
        "s_activity": _activity(norm),
    }
    children, count = _children(norm)
    found["s_children"] = children
    if count:
        found["s_children_count"] = str(count)
    if found["s_activity"] == "jobseeker":
        found["s_jobseeker_since"] = _since(norm)
        found["s_other_income"] = _other_income(norm)
    if found["s_activity"] == "employed":
        found["s_salary"] = _salary(norm)
    if found["s_activity"] == "retired":
        found["s_other_income"] = _amount(norm, r"\b(?:retraite|pension) (?:de |d )?" + _EUROS)
    if found["s_housing"] not in ("tenant", "social_tenant"):
        found["s_rent"] = None
    elif found["s_rent"] is not None and found["s_housing"] is None:
        found["s_housing"] = "tenant"
    return {slot: value for slot, value in found.items() if value is not None}


_ACTIVITY_WORDS = {
    "jobseeker": "en recherche d'emploi",
    "employed": "vous travaillez",
    "student": "en études",
    "retired": "à la retraite",
    "inactive": "sans activité",
}
_HOUSING_WORDS = {
    "homeless": "sans logement",
    "hosted": "hébergé(e)",
    "social_tenant": "en logement social",
    "owner": "propriétaire",
    "tenant": "locataire",
}


def _duration(months: int) -> str:
    if months >= 12 and months % 12 == 0:
        years = months // 12
        return f"{years} an" if years == 1 else f"{years} ans"
    return f"{months} mois"


def summary(found: dict[str, str], text: str = "") -> str:
    """ "seule, 2 enfants (3 et 7 ans), en recherche d'emploi depuis 1 an": the facts said back, in the resident's
    gender when the message shows it."""
    norm = _norm(text)
    parts: list[str] = []
    if "s_age" in found:
        parts.append(f"{found['s_age']} ans")
    if found.get("s_couple") == "non":
        parts.append(
            "seule" if re.search(r"\bseule\b", norm) else "seul" if re.search(r"\bseul\b", norm) else "seul(e)"
        )
    elif found.get("s_couple") == "oui":
        parts.append("en couple")
    if "s_children" in found:
        ages = [a for a in found["s_children"].split(",") if a]
        if not ages:
            parts.append("pas d'enfant")
        elif ages == ["0"]:
            parts.append("un bébé")
        else:
            ages = ["moins d'1" if age == "0" else age for age in ages]
            listed = " et ".join([", ".join(ages[:-1]), ages[-1]] if len(ages) > 1 else ages)
            noun = "enfant" if len(ages) == 1 else "enfants"
            parts.append(f"{len(ages)} {noun} ({listed} ans)")
    elif "s_children_count" in found:
        count = int(found["s_children_count"])
        parts.append(f"{count} enfant" + ("s" if count > 1 else ""))
    if "s_housing" in found:
        housing = _HOUSING_WORDS[found["s_housing"]]
        if "s_rent" in found:
            housing += f" ({found['s_rent']} € de loyer)"
        parts.append(housing)
    if "s_activity" in found:
        activity = _ACTIVITY_WORDS[found["s_activity"]]
        if "s_jobseeker_since" in found:
            activity += f" depuis {_duration(int(found['s_jobseeker_since']))}"
        if "s_salary" in found:
            activity += f" ({found['s_salary']} € par mois)"
        parts.append(activity)
    if "s_other_income" in found:
        what = "de retraite" if found.get("s_activity") == "retired" else "de chômage"
        parts.append(f"{found['s_other_income']} € {what} par mois")
    return ", ".join(parts)

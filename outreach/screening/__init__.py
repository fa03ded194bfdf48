"""Screening: the national rights (OpenFisca-France) and local programmes (data·inclusion catalogue)
a resident can probably claim, with amounts as estimates, reasons and next steps.

    screen_many(profiles, today) -> list[ScreeningResult]   # vectorised: one OpenFisca run per batch
    screen(profile, today) -> ScreeningResult
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence

from outreach.screening.catalogue import local_rights
from outreach.screening.model import Profile, Right, ScreeningResult
from outreach.screening.national import national_rights

# A case that the rules send to a person rather than leave to the bot alone.
COMPLEX_IF_MISSING = 4  # this many answers unknown: the estimate says too little


def is_complex(profile: Profile, result: ScreeningResult) -> bool:
    """Cases an adulte-relais should look at: no home, many unknown answers, disability with no AAH
    decision yet, or nothing at all found for someone with no income."""
    if profile.housing == "homeless":
        return True
    if len(result.missing) >= COMPLEX_IF_MISSING:
        return True
    if (profile.disability_rate or 0) >= 50 and "aah" not in profile.receives:
        return True
    income = profile.income
    no_income = income is not None and not any(
        (income.salary, income.unemployment, income.pension, income.other, income.partner_salary)
    )
    return no_income and not any(r.kind == "national" for r in result.rights)


def _merge(national: Sequence[Right], local: Sequence[Right]) -> list[Right]:
    return [*national, *local]


def screen_many(profiles: Sequence[Profile], today: dt.date) -> list[ScreeningResult]:
    results = []
    for profile, national in zip(profiles, national_rights(profiles, today), strict=True):
        local = local_rights(profile, today)
        missing = list(dict.fromkeys([*national.missing, *local.missing]))
        rights = _merge(national.rights, local.rights)
        results.append(ScreeningResult(rights=rights, missing=missing, notice=local.notice))
    return results


def screen(profile: Profile, today: dt.date) -> ScreeningResult:
    return screen_many([profile], today)[0]


__all__ = ["Profile", "Right", "ScreeningResult", "is_complex", "screen", "screen_many"]

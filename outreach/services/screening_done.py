"""Use case: a screening form is complete. Read the answers, compute the rights (OpenFisca, CPU-bound:
the caller runs `compute` in a worker thread), then store in ONE transaction the resident's place, the
screening, its rights and their statuses, and the follow-up rows of the outbox; say the results.

    profile = screening_done.read_answers(answers)           # ValueError: answers that make no profile
    result, complex_case = screening_done.compute(profile, today)
    outcome = screening_done.complete(uow, clock, resident_id=…, answers=…, profile=…, result=…,
                                      complex_case=…, tz=…)  # one commit
    outcome.replies                                          # channel-neutral, what the resident reads
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any
from zoneinfo import ZoneInfo

from pydantic import ValidationError

from db.engine import UnitOfWork
from outreach import places, screening
from outreach.clock import Clock
from outreach.replies import Reply
from outreach.screening import present, questions
from outreach.screening.model import Profile, ScreeningResult
from outreach.services import followups, residents, screenings

NO_PLACE = (places.OTHER, questions.UNKNOWN)


@dataclass(frozen=True)
class Completed:
    screening_id: int
    replies: list[Reply]
    complex_case: bool  # the rules say a person should look at it: the caller opens a case


def read_answers(answers: Mapping[str, Any]) -> Profile:
    """The profile the form's answers describe; ValueError when they cannot make one."""
    try:
        return Profile.model_validate(questions.profile_data(dict(answers)))
    except (ValidationError, TypeError) as exc:
        raise ValueError("screening answers could not be read") from exc


def compute(profile: Profile, today: dt.date) -> tuple[ScreeningResult, bool]:
    """OpenFisca and the catalogue (slow: call it in a worker thread); whether the case is complex."""
    result = screening.screen(profile, today)
    return result, screening.is_complex(profile, result)


def complete(
    uow: UnitOfWork,
    clock: Clock,
    *,
    resident_id: int,
    answers: Mapping[str, Any],
    profile: Profile,
    result: ScreeningResult,
    complex_case: bool,
    tz: ZoneInfo,
) -> Completed:
    """Store everything of a finished screening in one transaction (nothing is kept if any part fails)."""
    commune = answers.get("commune")
    if commune and commune not in NO_PLACE:
        residents.place(uow, resident_id, commune_name=str(commune), quartier_id=answers.get("quartier"))
    screening_id = screenings.add(uow, clock, resident_id, profile, result, complex_case=complex_case)
    followups.add_followups(uow, clock, screening_id, tz=tz)
    uow.commit()
    stored = screenings.latest(uow, resident_id)
    shown = stored[1] if stored else []
    replies = present.results(screening_id, shown, result, complex_case=complex_case)
    if complex_case:  # the last reply offers a person: the case opens by itself instead
        replies = replies[:-1]
    return Completed(screening_id=screening_id, replies=replies, complex_case=complex_case)

"""The screening's values: the resident's profile (documented JSON schema) and the rights found.

Shared by the national computation (OpenFisca-France, outreach/screening/national.py) and the local
catalogue (data·inclusion services, outreach/screening/catalogue.py).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

from db.models import RightStatus
from outreach.screening.rights import NATIONAL_RIGHT_IDS

# The national right ids (outreach/screening/rights.py, the registry): a Literal built from it.
RightId = Literal[NATIONAL_RIGHT_IDS]  # type: ignore[valid-type]
School = Literal["college", "lycee", "other"]  # "other": neither collège nor lycée (primary school, apprentice, work…)
Housing = Literal["tenant", "social_tenant", "hosted", "owner", "homeless"]
Activity = Literal["employed", "jobseeker", "student", "inactive", "retired"]


class Income(BaseModel):
    """Net monthly amounts in euros, assumed stable over the 12 previous months and the current one."""

    model_config = ConfigDict(extra="forbid")

    salary: float | None = Field(default=None, ge=0, le=100_000)
    unemployment: float | None = Field(default=None, ge=0, le=100_000)
    pension: float | None = Field(default=None, ge=0, le=100_000)
    other: float | None = Field(default=None, ge=0, le=100_000)
    partner_salary: float | None = Field(default=None, ge=0, le=100_000)


class Profile(BaseModel):
    """A resident's answers to the screening. Every field is optional: what is missing makes the
    rights that depend on it uncertain ("à vérifier"), it never makes them wrong."""

    model_config = ConfigDict(extra="forbid")

    age: int | None = Field(default=None, ge=0, le=120, description="Age in years")
    date_of_birth: dt.date | None = None
    commune_insee: str | None = Field(default=None, pattern=r"^(\d{5}|2[AB]\d{3})$")
    quartier: str | None = Field(default=None, max_length=64, description="QPV id (db/reference/territories.yml)")
    couple: bool | None = None
    partner_age: int | None = Field(default=None, ge=14, le=120)
    children_ages: list[int] | None = Field(default=None, max_length=12)
    housing: Housing | None = None
    rent: float | None = Field(default=None, ge=0, le=10_000, description="Monthly rent in euros")
    income: Income | None = None
    activity: Activity | None = None
    jobseeker_since_months: int | None = Field(default=None, ge=0, le=600)
    disability_rate: int | None = Field(default=None, ge=0, le=100)
    rqth: bool | None = None
    children_school: list[School] | None = Field(
        default=None, max_length=12, description="Each child's school (same order as children_ages)"
    )
    child_disability: bool | None = Field(default=None, description="A child of the household has a disability")
    residence_ok: bool | None = Field(
        default=None, description="EU citizen, or 5 years of legal residence in France"
    )
    receives: list[RightId] = Field(default_factory=list, description="Rights already paid")

    @model_validator(mode="after")
    def _children_ages_valid(self) -> Profile:
        for age in self.children_ages or []:
            if not 0 <= age <= 25:
                raise ValueError("children_ages: each age must be between 0 and 25")
        if self.children_school is not None and len(self.children_school) != len(self.children_ages or []):
            raise ValueError("children_school: one school per child of children_ages, in the same order")
        return self

    def age_on(self, day: dt.date) -> int | None:
        """Age in whole years on `day` (from the date of birth when given)."""
        if self.date_of_birth is not None:
            born = self.date_of_birth
            return day.year - born.year - ((day.month, day.day) < (born.month, born.day))
        return self.age


Kind = Literal["national", "local"]


class Right(BaseModel):
    """One right or programme found for a resident (the `outreach screen` output, per right)."""

    id: str
    label: str
    kind: Kind
    # euros per month; for a right paid once a year (rights.py `per`), its yearly amount / 12
    monthly_amount: float | None = None
    yearly_amount: float | None = None  # a right paid once a year: its yearly amount in euros
    why: str
    next_step: str
    uncertain: bool = False  # "à vérifier": depends on an answer the resident did not give
    # local programmes only (data·inclusion)
    service_id: str | None = None
    reseaux_porteurs: list[str] | None = None
    thematiques: list[str] | None = None


class ScreeningResult(BaseModel):
    rights: list[Right]
    missing: list[str] = Field(default_factory=list)
    notice: str | None = None  # e.g. "local help is not covered outside Dijon and Troyes"


@dataclass(frozen=True)
class StoredRight:
    """A right of a stored screening, as the resident was shown it, with its claim status."""

    screening_id: int
    right_id: str
    kind: str
    label: str
    monthly_amount: float | None
    uncertain: bool
    why: str
    next_step: str
    status: RightStatus

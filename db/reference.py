"""Reference data (territories, communes, QPV) loaded from db/reference/*.yml, idempotently."""

from __future__ import annotations

from pathlib import Path

import yaml
from pydantic import BaseModel, Field

from db.engine import UnitOfWork
from db.models import Commune, Quartier, Territory

REFERENCE_DIR = Path(__file__).resolve().parent / "reference"


class _Commune(BaseModel):
    insee: str = Field(pattern=r"^\d[0-9AB]\d{3}$")
    name: str


class _Quartier(BaseModel):
    id: str = Field(pattern=r"^[a-z0-9_]+$")
    name: str
    code_qpv: str | None = None
    communes: list[str] = Field(min_length=1)
    aliases: list[str] = []
    verified: bool = False


class _Territory(BaseModel):
    id: str = Field(pattern=r"^[a-z0-9_]+$")
    name: str
    communes: list[_Commune]
    quartiers: list[_Quartier]


class _Reference(BaseModel):
    territories: list[_Territory]


def read_reference(path: Path = REFERENCE_DIR / "territories.yml") -> list[_Territory]:
    data = _Reference.model_validate(yaml.safe_load(path.read_text(encoding="utf-8")))
    for territory in data.territories:
        known = {c.insee for c in territory.communes}
        for quartier in territory.quartiers:
            unknown = set(quartier.communes) - known
            if unknown:
                raise ValueError(f"quartier {quartier.id}: communes {sorted(unknown)} not in {territory.id}")
    return data.territories


def load_reference(uow: UnitOfWork) -> int:
    """Upsert territories, communes and the verified QPV; returns the number of quartiers."""
    count = 0
    session = uow.session
    for territory in read_reference():
        session.merge(Territory(id=territory.id, name=territory.name))
        for commune in territory.communes:
            session.merge(Commune(insee=commune.insee, name=commune.name, territory_id=territory.id))
        session.flush()
        for quartier in territory.quartiers:
            if not quartier.verified:
                continue  # candidates that public data did not confirm as QPV
            session.merge(
                Quartier(
                    id=quartier.id,
                    territory_id=territory.id,
                    name=quartier.name,
                    commune_insee=quartier.communes[0],
                    code_qpv=quartier.code_qpv,
                    aliases=quartier.aliases,
                )
            )
            count += 1
    uow.commit()
    return count

"""Territories and QPV reference data load idempotently with valid INSEE codes."""

from __future__ import annotations

from sqlalchemy.engine import Engine
from sqlmodel import select

from db.engine import UnitOfWork
from db.models import Commune, Quartier, Territory
from db.reference import load_reference, read_reference


def test_reference_covers_dijon_and_troyes_communes() -> None:
    territories = {t.id: t for t in read_reference()}
    assert {c.insee for c in territories["dijon"].communes} == {"21231", "21166", "21355", "21515", "21617"}
    assert {c.insee for c in territories["troyes"].communes} == {"10387", "10081", "10265", "10297", "10333"}


def test_loading_twice_changes_nothing(engine: Engine) -> None:
    with UnitOfWork(engine) as uow:
        count = load_reference(uow)
    with UnitOfWork(engine) as uow:
        assert load_reference(uow) == count
        assert len(uow.session.exec(select(Quartier)).all()) == count
        assert {t.id for t in uow.session.exec(select(Territory)).all()} == {"dijon", "troyes"}
        grésilles = uow.session.get(Quartier, "gresilles")
        assert grésilles is not None and grésilles.commune_insee == "21231"
        assert uow.session.get(Commune, "21166").name == "Chenôve"

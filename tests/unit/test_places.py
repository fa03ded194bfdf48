"""Communes and QPV typed the way residents type them."""

from __future__ import annotations

import pytest

from outreach.places import NONE_OF_THESE, OTHER, UNKNOWN, quartiers_of, resolve_commune, resolve_quartier


@pytest.mark.parametrize(
    ("typed", "commune"),
    [("Chenôve", "Chenôve"), ("chenove", "Chenôve"), ("CHENOVE", "Chenôve"), ("chenov", "Chenôve"),
     ("j'habite a talant", "Talant"), ("la chapelle st luc", "La Chapelle-Saint-Luc"), ("troye", "Troyes"),
     ("21231", "Dijon"), ("st andre les vergers", "Saint-André-les-Vergers"), ("jsp", UNKNOWN), ("autre", OTHER)],
)
def test_communes_are_recognised(typed: str, commune: str) -> None:
    assert resolve_commune(typed) == commune


def test_an_unknown_place_is_not_guessed() -> None:
    assert resolve_commune("Marseille") is None


@pytest.mark.parametrize(
    ("typed", "commune", "quartier"),
    [("gresilles", "Dijon", "gresilles"), ("les grésilles", "Dijon", "gresilles"),
     ("fontaine d'ouche", "Dijon", "fontaine_d_ouche"), ("le mail", "Chenôve", "le_mail"),
     ("aucun", "Dijon", NONE_OF_THESE), ("je sais pas", "Talant", UNKNOWN)],
)
def test_quartiers_are_recognised_within_their_commune(typed: str, commune: str, quartier: str) -> None:
    assert resolve_quartier(typed, commune) == quartier


def test_a_quartier_of_another_commune_is_not_accepted() -> None:
    assert resolve_quartier("le mail", "Troyes") is None


def test_every_commune_lists_its_qpv() -> None:
    assert [q.id for q in quartiers_of("Chenôve")] == ["le_mail"]
    assert {"gresilles", "fontaine_d_ouche"} <= {q.id for q in quartiers_of("Dijon")}

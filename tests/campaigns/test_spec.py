"""What a coordinator writes: the campaign's fields checked with French messages, the YAML file of the CLI,
the text rendered per resident ({prenom} {quartier} {droit}) and the builder's preview."""

from __future__ import annotations

import datetime as dt

import pytest
from pydantic import ValidationError
from sqlalchemy.engine import Engine

from db.engine import UnitOfWork
from db.models import Resident, RightStatus
from outreach import campaigns
from outreach.campaigns import Audience, CampaignError, CampaignSpec
from outreach.clock import FrozenClock
from tests.campaigns.conftest import resident, screening, spec


def error_of(**overrides: object) -> str:
    with pytest.raises(ValidationError) as caught:
        spec(**overrides)
    return campaigns.explain(caught.value)


class TestSpec:
    def test_only_the_three_placeholders_are_allowed(self) -> None:
        assert spec(text="{prenom} {quartier} {droit} : venez !").text == "{prenom} {quartier} {droit} : venez !"
        assert "champ inconnu {nom}" in error_of(text="Bonjour {nom}")
        assert "accolade seule" in error_of(text="Bonjour {prenom")
        assert "contenir du texte" in error_of(text="{prenom}")

    def test_buttons_are_at_most_three_of_the_fixed_set(self) -> None:
        assert "bouton inconnu « web »" in error_of(buttons=["web"])
        assert "boutons : 3 au plus" in error_of(buttons=["screening", "book", "talk", "stop"])
        assert "deux fois" in error_of(buttons=["stop", "stop"])

    def test_lengths_rate_and_schedule(self) -> None:
        assert "nom : 120 caractères au plus" in error_of(name="x" * 121)
        assert "texte : 1000 caractères au plus" in error_of(text="x" * 1001)
        assert "débit : doit être au plus 30" in error_of(rate=31)
        assert "débit : doit être plus grand que 0" in error_of(rate=0)
        assert "date et l'heure" in error_of(schedule={"kind": "at"})
        assert "fuseau horaire" in error_of(schedule={"kind": "weekly", "at": "2026-12-01T10:00"})
        assert "champ inconnu" in error_of(colour="rouge")

    def test_audience_is_checked(self) -> None:
        assert "âge minimum est plus grand" in error_of(audience={"territory": "dijon", "age_min": 30, "age_max": 20})
        assert "jamais fait le point" in error_of(audience={"territory": "dijon", "never_screened": True, "age_min": 1})
        assert "territoire de la campagne" in error_of(audience={"territory": "troyes"})
        assert spec(audience={}).audience.territory == "dijon"  # the campaign's territory by default

    def test_from_yaml_reads_the_cli_file_with_paris_time(self) -> None:
        loaded = CampaignSpec.from_yaml(
            "name: Prime d'activité\n"
            "territory: dijon\n"
            "audience:\n  quartiers: [gresilles]\n  age_min: 18\n"
            "text: Bonjour {prenom}\n"
            "buttons: [screening, stop]\n"
            "schedule:\n  kind: at\n  at: 2026-12-01 10:00\n"
        )
        assert loaded.audience == Audience(territory="dijon", quartiers=["gresilles"], age_min=18)
        assert loaded.schedule.at == dt.datetime(2026, 12, 1, 9, 0, tzinfo=dt.UTC)  # 10:00 in Paris
        assert CampaignSpec.from_yaml("name: x\nterritory: troyes\ntext: Bonjour\n").audience.territory == "troyes"

    @pytest.mark.parametrize(
        ("text", "message"),
        [
            ("name: [unclosed", "YAML illisible"),
            ("- a list", "doit décrire une campagne"),
            ("name: x\nterritory: dijon\n", "texte : obligatoire"),
            ("name: x\nterritory: dijon\ntext: Salut\nrate: vite\n", "débit : un nombre est attendu"),
        ],
    )
    def test_a_bad_yaml_file_gives_a_french_message(self, text: str, message: str) -> None:
        with pytest.raises(CampaignError, match=message):
            CampaignSpec.from_yaml(text)


class TestRender:
    @pytest.mark.parametrize(
        ("template", "first_name", "expected"),
        [
            ("Bonjour {prenom}, venez !", "Amina", "Bonjour Amina, venez !"),
            ("Bonjour {prenom}, venez !", "", "Bonjour, venez !"),
            ("Bonjour {prenom} !", "", "Bonjour !"),
            ("{prenom}, une permanence jeudi.", "", "Une permanence jeudi."),
            ("Salut {prenom}\n{prenom}, lisez ceci.", "", "Salut\nLisez ceci."),
        ],
    )
    def test_an_empty_first_name_leaves_clean_text(self, template: str, first_name: str, expected: str) -> None:
        assert campaigns.fill(template, {"prenom": first_name, "quartier": "", "droit": ""}) == expected

    def test_quartier_and_a_right_to_claim(self, engine: Engine, clock: FrozenClock) -> None:
        amina = resident(engine, clock, first_name="Amina", quartier="fontaine_d_ouche")
        screening(engine, clock, amina, rights={"rsa": RightStatus.to_claim, "css": RightStatus.detected})
        text = "Bonjour {prenom} de {quartier}, et {droit} ?"
        with UnitOfWork(engine) as uow:
            row = uow.session.get(Resident, amina)
            assert campaigns.render_text(uow.session, text, row) == "Bonjour Amina de Fontaine d'Ouche, et RSA ?"
            preferred = campaigns.render_text(uow.session, text, row, prefer_right="css")
            assert preferred.endswith("et Complémentaire santé solidaire ?")
            assert campaigns.render_text(uow.session, text, None) == "Bonjour de votre quartier, et vos droits ?"

    def test_preview_on_a_sample_or_a_neutral_example(self, engine: Engine, clock: FrozenClock) -> None:
        wanted = spec(text="Bonjour {prenom}, RDV à {quartier}.", buttons=["book", "talk"])
        with UnitOfWork(engine) as uow:
            empty = campaigns.preview(uow.session, wanted, clock.now())
        assert empty == {
            "text": "Bonjour, RDV à votre quartier.",
            "buttons": ["Prendre rendez-vous", "Parler à quelqu'un"],
            "audience": 0,
        }
        resident(engine, clock, first_name="Karim")
        resident(engine, clock, first_name="Léa")
        with UnitOfWork(engine) as uow:
            shown = campaigns.preview(uow.session, wanted, clock.now())
        assert shown["text"] == "Bonjour Karim, RDV à Grésilles." and shown["audience"] == 2

    def test_callback_data_is_short_and_parsed_in_one_place(self) -> None:
        data = campaigns.callback_data(123_456_789, "screening")
        assert data == "k:123456789:screening" and len(data.encode()) <= 64
        assert campaigns.parse_callback(data) == (123_456_789, "screening")
        for forged in ("k:1:web", "k:x:stop", "k:1", "b:1:stop", "k:1:stop:extra"):
            assert campaigns.parse_callback(forged) is None

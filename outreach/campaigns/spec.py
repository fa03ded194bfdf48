"""A campaign as written: the spec (YAML of the CLI, the console's form), its validation with French
messages, the text's placeholders and the buttons (their callback_data)."""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Sequence
from typing import Any, Literal
from zoneinfo import ZoneInfo

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from db.models import Campaign
from outreach.config import default_tz
from outreach.i18n import N_, TRANSLATED, _, staff
from outreach.outbox import MAX_RATE

BUTTONS: dict[str, str] = {  # the standard buttons, translated where shown: _(BUTTONS[key])
    "screening": N_("Faire le point sur mes droits"),
    "book": N_("Prendre rendez-vous"),
    "talk": N_("Parler à quelqu'un"),
    "stop": N_("Ne plus recevoir de messages"),
}
PLACEHOLDERS = ("prenom", "quartier", "droit")
# Words for an unknown value, inside the coordinator's (French) text: they stay French with it for now (a text
# per language would translate them with it).
NEUTRAL = {"prenom": "", "quartier": N_("votre quartier"), "droit": N_("vos droits")}

_PLACEHOLDER = re.compile(r"\{([^{}]*)\}")


class CampaignError(ValueError):
    """A refused campaign operation; the message is French and shown as is to the coordinator."""


class Audience(BaseModel):
    """Who receives it. Always excluded (audience_query): no consent, opted out, unreachable, staff."""

    model_config = ConfigDict(extra="forbid")

    territory: str = Field(min_length=1, max_length=32)
    quartiers: list[str] = Field(default_factory=list)  # QPV ids; empty: the whole territory
    age_min: int | None = Field(default=None, ge=0, le=120)
    age_max: int | None = Field(default=None, ge=0, le=120)
    right_not_claimed: str | None = Field(default=None, min_length=1, max_length=64)  # a right id, or "any"
    never_screened: bool = False
    inactive_days: int | None = Field(default=None, ge=1, le=3650)
    booked: bool | None = None

    @model_validator(mode="after")
    def _coherent(self) -> Audience:
        if self.age_min is not None and self.age_max is not None and self.age_min > self.age_max:
            raise ValueError("l'âge minimum est plus grand que l'âge maximum")
        if self.never_screened and (
            self.age_min is not None or self.age_max is not None or self.right_not_claimed is not None
        ):
            raise ValueError(
                "« jamais fait le point » ne va pas avec un âge ou un droit non demandé "
                "(ils viennent du point sur les droits)"
            )
        self.quartiers = sorted(set(self.quartiers))
        return self


class Schedule(BaseModel):
    model_config = ConfigDict(extra="forbid")

    kind: Literal["now", "at", "weekly"] = "now"
    at: dt.datetime | None = None  # timezone-aware; the date (at) or the first run and weekly time (weekly)

    @model_validator(mode="after")
    def _needs_a_time(self) -> Schedule:
        if self.kind in ("at", "weekly"):
            if self.at is None:
                raise ValueError("indiquez la date et l'heure d'envoi")
            if self.at.tzinfo is None or self.at.utcoffset() is None:
                raise ValueError("indiquez le fuseau horaire de la date, par exemple 2026-12-01T10:00+01:00")
        return self


class CampaignSpec(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: str = Field(min_length=1, max_length=120)
    territory: str = Field(min_length=1, max_length=32)
    audience: Audience
    text: str = Field(min_length=1, max_length=1000)
    # the text in other languages of the catalogue, optional ({"ar": "…"}): residents who speak one read it
    translations: dict[str, str] = Field(default_factory=dict)
    buttons: list[str] = Field(default_factory=list, max_length=3)
    schedule: Schedule = Field(default_factory=Schedule)
    rate: float = Field(default=25.0, gt=0, le=MAX_RATE)

    @field_validator("name")
    @classmethod
    def _name(cls, value: str) -> str:
        value = " ".join(value.split())
        if not value:
            raise ValueError("donnez un nom à la campagne")
        return value

    @field_validator("text")
    @classmethod
    def _text(cls, value: str) -> str:
        value = value.strip()
        unknown = [name for name in _PLACEHOLDER.findall(value) if name not in PLACEHOLDERS]
        if unknown:
            raise ValueError(
                f"champ inconnu {{{unknown[0]}}} : seuls {{prenom}}, {{quartier}} et {{droit}} sont possibles"
            )
        if "{" in _PLACEHOLDER.sub("", value) or "}" in _PLACEHOLDER.sub("", value):
            raise ValueError("accolade seule : écrivez les champs ainsi {prenom}, {quartier}, {droit}")
        if not any(ch.isalnum() for ch in _PLACEHOLDER.sub("", value)):
            raise ValueError("le message doit contenir du texte, pas seulement des champs")
        return value

    @field_validator("translations")
    @classmethod
    def _translations(cls, value: dict[str, str]) -> dict[str, str]:
        kept = {}
        for code, text in value.items():
            if code not in TRANSLATED:
                raise ValueError(f"langue inconnue « {code} » : choisissez parmi {', '.join(TRANSLATED)}")
            if str(text or "").strip():
                if len(str(text)) > 1000:
                    raise ValueError(f"la traduction {code} dépasse 1000 caractères")
                kept[code] = cls._text(str(text))
        return kept

    @field_validator("buttons")
    @classmethod
    def _buttons(cls, value: list[str]) -> list[str]:
        for key in value:
            if key not in BUTTONS:
                raise ValueError(f"bouton inconnu « {key} » : choisissez parmi {', '.join(BUTTONS)}")
        if len(set(value)) != len(value):
            raise ValueError("le même bouton est mis deux fois")
        return value

    @model_validator(mode="before")
    @classmethod
    def _audience_territory(cls, data: Any) -> Any:
        if isinstance(data, dict) and data.get("territory"):
            audience = data.get("audience")
            if audience is None:
                data = {**data, "audience": {"territory": data["territory"]}}
            elif isinstance(audience, dict) and not audience.get("territory"):
                data = {**data, "audience": {**audience, "territory": data["territory"]}}
        return data

    @model_validator(mode="after")
    def _same_territory(self) -> CampaignSpec:
        if self.audience.territory != self.territory:
            raise ValueError("le public doit être dans le territoire de la campagne")
        return self

    @classmethod
    def from_yaml(cls, text: str, *, tz: ZoneInfo | None = None) -> CampaignSpec:
        """The CLI's campaign file: the same fields (audience.territory defaults to territory); a date
        without a time zone is read in `tz` (give settings.tz; default: the settings' default zone).
        Raises CampaignError (French) on invalid YAML or fields."""
        zone = tz or default_tz()
        try:
            data = yaml.safe_load(text)
        except yaml.YAMLError as exc:
            mark = getattr(exc, "problem_mark", None)
            where = f" (ligne {mark.line + 1})" if mark is not None else ""
            raise CampaignError(f"fichier YAML illisible{where}") from None
        if not isinstance(data, dict):
            raise CampaignError("le fichier doit décrire une campagne (name, territory, audience, text…)")
        schedule = data.get("schedule")
        if isinstance(schedule, str):
            data["schedule"] = schedule = {"kind": schedule}
        if isinstance(schedule, dict):
            at = schedule.get("at")
            if isinstance(at, str):
                try:
                    at = dt.datetime.fromisoformat(at)
                except ValueError:
                    raise CampaignError("schedule.at : date illisible, écrivez par exemple 2026-12-01T10:00") from None
            if isinstance(at, dt.datetime) and at.tzinfo is None:
                at = at.replace(tzinfo=zone)
            if at is not None:
                data["schedule"] = {**schedule, "at": at}
        try:
            return cls.model_validate(data)
        except ValidationError as exc:
            raise CampaignError(explain(exc)) from None


def spec_of(campaign: Campaign) -> CampaignSpec:
    """The campaign as written (for the console's edit and duplicate)."""
    return CampaignSpec(
        name=campaign.name,
        territory=campaign.territory_id,
        audience=Audience.model_validate(campaign.audience),
        text=campaign.text,
        translations=dict(campaign.translations or {}),
        buttons=list(campaign.buttons),
        schedule=Schedule(kind=str(campaign.schedule), at=campaign.starts_at),  # type: ignore[arg-type]
        rate=campaign.rate,
    )


_FIELD_NAMES = {  # the coordinator's words for the fields (French, staff only)
    "name": staff("nom"),
    "territory": staff("territoire"),
    "audience": staff("public"),
    "text": staff("texte"),
    "buttons": staff("boutons"),
    "schedule": staff("envoi"),
    "rate": staff("débit"),
    "quartiers": staff("quartiers"),
    "age_min": staff("âge minimum"),
    "age_max": staff("âge maximum"),
    "right_not_claimed": staff("droit non demandé"),
    "never_screened": staff("jamais fait le point"),
    "inactive_days": staff("inactif depuis (jours)"),
    "booked": staff("rendez-vous"),
    "kind": staff("type d'envoi"),
    "at": staff("date"),
}


def explain(exc: ValidationError) -> str:
    """A pydantic error in French, one problem per line ("texte : …")."""
    lines = []
    for error in exc.errors():
        where = " › ".join(_FIELD_NAMES.get(str(part), str(part)) for part in error["loc"])
        kind, ctx = error["type"], error.get("ctx") or {}
        message = {
            "missing": "obligatoire",
            "extra_forbidden": "champ inconnu",
            "string_too_short": "ne doit pas être vide",
            "string_too_long": f"{ctx.get('max_length')} caractères au plus",
            "too_long": f"{ctx.get('max_length')} au plus",
            "greater_than": f"doit être plus grand que {ctx.get('gt')}",
            "greater_than_equal": f"doit être au moins {ctx.get('ge')}",
            "less_than_equal": f"doit être au plus {ctx.get('le')}",
            "less_than": f"doit être plus petit que {ctx.get('lt')}",
            "int_parsing": "un nombre entier est attendu",
            "int_from_float": "un nombre entier est attendu",
            "float_parsing": "un nombre est attendu",
            "bool_parsing": "oui ou non (true / false) est attendu",
            "datetime_parsing": "date illisible, écrivez par exemple 2026-12-01T10:00+01:00",
            "datetime_type": "date illisible, écrivez par exemple 2026-12-01T10:00+01:00",
            "literal_error": "valeur possible : now, at ou weekly",
            "string_type": "du texte est attendu",
            "list_type": "une liste est attendue",
            "model_type": "un bloc de champs est attendu",
            "dict_type": "un bloc de champs est attendu",
        }.get(kind)
        if message is None:
            message = str(error["msg"]).removeprefix("Value error, ")
        lines.append(f"{where} : {message}" if where else message)
    return "\n".join(lines)


# ---------------------------------------------------------------- the text


def _drop_first_name(text: str) -> str:
    """{prenom} without a first name: "Bonjour {prenom}, …" → "Bonjour, …"; "{prenom}, vous …" → "Vous …"."""
    lines = []
    for line in text.split("\n"):
        stripped = line.lstrip()
        if stripped.startswith("{prenom}"):
            rest = re.sub(r"^\{prenom\}[\s,;:!.]*", "", stripped)
            line = line[: len(line) - len(stripped)] + rest[:1].upper() + rest[1:]
        lines.append(re.sub(r"[ \t\u00a0\u202f]*\{prenom\}", "", line))
    return "\n".join(lines)


def fill(text: str, values: dict[str, str]) -> str:
    """Put the values in the template; an empty first name leaves no stray comma or space."""
    if not values.get("prenom"):
        text = _drop_first_name(text)
    return _PLACEHOLDER.sub(lambda m: values.get(m.group(1), m.group(0)), text).strip()


def right_label(rights: list[tuple[str, str]], prefer: str | None) -> str:
    for right_id, label in rights:
        if prefer and prefer != "any" and right_id == prefer:
            return label
    return rights[0][1] if rights else NEUTRAL["droit"]


def values_for(
    first_name: str | None, quartier: str | None, rights: list[tuple[str, str]], prefer: str | None
) -> dict[str, str]:
    """The placeholders' values for one resident (neutral words where something is unknown)."""
    return {
        "prenom": (first_name or "").strip(),
        "quartier": quartier or NEUTRAL["quartier"],
        "droit": right_label(rights, prefer),
    }


# ---------------------------------------------------------------- the buttons


def callback_data(delivery_id: int, button: str) -> str:
    """`k:<delivery id>:<button>` (delivery 0: a staff member's test message, inert)."""
    return f"k:{delivery_id}:{button}"


def parse_callback(data: str) -> tuple[int, str] | None:
    """`k:<delivery id>:<button>` → (delivery id, button key), or None when it is not one of ours."""
    parts = data.split(":")
    if len(parts) != 3 or parts[0] != "k" or not parts[1].isdigit() or parts[2] not in BUTTONS:
        return None
    return int(parts[1]), parts[2]


def button_rows(delivery_id: int, keys: Sequence[str]) -> list[list[str]]:
    """The outbox payload's buttons of one delivery: [[title, callback_data], ...], in the language of the turn
    (the pump renders each delivery in its resident's language)."""
    return [[_(BUTTONS[key]), callback_data(delivery_id, key)] for key in keys if key in BUTTONS]

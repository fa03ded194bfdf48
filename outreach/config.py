"""Settings read once from the environment (see the configuration table in the README)."""

from __future__ import annotations

import os
import re
import socket
from functools import cached_property
from pathlib import Path
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import AliasChoices, Field, SecretStr, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from outreach import PROJECT_ROOT

TOKEN_PATTERN = re.compile(r"^\d{1,20}:[A-Za-z0-9_-]{1,100}$")
DEFAULT_API_BASE = "https://api.telegram.org/bot"


def _env(name: str) -> AliasChoices:
    return AliasChoices(name, name.lower())


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_file=None, extra="ignore", populate_by_name=True)

    telegram_bot_token: SecretStr | None = Field(default=None, validation_alias=_env("TELEGRAM_BOT_TOKEN"))
    telegram_api_base_url: str = Field(default=DEFAULT_API_BASE, validation_alias=_env("TELEGRAM_API_BASE_URL"))
    database_url: str = Field(
        default=f"sqlite:///{PROJECT_ROOT / 'var' / 'outreach.db'}", validation_alias=_env("DATABASE_URL")
    )
    timezone: str = Field(default="Europe/Paris", validation_alias=_env("OUTREACH_TIMEZONE"))
    quiet_hours: str = Field(default="20:00-09:00", validation_alias=_env("OUTREACH_QUIET_HOURS"))
    # Whole days without proactive messages: "sunday,holidays" (French public holidays), a subset, or "none".
    quiet_days: str = Field(default="sunday,holidays", validation_alias=_env("OUTREACH_QUIET_DAYS"))
    # The outbox dispatcher (outreach/outbox.py): global rate (Telegram allows about 30/s), concurrency, lease.
    outbox_rate: float = Field(default=25.0, gt=0, le=30, validation_alias=_env("OUTREACH_OUTBOX_RATE"))
    outbox_concurrency: int = Field(default=8, ge=1, le=64, validation_alias=_env("OUTREACH_OUTBOX_CONCURRENCY"))
    outbox_lease_seconds: float = Field(default=60.0, ge=1, validation_alias=_env("OUTREACH_OUTBOX_LEASE_SECONDS"))
    host: str = Field(default="127.0.0.1", validation_alias=_env("OUTREACH_HOST"))
    rasa_port: int = Field(default=5005, validation_alias=_env("OUTREACH_RASA_PORT"))
    actions_port: int = Field(default=5055, validation_alias=_env("OUTREACH_ACTIONS_PORT"))
    sandbox_port: int = Field(default=8081, validation_alias=_env("OUTREACH_SANDBOX_PORT"))
    rasa_url: str | None = Field(default=None, validation_alias=_env("OUTREACH_RASA_URL"))
    # Rasa and the action server listen on loopback whatever OUTREACH_HOST says (the webhook listener may
    # face the internet; they must not), unless given an interface of their own.
    rasa_host: str = Field(default="127.0.0.1", validation_alias=_env("OUTREACH_RASA_HOST"))
    actions_host: str = Field(default="127.0.0.1", validation_alias=_env("OUTREACH_ACTIONS_HOST"))
    # Required by Rasa's HTTP API, its REST channel and the action server; `outreach run` makes one per run
    # when unset (never logged, never on a command line).
    rasa_token: SecretStr | None = Field(default=None, validation_alias=_env("OUTREACH_RASA_TOKEN"))
    webhook_url: str | None = Field(default=None, validation_alias=_env("OUTREACH_WEBHOOK_URL"))
    webhook_port: int = Field(default=8443, validation_alias=_env("OUTREACH_WEBHOOK_PORT"))
    log_level: str = Field(default="INFO", validation_alias=_env("OUTREACH_LOG_LEVEL"))
    bot_username: str | None = Field(default=None, validation_alias=_env("OUTREACH_BOT_USERNAME"))
    # The web console (outreach/console), served by the service process.
    console_host: str = Field(default="127.0.0.1", validation_alias=_env("OUTREACH_CONSOLE_HOST"))
    console_port: int = Field(default=8000, ge=0, le=65535, validation_alias=_env("OUTREACH_CONSOLE_PORT"))
    # The address people open (links sent on Telegram); https:// makes the session cookie Secure.
    console_url: str | None = Field(default=None, validation_alias=_env("OUTREACH_CONSOLE_URL"))
    # Scale-out (`outreach cluster`, docs/deploy.md). Redis: per-chat turns across workers, Telegram's global rate
    # shared by every worker's outbox, Rasa's lock store. Without it: one service process (`outreach run`).
    redis_url: str | None = Field(default=None, validation_alias=_env("OUTREACH_REDIS_URL"))
    # This process's name in logs, metrics and job leases (worker-1…); the host name and pid when unset.
    worker_name: str | None = Field(default=None, validation_alias=_env("OUTREACH_WORKER_NAME"))
    # Several Rasa replicas, comma-separated: a resident's turns go to one of them (by sender), the next one
    # when it is down. Overrides OUTREACH_RASA_URL.
    rasa_urls: str | None = Field(default=None, validation_alias=_env("OUTREACH_RASA_URLS"))
    # /metrics of a worker answers loopback, or whoever sends this bearer token (a Prometheus elsewhere).
    metrics_token: SecretStr | None = Field(default=None, validation_alias=_env("OUTREACH_METRICS_TOKEN"))
    # "text" (readable) or "json" (one JSON object per line, with the update's id: what a log collector reads).
    log_format: str = Field(default="text", pattern="^(text|json)$", validation_alias=_env("OUTREACH_LOG_FORMAT"))
    # Campaigns: at most this many campaigns reach one resident in 7 days.
    campaign_weekly_cap: int = Field(default=2, ge=1, le=50, validation_alias=_env("OUTREACH_CAMPAIGN_WEEKLY_CAP"))

    @field_validator("telegram_bot_token", mode="before")
    @classmethod
    def _token_shape(cls, value: object) -> object:
        if isinstance(value, SecretStr):
            value = value.get_secret_value()
        if value in (None, ""):
            return None
        if not TOKEN_PATTERN.match(str(value)):
            raise ValueError(
                "TELEGRAM_BOT_TOKEN does not look like a bot token (digits:letters, as given by @BotFather)"
            )
        return value

    @field_validator("rasa_token", mode="before")
    @classmethod
    def _rasa_token_length(cls, value: object) -> object:
        if isinstance(value, SecretStr):
            value = value.get_secret_value()
        if value in (None, ""):
            return None
        if len(str(value)) < 24:
            raise ValueError("OUTREACH_RASA_TOKEN must be at least 24 characters (e.g. `openssl rand -hex 24`)")
        return value

    @field_validator("telegram_api_base_url")
    @classmethod
    def _base_url(cls, value: str) -> str:
        if not value.startswith(("http://", "https://")):
            raise ValueError("TELEGRAM_API_BASE_URL must start with http:// or https://")
        return value

    @field_validator("timezone")
    @classmethod
    def _tz(cls, value: str) -> str:
        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError) as exc:
            raise ValueError(f"unknown time zone {value!r} (example: Europe/Paris)") from exc
        return value

    @field_validator("quiet_hours")
    @classmethod
    def _quiet(cls, value: str) -> str:
        if value.strip().lower() == "none":
            return "none"
        if not re.fullmatch(r"([01]\d|2[0-3]):[0-5]\d-([01]\d|2[0-3]):[0-5]\d", value.strip()):
            raise ValueError("OUTREACH_QUIET_HOURS must look like 20:00-09:00, or be 'none'")
        return value.strip()

    @field_validator("quiet_days")
    @classmethod
    def _quiet_days(cls, value: str) -> str:
        words = {w.strip().lower() for w in value.split(",") if w.strip()}
        if words in ({"none"}, set()):
            return "none"
        unknown = words - {"sunday", "holidays"}
        if unknown:
            raise ValueError("OUTREACH_QUIET_DAYS must be 'sunday,holidays', 'sunday', 'holidays' or 'none'")
        return ",".join(sorted(words, reverse=True))

    @property
    def sandbox(self) -> bool:
        """No token: run against the local Bot API emulator."""
        return self.telegram_bot_token is None

    @property
    def telegram_file_base_url(self) -> str:
        base = self.telegram_api_base_url
        return base[: -len("/bot")] + "/file/bot" if base.endswith("/bot") else base.rstrip("/") + "/file/bot"

    @property
    def effective_console_url(self) -> str:
        return (self.console_url or f"http://{self.console_host}:{self.console_port}").rstrip("/")

    @property
    def effective_rasa_url(self) -> str:
        return self.rasa_url or f"http://{self.rasa_host}:{self.rasa_port}"

    @property
    def effective_rasa_urls(self) -> list[str]:
        """The Rasa servers a worker talks to (one unless OUTREACH_RASA_URLS names several)."""
        urls = [u.strip().rstrip("/") for u in (self.rasa_urls or "").split(",") if u.strip()]
        return urls or [self.effective_rasa_url]

    @property
    def effective_worker_name(self) -> str:
        return self.worker_name or f"{socket.gethostname()}-{os.getpid()}"

    @property
    def rasa_secret(self) -> str | None:
        return self.rasa_token.get_secret_value() if self.rasa_token else None

    @cached_property
    def tz(self) -> ZoneInfo:
        return ZoneInfo(self.timezone)

    def sqlite_path(self) -> Path | None:
        prefix = "sqlite:///"
        return Path(self.database_url[len(prefix) :]) if self.database_url.startswith(prefix) else None


def default_tz() -> ZoneInfo:
    """The time zone of Settings.timezone's default, for callers that have no Settings at hand (tests, a
    library function called without `tz`); processes always pass `settings.tz`."""
    return ZoneInfo(str(Settings.model_fields["timezone"].default))

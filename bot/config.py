"""Settings read from the environment and from a `.env` file."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Literal
from urllib.parse import urlsplit

from pydantic import AnyHttpUrl, Field, SecretStr, ValidationError, field_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict

TELEGRAM_API_URL = "https://api.telegram.org/bot"
MESSAGES_PER_MINUTE = 20


class SettingsError(Exception):
    """A setting has an invalid value; the message names the variable, in one line."""


class Settings(BaseSettings):
    """Every knob the bot has; each one is documented in `.env.example`."""

    model_config = SettingsConfigDict(env_file=".env", env_file_encoding="utf-8", extra="ignore")

    corpus_dir: Path = Path("corpus")
    index_dir: Path = Path("index")
    database_path: Path = Path("data/bot.sqlite3")
    # postgresql://…: a PostgreSQL database that several processes of the bot share, instead
    # of the SQLite file at database_path.
    database_url: str | None = None

    telegram_bot_token: SecretStr | None = None
    telegram_api_url: AnyHttpUrl = AnyHttpUrl(TELEGRAM_API_URL)
    admin_user_ids: Annotated[frozenset[int], NoDecode] = frozenset()
    # Telegram's broadcast limit; 0 sends as fast as the Bot API server takes messages.
    telegram_messages_per_second: float = Field(default=30, ge=0)
    # Seconds to wait for Telegram's answer to a request (getUpdates has its own): a send
    # whose answer does not come in time is not sent again, it may have arrived.
    telegram_read_timeout: float = Field(default=30, gt=0)
    # Replies one sender gets in a minute (questions, commands, button presses); past it, one
    # "slow down" and silence until the minute is over.
    messages_per_minute: int = Field(default=MESSAGES_PER_MINUTE, ge=1)
    webhook_url: AnyHttpUrl | None = None
    webhook_secret: SecretStr | None = None
    webhook_listen: str = "127.0.0.1"
    webhook_port: int = Field(default=8443, ge=1, le=65535)
    # /healthz, /readyz and /metrics on a server of their own (the webhook's port has them
    # too); off when unset.
    health_port: int | None = Field(default=None, ge=1, le=65535)
    health_listen: str = "127.0.0.1"
    log_level: Literal["DEBUG", "INFO", "WARNING", "ERROR"] = "INFO"

    @field_validator("admin_user_ids", mode="before")
    @classmethod
    def _comma_separated_ids(cls, value: object) -> object:
        if isinstance(value, str):
            return frozenset(int(part) for part in value.replace(" ", "").split(",") if part)
        return value

    @field_validator("telegram_bot_token", "webhook_secret", "webhook_url", "health_port",
                     "database_url", mode="before")
    @classmethod
    def _empty_is_unset(cls, value: object) -> object:
        return None if value == "" else value

    @field_validator("database_url")
    @classmethod
    def _postgresql_url(cls, value: str | None) -> str | None:
        if value is not None and not value.startswith(("postgresql://", "postgres://")):
            raise ValueError("must start with postgresql:// (or be empty for DATABASE_PATH)")
        if value is not None:
            urlsplit(value)  # ValueError for one no URL parser reads ("[::1")
        return value

    @field_validator("log_level", mode="before")
    @classmethod
    def _upper_case_level(cls, value: object) -> object:
        return value.upper() if isinstance(value, str) else value


def load_settings() -> Settings:
    """The settings, or SettingsError naming the first variable that is wrong."""
    try:
        return Settings()
    except ValidationError as error:
        first = error.errors()[0]
        name = str(first["loc"][0]).upper() if first["loc"] else "settings"
        raise SettingsError(f"invalid setting {name}: {first['msg']}") from None

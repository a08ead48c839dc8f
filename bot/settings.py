"""Settings from the environment or `.env` (pydantic-settings), one class per section."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any, Literal

from pydantic import Field, SecretStr, ValidationError, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from bot.core.errors import InvalidInput, StartupError
from bot.core.models import CommunitySettings
from bot.core.money import MICRO
from bot.core.timeparse import parse_duration


def data_dir() -> Path:
    """Return the directory for the default SQLite file (`PREDICTBOT_DATA_DIR`, else XDG)."""
    explicit = os.environ.get("PREDICTBOT_DATA_DIR")
    if explicit:
        return Path(explicit).expanduser()
    base = os.environ.get("XDG_DATA_HOME") or str(Path.home() / ".local" / "share")
    return Path(base) / "predictbot"


def default_database_url() -> str:
    """Return the embedded SQLite database used when DATABASE_URL is not set."""
    return f"sqlite:///{data_dir() / 'predictbot.db'}"


def duration_seconds(value: object) -> object:
    """Read `90s`, `1m`, `2h`, `3d`, `1w` (any case, spaces allowed) or plain seconds; leave
    anything else for pydantic to refuse."""
    if isinstance(value, str):
        try:
            return int(parse_duration(value, setting=True).total_seconds())
        except InvalidInput:
            return value
    return value


_COMMON = SettingsConfigDict(env_file=".env", env_file_encoding="utf-8", extra="ignore")


class DatabaseSettings(BaseSettings):
    """Where the data lives."""

    model_config = _COMMON

    database_url: str = Field(default_factory=default_database_url)


class CommunityDefaults(BaseSettings):
    """Defaults for new communities (each community can change its own with `config`)."""

    model_config = _COMMON

    starting_balance: int = Field(1000, ge=0)
    daily_allowance: int = Field(50, ge=0)
    default_liquidity: int = Field(100, ge=10, le=100_000)
    house_liquidity: int | None = Field(None, ge=0, le=100_000)
    moderator_liquidity: int = Field(1000, ge=0, le=100_000)
    default_timezone: str = "UTC"
    min_market_duration: int = Field(60, ge=0, description="seconds")
    default_date_order: Literal["dmy", "mdy", "ymd"] = "dmy"

    @field_validator("min_market_duration", mode="before")
    @classmethod
    def _duration(cls, value: object) -> object:
        return duration_seconds(value)

    @field_validator("default_date_order", mode="before")
    @classmethod
    def _order(cls, value: object) -> object:
        return value.strip().lower() if isinstance(value, str) else value

    @field_validator("house_liquidity", mode="before")
    @classmethod
    def _unset(cls, value: object) -> object:
        return None if isinstance(value, str) and not value.strip() else value

    def community_settings(self) -> CommunitySettings:
        """Return the starting settings of a new community."""
        return CommunitySettings(
            starting_balance=self.starting_balance * MICRO,
            daily_allowance=self.daily_allowance * MICRO,
            default_liquidity=self.default_liquidity * MICRO,
            house_liquidity=None if self.house_liquidity is None else self.house_liquidity * MICRO,
            moderator_liquidity=self.moderator_liquidity * MICRO,
            timezone=self.default_timezone,
            min_duration=self.min_market_duration,
            date_order=self.default_date_order,
        )


class DiscordSettings(BaseSettings):
    """Discord connection."""

    model_config = _COMMON

    discord_token: SecretStr | None = None
    discord_guild_ids: str = ""
    discord_api_base: str | None = None
    discord_gateway_url: str | None = None

    @field_validator("discord_guild_ids")
    @classmethod
    def _ids(cls, value: str) -> str:
        if not all(x.isdigit() for x in value.replace(" ", "").split(",") if x):
            raise ValueError("list server ids (numbers) separated by commas, or leave it empty")
        return value

    @property
    def guild_ids(self) -> list[int]:
        """Return the development guilds to sync commands to."""
        return [int(x) for x in self.discord_guild_ids.replace(" ", "").split(",") if x]

    @property
    def enabled(self) -> bool:
        """Tell whether Discord is configured."""
        return bool(self.discord_token and self.discord_token.get_secret_value())


class SlackSettings(BaseSettings):
    """Slack connection (HTTP mode with a signing secret, or Socket Mode with an app token)."""

    model_config = _COMMON

    slack_bot_token: SecretStr | None = None
    slack_signing_secret: SecretStr | None = None
    slack_app_token: SecretStr | None = None
    slack_port: int = 3000
    slack_api_url: str = "https://slack.com/api/"

    @property
    def enabled(self) -> bool:
        """Tell whether Slack is configured (either mode)."""
        return bool(self.slack_bot_token) and bool(
            self.slack_signing_secret or self.slack_app_token
        )

    @property
    def socket_mode(self) -> bool:
        """Tell whether to use Socket Mode (an app token is set)."""
        return bool(self.slack_app_token and self.slack_app_token.get_secret_value())


class SchedulerSettings(BaseSettings):
    """Deadlines, reminders and announcement delivery."""

    model_config = _COMMON

    remind_every: int = Field(3 * 86400, ge=60, description="seconds between reminders")
    sweep_every: float = Field(30.0, gt=0, description="seconds between deadline sweeps")
    outbox_poll: float = Field(5.0, gt=0, description="seconds between outbox polls (backstop)")
    outbox_lease: float = Field(60.0, gt=0, description="seconds a process holds a claimed row")
    outbox_attempts: int = Field(10, ge=1, description="delivery attempts before giving up")
    outbox_retry_base: float = Field(2.0, gt=0, description="first retry delay, then doubled")
    drain_timeout: float = Field(5.0, ge=0, description="seconds to deliver pending at exit")

    @field_validator("remind_every", mode="before")
    @classmethod
    def _duration(cls, value: object) -> object:
        return duration_seconds(value)


class Settings(BaseSettings):
    """All settings of one predictbot process."""

    model_config = _COMMON

    log_level: str = "INFO"
    database: DatabaseSettings = Field(default_factory=DatabaseSettings)
    community: CommunityDefaults = Field(default_factory=CommunityDefaults)
    discord: DiscordSettings = Field(default_factory=DiscordSettings)
    slack: SlackSettings = Field(default_factory=SlackSettings)
    scheduler: SchedulerSettings = Field(default_factory=SchedulerSettings)

    @field_validator("log_level")
    @classmethod
    def _level(cls, value: str) -> str:
        return log_level_name(value)


LOG_LEVELS = ("DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL")


def log_level_name(value: str) -> str:
    """Return a log level's name in capitals, or refuse anything `logging` doesn't know."""
    name = value.strip().upper()
    if name not in LOG_LEVELS:
        raise ValueError(f"use one of {', '.join(LOG_LEVELS)}")
    return name


def load_settings() -> Settings:
    """Read the settings from the environment and `.env`, or raise `StartupError` naming the
    setting that is wrong and how to fix it, in one line."""
    try:
        return Settings()
    except ValidationError as error:
        problems = "; ".join(_problem(e) for e in error.errors())
        raise StartupError(
            f"{problems}. Fix it in the environment or in .env (.env.example lists every setting)."
        ) from None
    except UnicodeDecodeError:
        raise StartupError(".env is not UTF-8 text: save it as UTF-8.") from None


def _problem(error: Any) -> str:
    name = "_".join(str(part) for part in error.get("loc", ())).upper() or "a setting"
    reason = str(error.get("msg", "invalid")).removeprefix("Value error, ")
    value = error.get("input")
    if not isinstance(value, str) or any(w in name for w in ("TOKEN", "SECRET", "URL")):
        return f"{name} is not valid: {reason}"
    return f"{name}={value!r} is not valid: {reason}"

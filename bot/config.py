"""Configuration from the environment or a .env file, so one build runs anywhere."""

from __future__ import annotations

import datetime as dt
from typing import Annotated
from zoneinfo import ZoneInfo

from pydantic import Field, field_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict

SHANGHAI = ZoneInfo("Asia/Shanghai")


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_file=".env", env_file_encoding="utf-8", extra="ignore")

    bot_token: str = ""
    database_url: str = "sqlite:///data/bot.db"
    admin_ids: Annotated[list[int], NoDecode] = Field(default_factory=list)
    bot_api_base_url: str = "https://api.telegram.org/bot"
    bot_api_file_url: str = "https://api.telegram.org/file/bot"
    default_language: str = "zh"
    poll_timeout: int = 10
    # For time-machine tests and demonstrations only: pretend today is this date (Asia/Shanghai).
    today_override: dt.date | None = None

    @field_validator("admin_ids", mode="before")
    @classmethod
    def _split_ids(cls, value: object) -> object:
        if isinstance(value, str):
            return [int(x) for x in value.replace(";", ",").split(",") if x.strip()]
        return value

    def today(self) -> dt.date:
        return self.today_override or dt.datetime.now(SHANGHAI).date()

"""Configuration from the environment or a .env file, so one build runs anywhere."""

from __future__ import annotations

import datetime as dt
import re
from typing import Annotated, Literal

from pydantic import Field, field_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict

from dialogs.tz import SHANGHAI


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_file=".env", env_file_encoding="utf-8", extra="ignore")

    bot_token: str = ""
    database_url: str = "sqlite:///data/bot.db"
    admin_ids: Annotated[list[int], NoDecode] = Field(default_factory=list)
    bot_api_base_url: str = "https://api.telegram.org/bot"
    bot_api_file_url: str = "https://api.telegram.org/file/bot"
    default_language: str = "zh"
    poll_timeout: int = 10
    # PTB's AIORateLimiter keeps to Telegram's flood limits; the benchmarks switch it off to measure
    # the bot's own processing capacity rather than the 30 messages/s cap.
    rate_limiter: bool = True
    # The HTTP library under PTB (bot/transport.py): aiohttp, or PTB's own httpx.
    request_backend: Literal["aiohttp", "httpx"] = "aiohttp"
    # For time-machine tests and demonstrations only: pretend today is this date (Asia/Shanghai), or
    # that the clock stands at this instant (reminders and alerts are computed from it).
    today_override: dt.date | None = None
    now_override: dt.datetime | None = None
    reminder_scan_seconds: float = 30.0
    # Threads that run flow calls (database work) and document and picture builds off the event loop.
    worker_threads: int = Field(default=4, ge=1, le=64)
    # Processes that run the flow calls (the handlers' database work and document builds) beside the one
    # that talks to Telegram, so the two use two cores; 0 runs them in the threads above (bot/flowprocess.py).
    flow_processes: int = Field(default=1, ge=0, le=16)
    # Officer alert points for every running clock: "half", "due", "overdue" and numbers of working days left.
    officer_alerts: str = "half,2,due,overdue"
    # Webhook mode (`python -m bot --webhook`): Telegram POSTs updates to WEBHOOK_URL (https in
    # production, behind a reverse proxy that forwards to WEBHOOK_LISTEN:WEBHOOK_PORT), and every request
    # must carry WEBHOOK_SECRET in X-Telegram-Bot-Api-Secret-Token, or PTB answers 403.
    # The channel the publicity notices are posted to (Zhejiang 三(五)): @username or its numeric id; empty:
    # no channel, the notices go to the followers, the applicant and the unit only.
    publicity_channel: str = ""
    webhook_url: str = ""
    webhook_secret: str = ""
    webhook_listen: str = "127.0.0.1"
    webhook_port: int = 8443
    # Concurrency (README "Processes and concurrency"): inbox workers per process, how long a database lock
    # or an unreachable server is waited for before the update is retried later, and how long a claimed
    # update stays leased to a process that stopped answering (a dead one's leases end at once on PostgreSQL).
    update_workers: int = 8
    db_lock_timeout: float = 30.0
    inbox_lease_seconds: float = 60.0
    # Seconds between two attempts to become the scheduler when another process holds it (PostgreSQL).
    leader_retry_seconds: float = 2.0
    # The officers' desk (a Telegram Mini App, bot/web/): served by this process on DESK_LISTEN:DESK_PORT
    # under /desk/, behind the reverse proxy that publishes it as DESK_URL (https, for the menu button).
    # Empty DESK_URL: no web server, no menu button; /register works either way.
    desk_url: str = ""
    desk_listen: str = "127.0.0.1"
    desk_port: int = 8081
    # Also make the desk the bot-wide default menu button, so researchers open it on their own cases.
    desk_for_everyone: bool = False

    @field_validator("admin_ids", mode="before")
    @classmethod
    def _split_ids(cls, value: object) -> object:
        if isinstance(value, str):
            return [int(x) for x in value.replace(";", ",").split(",") if x.strip()]
        return value

    def now(self) -> dt.datetime:
        """One clock for the whole process: NOW_OVERRIDE, else TODAY_OVERRIDE at the real time of day."""
        if self.now_override is not None:
            return self.now_override if self.now_override.tzinfo else self.now_override.replace(tzinfo=SHANGHAI)
        real = dt.datetime.now(SHANGHAI)
        if self.today_override is not None:
            return dt.datetime.combine(self.today_override, real.time(), SHANGHAI)
        return real

    def webhook_ready(self) -> bool:
        """A URL and a secret Telegram accepts (1-256 of A-Z a-z 0-9 _ -); without one, anyone who finds
        the URL could post forged updates."""
        return bool(self.webhook_url) and re.fullmatch(r"[A-Za-z0-9_-]{1,256}", self.webhook_secret) is not None

    def today(self) -> dt.date:
        return self.now().astimezone(SHANGHAI).date()

"""Who is asking: Telegram's Mini App `initData`, checked with the bot token.

Why this and not a session cookie: the page is opened from the bot's menu inside Telegram, and the
only thing the client can prove is the signed `initData` Telegram hands it. Telegram's rule
(core.telegram.org/bots/webapps, "Validating data received via the Mini App"):

    secret_key = HMAC_SHA256(key="WebAppData", msg=bot_token)
    hash       = hex(HMAC_SHA256(key=secret_key, msg=data_check_string))

where data_check_string is every received `key=value` pair except `hash`, sorted by key and joined
by "\\n". Data older than MAX_AGE is refused, so a leaked string stops working within a day; the age
is measured on the process clock (Settings.now()), so time-machine tests and demonstrations agree
with the rest of the bot.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import json
from dataclasses import dataclass
from urllib.parse import parse_qsl

MAX_AGE = dt.timedelta(hours=24)
# A genuine auth_date a little ahead of our clock is clock skew; far ahead is not something Telegram signs.
MAX_SKEW = dt.timedelta(minutes=5)
SCHEME = "tma"


@dataclass(frozen=True)
class WebAppUser:
    """The verified user; `language_code` is Telegram's, for people who never chose a language."""

    id: int
    first_name: str = ""
    username: str | None = None
    language_code: str | None = None


def _secret(bot_token: str) -> bytes:
    return hmac.new(b"WebAppData", bot_token.encode(), hashlib.sha256).digest()


def data_check_string(fields: dict[str, str]) -> str:
    return "\n".join(f"{k}={fields[k]}" for k in sorted(fields) if k != "hash")


def verify_init_data(init_data: str, bot_token: str, now: dt.datetime) -> WebAppUser | None:
    """The user `init_data` proves, or None for anything forged, malformed, stale or without a user."""
    if not init_data or not bot_token or len(init_data) > 8192:
        return None
    try:
        pairs = parse_qsl(init_data, keep_blank_values=True, strict_parsing=True)
    except ValueError:
        return None
    fields = dict(pairs)
    if len(fields) != len(pairs):  # a repeated key: which one did Telegram sign?
        return None
    received = fields.get("hash", "")
    expected = hmac.new(_secret(bot_token), data_check_string(fields).encode(), hashlib.sha256).hexdigest()
    if not hmac.compare_digest(received.encode(), expected.encode()):
        return None
    try:
        signed_at = dt.datetime.fromtimestamp(int(fields.get("auth_date", "")), dt.UTC)
        user = json.loads(fields.get("user", ""))
        user_id = int(user["id"])
    except (ValueError, TypeError, KeyError, OverflowError, OSError):
        return None
    if now - signed_at > MAX_AGE or signed_at - now > MAX_SKEW:
        return None
    return WebAppUser(user_id, str(user.get("first_name") or ""), user.get("username"),
                      user.get("language_code"))


def from_header(header: str | None, bot_token: str, now: dt.datetime) -> WebAppUser | None:
    """`Authorization: tma <initData>`: the form the desk's pages send with every request."""
    if not header:
        return None
    scheme, _, value = header.strip().partition(" ")
    if scheme.lower() != SCHEME:
        return None
    return verify_init_data(value.strip(), bot_token, now)

"""Reply markup as Telegram checks it, and the deep links (t.me/<bot>?start=<payload>) users open.

Why: a keyboard Telegram refuses fails the whole sendMessage, so the fake must refuse the same ones, with
the same descriptions: callback_data over 64 bytes, a URL button with a scheme Telegram does not open or
a host it does not accept, a Web App button outside a private chat or on a plain-http page.  And a deep
link whose start parameter is not 1-64 characters of ``A-Za-z0-9_-`` reaches the bot as a bare /start,
so an invitation carried that way is silently lost: the driver must show that, not hide it.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qs, urlsplit

__all__ = ["DeepLink", "START_PAYLOAD", "check_markup", "parse_deep_link"]

START_PAYLOAD = re.compile(r"[A-Za-z0-9_-]{1,64}")
_INLINE_ACTIONS = ("callback_data", "url", "switch_inline_query", "switch_inline_query_current_chat",
                   "switch_inline_query_chosen_chat", "callback_game", "pay", "login_url", "web_app", "copy_text")
_URL_SCHEMES = ("http", "https", "tg")
_LINK_HOSTS = ("t.me", "telegram.me", "telegram.dog")


class MarkupError(ValueError):
    """The description after "Bad Request: " that Telegram answers for a refused keyboard."""


def _check_url(url: Any, what: str) -> None:
    if not isinstance(url, str):
        raise MarkupError(f"can't parse inline keyboard button: Field \"{what}\" must be of type String")
    scheme, sep, _rest = url.partition("://")
    if url.startswith("tg:") and not sep:
        return  # tg:resolve?domain=... is accepted too
    if not sep or not scheme:
        raise MarkupError(f"inline keyboard button URL '{url}' is invalid: Wrong HTTP URL")
    if scheme.lower() not in _URL_SCHEMES:
        raise MarkupError(f"inline keyboard button URL '{url}' is invalid: Unsupported URL protocol")
    if scheme.lower() == "tg":
        return
    parts = urlsplit(url)
    host = parts.hostname or ""
    if not host or any(c.isspace() for c in url):
        raise MarkupError(f"inline keyboard button URL '{url}' is invalid: Wrong HTTP URL")
    if "." not in host:
        raise MarkupError("BUTTON_URL_INVALID")  # e.g. http://localhost:8080, refused since 2017


def web_app_url_ok(url: str, test_environment: bool = False) -> bool:
    """Telegram takes only https Web App links with a real host name; its test environment also takes plain
    http and local hosts ("you may use HTTP links without TLS to test your Web App")."""
    parts = urlsplit(url)
    if test_environment:
        return parts.scheme.lower() in ("http", "https") and bool(parts.hostname)
    return parts.scheme.lower() == "https" and bool(parts.hostname)


def _check_web_app(button: dict[str, Any], chat_type: str, label: str, test_environment: bool = False) -> None:
    if chat_type != "private":
        raise MarkupError("BUTTON_TYPE_INVALID")  # Web Apps open only from private chats
    info = button.get("web_app")
    url = info.get("url") if isinstance(info, dict) else None
    if not isinstance(url, str) or not url:
        raise MarkupError(f"can't parse {label} button: Field \"url\" must be of type String")
    if not web_app_url_ok(url, test_environment):
        raise MarkupError(f"{label} button Web App URL '{url}' is invalid: Only HTTPS links are allowed")


def _check_inline(rows: Any, chat_type: str, test_environment: bool = False) -> None:
    if not isinstance(rows, list) or not all(isinstance(r, list) for r in rows):
        raise MarkupError("field \"inline_keyboard\" of the InlineKeyboardMarkup must be an Array of Arrays")
    for row in rows:
        for button in row:
            if not isinstance(button, dict) or not isinstance(button.get("text"), str):
                raise MarkupError("can't parse inline keyboard button: Field \"text\" must be of type String")
            if not button["text"].strip():
                raise MarkupError("BUTTON_TEXT_INVALID")
            if not any(k in button for k in _INLINE_ACTIONS):
                raise MarkupError("can't parse inline keyboard button: Text buttons are unallowed in the inline keyboard")
            if "callback_data" in button:
                data = button["callback_data"]
                if not isinstance(data, str) or not 1 <= len(data.encode("utf-8")) <= 64:
                    raise MarkupError("BUTTON_DATA_INVALID")
            if "url" in button:
                _check_url(button["url"], "url")
            if "web_app" in button:
                _check_web_app(button, chat_type, "inline keyboard", test_environment)


def _check_reply_keyboard(markup: dict[str, Any], chat_type: str, test_environment: bool = False) -> None:
    rows = markup.get("keyboard")
    if not isinstance(rows, list) or not all(isinstance(r, list) for r in rows):
        raise MarkupError("field \"keyboard\" of the ReplyKeyboardMarkup must be an Array of Arrays")
    for row in rows:
        for button in row:
            if isinstance(button, str):
                continue
            if not isinstance(button, dict) or not isinstance(button.get("text"), str):
                raise MarkupError("can't parse keyboard button: Field \"text\" must be of type String")
            if "web_app" in button:
                _check_web_app(button, chat_type, "keyboard", test_environment)


def check_markup(markup: dict[str, Any], chat_type: str, *, inline_only: bool,
                 test_environment: bool = False) -> dict[str, Any]:
    """``markup`` if Telegram would accept it in a chat of ``chat_type``; MarkupError otherwise."""
    if "inline_keyboard" in markup:
        _check_inline(markup["inline_keyboard"], chat_type, test_environment)
        return markup
    if inline_only:
        raise MarkupError("inline keyboard expected")
    if "keyboard" in markup:
        _check_reply_keyboard(markup, chat_type, test_environment)
        return markup
    if "remove_keyboard" in markup or "force_reply" in markup:
        return markup
    raise MarkupError("can't parse reply keyboard markup JSON object")


@dataclass(frozen=True)
class DeepLink:
    """A link that opens a bot: ``payload`` is what /start carries (None: a bare /start), ``given`` is
    the start parameter as written in the link (None when there was none)."""

    bot_username: str
    payload: str | None
    given: str | None

    @property
    def dropped(self) -> bool:
        """The link had a start parameter Telegram does not pass on (not 1-64 of A-Za-z0-9_-)."""
        return self.given is not None and self.payload is None


def parse_deep_link(url: str) -> DeepLink | None:
    """``https://t.me/<bot>?start=<p>`` (also telegram.me, http, no scheme) or ``tg://resolve?domain=<bot>&start=<p>``;
    None when ``url`` does not open a bot chat."""
    raw = url if "://" in url or url.startswith("tg:") else f"https://{url}"
    parts = urlsplit(raw)
    query = parse_qs(parts.query, keep_blank_values=True)
    if parts.scheme == "tg":
        if parts.netloc != "resolve" and not raw.startswith("tg:resolve"):
            return None
        name = (query.get("domain") or [""])[0]
    elif parts.scheme in ("http", "https") and (parts.hostname or "").lower() in _LINK_HOSTS:
        name = parts.path.strip("/").split("/")[0] if parts.path.strip("/") else ""
    else:
        return None
    if not re.fullmatch(r"[A-Za-z][A-Za-z0-9_]{3,31}", name or ""):
        return None
    given = query["start"][0] if "start" in query else None
    payload = given if given is not None and START_PAYLOAD.fullmatch(given) else None
    return DeepLink(name, payload, given)

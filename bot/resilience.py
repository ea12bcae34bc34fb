"""How the bot survives a misbehaving Bot API: retries of transient failures and users who blocked it.

PTB's AIORateLimiter retries only `RetryAfter` (429, honouring retry_after). A 5xx answer or a dropped
connection reaches the handler as `NetworkError`; by then the user's answer is committed, so giving up
would leave the user looking at a stale screen whose buttons are refused. Sending the screen again is the
lesser evil: at worst a dropped-after-delivery message arrives twice, and an edit repeated is refused by
Telegram as "not modified", which the edge already ignores.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Coroutine
from typing import Any

from sqlalchemy.engine import Engine
from telegram.error import BadRequest, NetworkError
from telegram.ext import AIORateLimiter

from storage.db import session_scope
from storage.models import User

log = logging.getLogger(__name__)

# The calls that show a user their screen; getUpdates is retried by bot/polling.py, which confirms nothing it could not store.
RETRIED = frozenset({"sendMessage", "editMessageText", "editMessageReplyMarkup", "answerCallbackQuery",
                     "sendDocument"})
BACKOFF = (0.2, 0.5, 1.0)


class RetryingRateLimiter(AIORateLimiter):
    """AIORateLimiter (flood limits, 429 handling) plus a few retries of 5xx and dropped connections."""

    async def process_request(
        self,
        callback: Callable[..., Coroutine[Any, Any, bool | dict[str, Any] | list[dict[str, Any]]]],
        args: Any,
        kwargs: dict[str, Any],
        endpoint: str,
        data: dict[str, Any],
        rate_limit_args: int | None,
    ) -> bool | dict[str, Any] | list[dict[str, Any]]:
        for delay in (*BACKOFF, None):
            try:
                return await super().process_request(callback, args, kwargs, endpoint, data, rate_limit_args)
            except BadRequest:
                raise  # our request is wrong: repeating it changes nothing
            except NetworkError as exc:  # 5xx, connection dropped or timed out
                if delay is None or endpoint not in RETRIED:
                    raise
                log.warning("%s failed (%s); retrying in %.1fs", endpoint, exc, delay)
                await asyncio.sleep(delay)
        raise AssertionError("unreachable")


def record_blocked(engine: Engine, user_id: int) -> None:
    """403 "bot was blocked by the user": remember it, so nothing keeps knocking on a closed door."""
    with session_scope(engine) as s:
        user = s.get(User, user_id)
        if user is not None and not user.blocked_bot:
            user.blocked_bot = True

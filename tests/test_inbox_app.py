"""The inbox workers (bot/dispatch.py) handing updates to the real application (bot/app.py), whose handlers
run the router in the flow thread pool inside the action context (bot/actions.py), against the local Bot
API server — the three paths where they meet:

- an update a process applied and then died before replying (`pending_rerenders`) is handed over again:
  `claim_update` says "already applied", nothing changes, and the user sees the current screen;
- a database failure inside a pooled flow call reaches the application's error handler, so the inbox keeps
  the update and retries it: the user is told once that the answer is delayed, and it is applied once;
- a copy of an update already in the inbox never reaches a handler.
"""

from __future__ import annotations

import asyncio
import datetime as dt
from typing import Any

import pytest
from sqlalchemy.exc import OperationalError
from sqlmodel import Session, col, select

from bot import dispatch
from bot.app import TelegramBot
from bot.config import Settings
from bot.dispatch import Dispatcher
from bot.i18n import t
from bot.reply import Who
from bot.runtime import build_runtime
from storage import inbox, repo
from storage.db import session_scope
from storage.inbox import InboxUpdate
from storage.models import Draft
from tests.botapi import BotApiServer
from tests.botapi.server import DEFAULT_TOKEN

USER = 4711
WHO = Who(USER, "研究员", None, "zh-hans")


class World:
    """The local Bot API server, a runtime on a fresh database, and the poller's part: storing what the
    user sent into the inbox."""

    def __init__(self, server: BotApiServer, database_url: str) -> None:
        self.server = server
        self.runtime = build_runtime(Settings(
            database_url=database_url, bot_token=DEFAULT_TOKEN, bot_api_base_url=server.base_url,
            bot_api_file_url=server.base_file_url, rate_limiter=False, _env_file=None))
        self.bot = TelegramBot(self.runtime)
        self.app = self.bot.build()
        self.user = server.user(USER, "研究员")
        self.taken: set[int] = set()

    def new_updates(self) -> list[dict[str, Any]]:
        batch = [u for u in self.server.pending_updates() if u["update_id"] not in self.taken]
        self.taken.update(u["update_id"] for u in batch)
        return batch

    def store(self) -> list[int]:
        batch = self.new_updates()
        with session_scope(self.runtime.engine) as s:
            inbox.receive(s, batch, self.runtime.settings.now())
        return [u["update_id"] for u in batch]


@pytest.fixture()
def world(botapi: BotApiServer, database_url: str):
    w = World(botapi, database_url)
    yield w
    w.bot.pool.shutdown(wait=True)


async def drain(app, runtime) -> None:
    """Run the inbox workers until every row is finished."""
    stop = asyncio.Event()
    workers = Dispatcher(app, runtime.engine, owner=42, workers=2, lease=dt.timedelta(seconds=30), idle=0.05)
    task = asyncio.create_task(workers.run(stop))
    try:
        async with asyncio.timeout(60):
            while True:
                with session_scope(runtime.engine) as s:
                    if inbox.backlog(s) == 0:
                        break
                await asyncio.sleep(0.05)
    finally:
        stop.set()
        await asyncio.wait_for(task, 10)


def screens(server: BotApiServer) -> list[str]:
    return [c.params.get("text", "") for c in server.calls() if c.method in ("sendMessage", "editMessageText")
            and str(c.params.get("chat_id")) == str(USER)]


def draft_of(runtime) -> Draft:
    with Session(runtime.engine) as s:
        return s.exec(select(Draft).where(Draft.user_id == USER).order_by(col(Draft.id).desc())).first()


async def test_an_applied_update_handed_over_again_shows_the_current_screen(world):
    server, runtime, user, app = world.server, world.runtime, world.user, world.app
    async with app:
        user.send_text("/new")
        world.store()
        await drain(app, runtime)
        assert "步骤 1 · " in screens(server)[-1]
        screen = user.last_message()
        data = next(b["callback_data"] for row in screen["reply_markup"]["inline_keyboard"] for b in row
                    if b["callback_data"].endswith(":p:zhejiang"))
        user.press_data(data, screen["message_id"])
        [update_id] = world.store()
        # another process claims the press, applies it (the answer and the claim commit together) ...
        with session_scope(runtime.engine) as s:
            [claimed] = inbox.claim_next(s, owner=13, lease=dt.timedelta(seconds=30))
            assert claimed.update_id == update_id
        reply = runtime.router.press(WHO, data, update_id)
        assert reply.view is not None and not reply.redelivered
        revision = draft_of(runtime).revision
        # ... and dies before replying: its lease runs out, the row is still `applied`
        with session_scope(runtime.engine) as s:
            row = s.exec(select(InboxUpdate).where(InboxUpdate.update_id == update_id)).one()
            assert row.status == inbox.APPLIED
            row.lease_until = dt.datetime.now(dt.UTC) - dt.timedelta(seconds=1)
        assert dispatch.pending_rerenders(runtime.engine) == 1
        before = len(screens(server))
        await drain(app, runtime)
        assert dispatch.pending_rerenders(runtime.engine) == 0
        assert draft_of(runtime).revision == revision, "handed over again, applied once"
        shown = screens(server)[before:]
        assert len(shown) == 1 and shown[0] == reply.view.text, "the current screen, once"


async def test_a_database_failure_inside_a_pooled_call_is_retried_and_the_user_told_once(world, monkeypatch):
    server, runtime, user, app = world.server, world.runtime, world.user, world.app
    monkeypatch.setattr(dispatch, "backoff", lambda attempt: dt.timedelta(milliseconds=50))
    failures = [OperationalError("SELECT user", {}, Exception("database is locked"))] * 2
    real = repo.get_or_create_user

    def flaky(*args: Any, **kwargs: Any):  # runs in the flow pool, inside the action context's transaction
        if failures:
            raise failures.pop()
        return real(*args, **kwargs)

    async with app:
        monkeypatch.setattr(repo, "get_or_create_user", flaky)
        user.send_text("/new")
        world.store()
        await drain(app, runtime)
    shown = screens(server)
    delayed = t("ops.retrying", "zh")
    assert shown.count(delayed) == 1, shown  # told once, although it failed twice
    assert "步骤 1 · " in shown[-1]  # then answered
    with Session(runtime.engine) as s:
        assert len(s.exec(select(Draft).where(Draft.user_id == USER)).all()) == 1  # applied once
        assert {r.status for r in s.exec(select(InboxUpdate))} == {inbox.DONE}


async def test_a_copy_of_a_stored_update_never_reaches_a_handler(world):
    server, runtime, user, app = world.server, world.runtime, world.user, world.app
    async with app:
        user.send_text("/new")
        batch = world.new_updates()
        with session_scope(runtime.engine) as s:
            assert inbox.receive(s, batch + batch, runtime.settings.now()) == 1  # the same update twice
        await drain(app, runtime)
        with session_scope(runtime.engine) as s:
            assert inbox.receive(s, batch, runtime.settings.now()) == 0  # and once more, later
        await drain(app, runtime)
    assert len(screens(server)) == 1
    with Session(runtime.engine) as s:
        assert len(s.exec(select(Draft).where(Draft.user_id == USER)).all()) == 1

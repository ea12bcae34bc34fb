"""What the README's "no update is lost or applied twice" promises, shown against the real bot process:
update ids reused after the dedupe window are answered, a database that goes away during an answer
delays it but loses nothing and applies it once, a second process on one SQLite file (or a second poller
on PostgreSQL) is refused, the 09:00 digest missed while the bot was down is sent on start, once."""

from __future__ import annotations

import datetime as dt
import sqlite3
import subprocess
import sys
import time
from typing import Any
from urllib.parse import quote

import psycopg
import pytest
from sqlmodel import Session, select

from bot.config import Settings
from bot.i18n import t
from bot.runtime import build_runtime
from dialogs.policy import load_policies
from storage import caserepo
from storage.casework import Membership
from storage.db import is_sqlite, make_engine, session_scope
from storage.models import Case, Draft, User
from tests.botapi import BotApiServer
from tests.e2e import ROOT, BotProcess, Researcher, has_keyboard, wait_inbox_done
from tests.pgserver import PrivatePostgres
from tests.scenario import happy_path


def command_update(update_id: int, user_id: int, text: str, when: int) -> dict[str, Any]:
    """A private-chat command as Telegram sends it, with an update id of our choosing."""
    user = {"id": user_id, "is_bot": False, "first_name": "研究员", "language_code": "zh-hans"}
    return {"update_id": update_id, "message": {
        "message_id": 5000 + update_id, "from": user, "chat": {"id": user_id, "type": "private", "first_name": "研究员"},
        "date": when, "text": text, "entities": [{"type": "bot_command", "offset": 0, "length": len(text)}]}}


def answers_to(server: BotApiServer, user_id: int, needle: str) -> int:
    return len([c for c in server.calls("sendMessage") if c.ok and str(c.params.get("chat_id")) == str(user_id)
                and needle in str(c.params.get("text", ""))])


HELP = t("bot.help", "zh")[:12]


def test_an_update_id_telegram_reuses_a_week_later_is_answered(botapi, database_url, tmp_path):
    uid = 8101
    botapi.user(uid, first_name="研究员")
    bot = BotProcess(botapi, database_url, tmp_path, NOW_OVERRIDE="2026-11-02T10:00:00+08:00").start()
    first = command_update(1, uid, "/help", int(time.time()))
    try:
        botapi.push_update(first)
        botapi.wait_idle(timeout=15, quiet=0.5)
        wait_inbox_done(database_url)
        assert answers_to(botapi, uid, HELP) == 1
        botapi.push_update(first)  # delivered again (a confirmation lost in a crash): the same update
        botapi.wait_idle(timeout=15, quiet=0.5)
        wait_inbox_done(database_url)
        assert answers_to(botapi, uid, HELP) == 1
    finally:
        bot.stop()
    # a week without updates: Telegram picks the next id afresh, and it may be 1 again
    bot.extra_env["NOW_OVERRIDE"] = "2026-11-09T10:00:00+08:00"
    bot.start()
    try:
        botapi.push_update(command_update(1, uid, "/help", int(time.time()) + 7 * 86400))
        botapi.wait_idle(timeout=15, quiet=0.5)
        wait_inbox_done(database_url)
        assert answers_to(botapi, uid, HELP) == 2, "a new update with an old id was dropped as a duplicate"
    finally:
        bot.stop()


def test_a_second_bot_process_is_refused_clearly(botapi, database_url, tmp_path):
    first = BotProcess(botapi, database_url, tmp_path).start()
    try:
        env = first.env()
        second = subprocess.run([sys.executable, "-m", "bot"], cwd=tmp_path, env=env, capture_output=True, text=True,
                                timeout=60)
        assert second.returncode == 2, second.stderr[-2000:]
        expected = "SQLite" if is_sqlite(database_url) else "长轮询"
        assert expected in second.stderr and "Traceback" not in second.stderr, second.stderr[-2000:]
        assert first.proc is not None and first.proc.poll() is None  # the first one is untouched
    finally:
        first.stop()


def test_the_digest_missed_while_the_bot_was_down_is_sent_when_it_starts_later_that_day_once(
        botapi, database_url, tmp_path):
    officer = 8201
    botapi.user(officer, first_name="经办")
    now = "2026-11-13T14:00:00+08:00"  # a Friday; the digest was due at 09:00, the bot was down
    runtime = build_runtime(Settings(database_url=database_url, now_override=dt.datetime.fromisoformat(now),
                                     _env_file=None))
    with session_scope(runtime.engine) as s:
        s.add(User(id=officer, first_name="经办"))
        s.add(Membership(user_id=officer, role="officer", policy_key="dongguan"))
        case = Case(number="DG-2026-0042", draft_id=1, applicant_id=8202, policy_key="dongguan", policy_version=1,
                    answers={"project": {}})
        s.add(case)
        s.flush()  # filed 11/02: acceptance due 11/16, within the digest's horizon
        caserepo.add_event(s, case.id, 8202, "applicant", "submit", None, "received", event="application_filed",
                           at=dt.datetime(2026, 11, 2, 2, 0, tzinfo=dt.UTC))
    runtime.engine.dispose()
    bot = BotProcess(botapi, database_url, tmp_path, NOW_OVERRIDE=now, REMINDER_SCAN_SECONDS="0.5")
    digest_title = t("rem.digest", "zh", date="2026-11-13", items="")[:8]
    for _restart in range(2):
        bot.start()
        deadline = time.monotonic() + 20
        while answers_to(botapi, officer, digest_title) < 1 and time.monotonic() < deadline:
            time.sleep(0.1)
        botapi.wait_idle(timeout=10, quiet=1.5)
        bot.stop()
        assert answers_to(botapi, officer, digest_title) == 1, [c.params.get("text") for c in botapi.calls("sendMessage")]


def _draft(url: str, user_id: int) -> Draft:
    engine = make_engine(url)
    try:
        with Session(engine) as s:
            return s.exec(select(Draft).where(Draft.user_id == user_id)).one()
    finally:
        engine.dispose()


@pytest.mark.slow
def test_the_database_taken_away_during_an_answer_delays_it_and_applies_it_once(botapi, database_url, tmp_path):
    """SQLite: another writer holds the database locked (BEGIN EXCLUSIVE) for longer than the bot waits.
    PostgreSQL: the server is stopped (a private one) and started again. The answer typed meanwhile is
    not lost, arrives once the database is back, and is applied exactly once."""
    server = None if is_sqlite(database_url) else PrivatePostgres()
    url = database_url if server is None else server.url
    bot = BotProcess(botapi, url, tmp_path, DB_LOCK_TIMEOUT="1").start()
    try:
        r = Researcher(botapi, 8301)
        r.command("/new")
        steps = happy_path(load_policies()["shanwei"])
        to_project = next(i for i, s in enumerate(steps) if s.value.startswith("测试-"))
        r.run(steps[:to_project])  # the policy, the applicant and their identity: the project's name is next
        before = _draft(url, 8301)
        before_screen = r.screen()["text"]
        mark = r.user.mark()
        holder = None
        if server is None:
            holder = sqlite3.connect(url.removeprefix("sqlite:///"), timeout=5, isolation_level=None)
            holder.execute("BEGIN EXCLUSIVE")
        else:
            server.pause()
        try:
            r.user.send_text("测试-断库期间的回答")  # the project name, typed while the database is away
            time.sleep(6)  # several lock timeouts / failed connections: the bot keeps trying
            assert r.screen()["text"] == before_screen  # nothing applied, nothing shown yet
        finally:
            if holder is not None:
                holder.execute("ROLLBACK")
                holder.close()
            elif server is not None:
                server.resume()
        screen = r.user.wait_for(lambda m: has_keyboard(m) and m.get("text") != before_screen, timeout=60,
                                 since=mark)
        assert "项目编号" in screen["text"]  # the answer was taken: the next question is shown
        botapi.wait_idle(timeout=20, quiet=1.0)
        after = _draft(url, 8301)
        assert after.revision == before.revision + 1, "applied exactly once"
        assert after.answers["project"]["name"] == "测试-断库期间的回答"
        assert "update failed" not in bot.log()
    finally:
        bot.stop()
        if server is not None:
            server.stop()


def test_help_is_answered_while_another_writer_holds_sqlite_and_a_first_contact_waits_for_it(botapi, tmp_path):
    """SQLite's one write lock held by someone else (as a handler's transaction holds it): the inbox write of
    /help waits, its answer does not (bot/dispatch.py `early`: a read of the snapshot). A first contact's
    /help records the user, so it waits for the lock like any update. Each is answered once. (The early
    path is SQLite's: its own file here, whichever database the suite runs on.)"""
    url = f"sqlite:///{tmp_path / 'early.db'}"
    bot = BotProcess(botapi, url, tmp_path, DB_LOCK_TIMEOUT="1").start()
    known, first = 8501, 8502
    try:
        Researcher(botapi, known).command("/start")
        wait_inbox_done(url)
        holder = sqlite3.connect(str(tmp_path / "early.db"), timeout=5, isolation_level=None)
        holder.execute("BEGIN IMMEDIATE")
        try:
            mark = botapi.mark()
            botapi.user(first, first_name="新来的").send_text("/help")
            botapi.user(known).send_text("/help")
            reply = botapi.user(known).wait_for(None, timeout=10, since=mark)
            assert HELP in reply["text"]
            time.sleep(2.5)  # the inbox write has waited out its lock timeout at least once meanwhile
            assert answers_to(botapi, first, HELP) == 0
            assert "could not store" in bot.log()
        finally:
            holder.execute("ROLLBACK")
            holder.close()
        botapi.user(first).wait_for(lambda m: HELP in m.get("text", ""), timeout=30, since=mark)
        wait_inbox_done(url)
        botapi.wait_idle(timeout=15, quiet=0.5)
        assert answers_to(botapi, known, HELP) == 1 and answers_to(botapi, first, HELP) == 1
    finally:
        bot.stop()


@pytest.mark.slow
def test_a_url_encoded_postgresql_password_works(botapi, tmp_path):
    """The role's password has characters a URL must encode (`%`, `:`, `/`): the bot, its migrations and
    `python -m storage.migrate` connect with it, and the server really checks it (scram-sha-256)."""
    password = "p%40ss:w/rd"
    with PrivatePostgres() as server:
        with psycopg.connect(server.url, autocommit=True) as conn:
            conn.execute(f"CREATE ROLE rcmz LOGIN PASSWORD '{password}'")
            conn.execute("CREATE DATABASE rcmz OWNER rcmz")
        server.require_passwords()
        base = f"postgresql://rcmz:{quote(password, safe='')}@127.0.0.1:{server.port}/rcmz"
        wrong = f"postgresql://rcmz:{quote('p@ss:w/rd', safe='')}@127.0.0.1:{server.port}/rcmz"
        with pytest.raises(psycopg.OperationalError, match="password authentication failed"):
            psycopg.connect(wrong).close()
        migrate = subprocess.run([sys.executable, "-m", "storage.migrate", "--url", base], cwd=ROOT,
                                 capture_output=True, text=True, timeout=120)
        assert migrate.returncode == 0 and "database at revision" in migrate.stdout, migrate.stderr[-2000:]
        bot = BotProcess(botapi, base, tmp_path).start()
        try:
            r = Researcher(botapi, 8401)
            assert "申请" in r.command("/new")["text"]
        finally:
            bot.stop()

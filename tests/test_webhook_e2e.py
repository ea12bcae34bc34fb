"""Webhook mode loses nothing either: an update is committed to the inbox before the bot answers 200, so
killing the bot (kill -9) in the middle of a burst of webhook deliveries loses none of them, and after
the restart every one is applied exactly once."""

from __future__ import annotations

import time
from collections import Counter

import pytest
from sqlmodel import Session, select

from storage.db import make_engine
from storage.models import Draft
from tests.replicas import SECRET, WebhookBot, free_port

pytestmark = pytest.mark.slow
USERS = 40


def drafts_per_user(url: str) -> Counter:
    engine = make_engine(url)
    try:
        with Session(engine) as s:
            return Counter(d.user_id for d in s.exec(select(Draft)))
    finally:
        engine.dispose()


def test_kill_9_during_a_webhook_burst_loses_nothing_and_applies_each_update_once(botapi, database_url, tmp_path):
    port = free_port()
    bot = WebhookBot(botapi, database_url, tmp_path, f"http://127.0.0.1:{port}/hook", port).start()
    try:
        deadline = time.monotonic() + 20
        while botapi.webhook() is None and time.monotonic() < deadline:
            time.sleep(0.05)
        assert botapi.webhook()["secret_token"] == SECRET
        users = [botapi.user(70000 + i, first_name=f"u{i}") for i in range(USERS)]
        for user in users:  # a burst: every researcher starts an application at once
            user.send_text("/new")
        while len(botapi.webhook_deliveries()) < USERS // 3:
            time.sleep(0.005)
        bot.kill()  # some delivered and stored, some being handled, the rest still queued at Telegram
        delivered_before = len(botapi.webhook_deliveries())
        assert delivered_before < USERS, "the burst was over before the kill: nothing was tested"
        time.sleep(1.0)  # Telegram's deliveries now fail and are retried
        bot.start()
        botapi.wait_idle(timeout=60, quiet=2.0)
        counts = drafts_per_user(database_url)
        assert counts == Counter({u.id: 1 for u in users}), counts  # each /new applied exactly once
        assert "update failed" not in bot.all_logs()
    finally:
        bot.stop()


def test_a_request_without_the_secret_is_refused_and_stores_nothing(botapi, database_url, tmp_path):
    import urllib.error
    import urllib.request

    port = free_port()
    bot = WebhookBot(botapi, database_url, tmp_path, f"http://127.0.0.1:{port}/hook", port).start()
    try:
        forged = b'{"update_id": 1, "message": {"message_id": 1, "date": 1, "chat": {"id": 5, "type": "private"}, ' \
                 b'"from": {"id": 5, "is_bot": false, "first_name": "x"}, "text": "/new"}}'
        for headers in ({}, {"X-Telegram-Bot-Api-Secret-Token": "wrong"}):
            request = urllib.request.Request(f"http://127.0.0.1:{port}/hook", data=forged, method="POST",
                                             headers={"Content-Type": "application/json", **headers})
            with pytest.raises(urllib.error.HTTPError) as refused:
                urllib.request.urlopen(request, timeout=10)
            assert refused.value.code == 403
        time.sleep(1.0)
        assert drafts_per_user(database_url) == Counter()
    finally:
        bot.stop()

"""kill -9 during a fan-out of reminders: after restarts every reminder is delivered, and each crash
costs at most one duplicate (a message Telegram confirmed just before the process died)."""

from __future__ import annotations

import time
from collections import Counter

import pytest
from sqlmodel import Session, select

from storage import caserepo
from storage.casework import Outbox
from storage.db import create_schema, make_engine, session_scope
from storage.models import User
from tests.e2e import BotProcess

pytestmark = pytest.mark.slow
N = 150
CRASHES = 3


def delivered(server) -> Counter:
    return Counter(c.params.get("chat_id") for c in server.calls("sendMessage") if c.ok
                   and "提醒" in str(c.params.get("text", "")))


def test_fanout_survives_kill_9_with_at_most_one_duplicate_per_crash(botapi, database_url, tmp_path):
    engine = make_engine(database_url)
    create_schema(engine)
    users = [50000 + i for i in range(N)]
    with session_scope(engine) as s:
        for uid in users:
            botapi.user(uid, first_name=f"u{uid}")
            s.add(User(id=uid, first_name=f"u{uid}"))
        s.flush()
        for uid in users:
            caserepo.enqueue(s, uid, "rem.test", {}, f"⏰ 期限提醒 #{uid}", f"fanout:{uid}")
    bot = BotProcess(botapi, database_url, tmp_path)
    for crash in range(CRASHES):
        bot.start()
        target = (crash + 1) * N // (CRASHES + 1)
        deadline = time.monotonic() + 60
        while sum(delivered(botapi).values()) < target and time.monotonic() < deadline:
            time.sleep(0.02)
        bot.kill()
    bot.start()
    deadline = time.monotonic() + 90
    while len(delivered(botapi)) < N and time.monotonic() < deadline:
        time.sleep(0.1)
    botapi.wait_idle(timeout=20, quiet=1.0)
    bot.stop()
    counts = delivered(botapi)
    assert set(counts) == set(users), f"lost: {sorted(set(users) - set(counts))[:10]}"
    duplicates = sum(n - 1 for n in counts.values())
    print(f"delivered {sum(counts.values())} messages to {len(counts)} users; {duplicates} duplicate(s)")
    assert duplicates <= CRASHES, counts.most_common(5)
    with Session(engine) as s:
        statuses = Counter(o.status for o in s.exec(select(Outbox)))
    assert statuses == {"delivered": N}

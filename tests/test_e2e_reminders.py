"""Reminders through the real bot process and the local Bot API server, under a controlled clock
(NOW_OVERRIDE): a restart between scheduling and firing loses nothing and duplicates nothing."""

from __future__ import annotations

from dialogs.policy import load_policies
from tests.e2e import BotProcess, Researcher
from tests.scenario import happy_path

POLICY = load_policies()["dongguan"]


def wait_for_texts(r: Researcher, needle: str, count: int, timeout: float = 20.0) -> list[str]:
    import time

    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        found = [t for t in r.user.texts() if needle in t]
        if len(found) >= count:
            return found
        time.sleep(0.1)
    raise AssertionError(f"expected {count} message(s) with {needle!r}; got: {r.user.texts()[-6:]}")


def test_filing_reminder_survives_a_kill_between_scheduling_and_firing(botapi, database_url, tmp_path):
    bot = BotProcess(botapi, database_url, tmp_path, NOW_OVERRIDE="2026-09-26T10:00:00+08:00",
                     REMINDER_SCAN_SECONDS="0.3").start()
    try:
        r = Researcher(botapi, 4711)
        r.command("/new")
        steps = happy_path(POLICY, start_date="2026-09-25")
        date_at = next(i for i, s in enumerate(steps) if s.value == "2026-09-25")
        screen = r.run(steps[:date_at + 1])
        assert "2026-10-15" in screen["text"]  # 10 working days after 9/25 across National Day, 4(1)2
        botapi.wait_idle(timeout=10, quiet=1.0)  # a scan ran: the clock row exists, nothing is due yet
        assert not [t for t in r.user.texts() if "期限提醒" in t]

        bot.kill()  # down from 9/26 until 10/13 09:30: the 5-left reminder (10/9) and 2-left (10/13 09:00) passed
        bot.extra_env["NOW_OVERRIDE"] = "2026-10-13T09:30:00+08:00"
        bot.start()
        [late] = wait_for_texts(r, "期限提醒", 1)
        assert "还剩 2 个工作日" in late and "延迟送达" in late and "2026-10-15" in late and "草稿 #" in late

        botapi.wait_idle(timeout=10, quiet=1.0)  # its delivery recorded (a kill before that may resend it once)
        bot.kill()  # and again, with nothing new due: no duplicate
        bot.start()
        botapi.wait_idle(timeout=10, quiet=1.5)
        assert len([t for t in r.user.texts() if "期限提醒" in t]) == 1
    finally:
        bot.stop()

"""Three bot processes on one PostgreSQL behind one webhook URL (a round-robin proxy), 20 researchers and
3 officers working, and kill -9 of a random process — the scheduler's included — five times: every
answer is applied exactly once, every reminder is sent (at most one duplicate per crash), the scheduler
moves to another process, and the officers' digest is sent once."""

from __future__ import annotations

import datetime as dt
import random
import threading
import time
import uuid
from collections import Counter
from collections.abc import Iterator

import psycopg
import pytest
from sqlmodel import Session, col, select

from bot.config import Settings
from bot.i18n import t
from bot.runtime import build_runtime
from dialogs.policy import load_policies
from storage import caserepo
from storage.casework import CaseEvent, Membership
from storage.db import make_engine, session_scope
from storage.models import Case, Draft, Upload, User
from tests.botapi import BotApiServer
from tests.conftest import PG_SERVER
from tests.e2e import Researcher, has_keyboard
from tests.pgserver import PrivatePostgres
from tests.replicas import RoundRobinProxy, WebhookBot, free_port
from tests.scenario import FACTS, Step, happy_path

pytestmark = pytest.mark.slow
POLICIES = load_policies()
NOW = "2026-11-13T14:00:00+08:00"  # a Friday afternoon: the 09:00 digest is owed, filing windows end today
TODAY = dt.date(2026, 11, 13)
START = "2026-11-10"
RESEARCHERS, REMINDED, KILLS = 20, 30, 5
OFFICERS = {"dongguan": 96001, "yunnan": 96002, "shanwei": 96003}
ORDER = ["dongguan", "yunnan", "shanwei", "liaoning", "zhejiang"]


@pytest.fixture()
def pg_url() -> Iterator[str]:
    """A fresh PostgreSQL database: on the suite's server when there is one, else on a private server."""
    if PG_SERVER:
        name = f"t_{uuid.uuid4().hex[:12]}"
        with psycopg.connect(PG_SERVER, autocommit=True) as conn:
            conn.execute(f'CREATE DATABASE "{name}"')
        try:
            yield f"{PG_SERVER.rsplit('/', 1)[0]}/{name}"
        finally:
            with psycopg.connect(PG_SERVER, autocommit=True) as conn:
                conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        return
    with PrivatePostgres() as server:
        yield server.url


def seed(url: str, server: BotApiServer) -> None:
    """Officers with their roles, one case due within the digest's horizon, and drafts whose filing window
    ends today (their reminder is due: sent late, once)."""
    runtime = build_runtime(Settings(database_url=url, now_override=dt.datetime.fromisoformat(NOW), _env_file=None))
    with session_scope(runtime.engine) as s:
        for policy, uid in OFFICERS.items():
            server.user(uid, first_name=f"经办-{policy}")
            s.add(User(id=uid, first_name=f"经办-{policy}"))
            s.add(Membership(user_id=uid, role="officer", policy_key=policy,
                             level="provincial" if policy == "yunnan" else None))
        case = Case(number="DG-2026-0900", draft_id=0, applicant_id=95999, policy_key="dongguan", policy_version=1,
                    answers={"project": {}}, state="received")
        s.add(case)
        s.flush()
        caserepo.add_event(s, case.id, 95999, "applicant", "submit", None, "received", event="application_filed",
                           at=dt.datetime(2026, 11, 2, 2, 0, tzinfo=dt.UTC))
        for i in range(REMINDED):
            uid = 95000 + i
            server.user(uid, first_name=f"r{i}")
            s.add(User(id=uid, first_name=f"r{i}"))
            s.add(Draft(user_id=uid, policy_key="dongguan", policy_version=1, state="conditions",
                        answers={"policy": "dongguan", "origin": "authority", "start_date": "2026-10-30"},
                        updated_at=dt.datetime(2026, 11, 12, 2, 0, tzinfo=dt.UTC)))
    runtime.engine.dispose()


class Walker(Researcher):
    """A researcher who does not give up when a reply goes missing in a crash: the answer is either
    applied (the draft moved on: the current screen is fetched with /drafts → resume) or still on its
    way (wait for it). Nothing is ever sent twice."""

    def __init__(self, server: BotApiServer, user_id: int, url: str) -> None:
        super().__init__(server, user_id)
        self.url = url
        self.recoveries = 0

    def _revision(self) -> tuple[int, int] | None:
        engine = make_engine(self.url)
        try:
            with Session(engine) as s:
                d = s.exec(select(Draft).where(Draft.user_id == self.user.id, Draft.status != "deleted")
                           .order_by(col(Draft.id).desc())).first()
                return None if d is None else (d.id or 0, d.revision)
        finally:
            engine.dispose()

    def _recover(self, before: tuple[int, int] | None) -> None:
        deadline = time.monotonic() + 120
        while (now := self._revision()) == before or now is None:
            assert time.monotonic() < deadline, f"researcher {self.user.id}: the answer never arrived"
            time.sleep(0.5)
        self.recoveries += 1
        self.command("/drafts")
        self.press(f"dr:r:{now[0]}")

    def button_data(self, action: str) -> str:
        """The button on the newest screen. After a crash the inbox shows an applied update's current screen
        once more (README: "Where it stops"), and that copy can arrive before the reply to the next answer: wait
        for the newer screen, and if none comes, fetch the current one with /drafts → resume."""
        deadline, resumed = time.monotonic() + 20, False
        while True:
            try:
                return super().button_data(action)
            except AssertionError:
                if time.monotonic() < deadline:
                    time.sleep(0.3)
                    continue
                now = self._revision()
                if resumed or action.startswith("dr:") or now is None:
                    raise
                resumed, deadline = True, time.monotonic() + 20
                self.recoveries += 1
                self.command("/drafts")
                self.press(f"dr:r:{now[0]}")

    def _handled(self, update_id: int) -> bool:
        """The inbox finished this update (its reply confirmed): if the draft did not move, it was refused."""
        from storage import inbox

        engine = make_engine(self.url)
        try:
            with Session(engine) as s:
                return inbox.state_of(s, update_id) == inbox.DONE
        finally:
            engine.dispose()

    def act(self, step: Step) -> None:
        """One answer, and not the next before this one is applied (the draft's revision moved). A screen that
        arrives first may be an older one shown again after a crash, and a press on it is refused as stale:
        the inbox finished the update and the draft did not move. Then, as a person would, the walker fetches
        the current screen and presses again — never re-sending an update that may still be applied."""
        before = self._revision()
        for _attempt in range(3):
            mark = self.user.mark()
            if step.kind == "press":
                update_id = self.user.press_data(self.button_data(step.value), self.screen()["message_id"])
            elif step.kind == "text":
                update_id = self.user.send_text(step.value)
            else:
                update_id = self.user.send_document(step.value, b"%PDF-1.4\n" + b"0" * step.size,
                                                    mime_type="application/pdf")
            try:
                self.user.wait_for(has_keyboard, timeout=20, since=mark)
                shown = True
            except AssertionError:
                shown = False
            deadline = time.monotonic() + 120
            while (now := self._revision()) == before and not self._handled(update_id):
                assert time.monotonic() < deadline, f"researcher {self.user.id}: the answer never arrived"
                time.sleep(0.3)
            if now == before:  # handled, nothing changed: refused (a stale screen); settle, then look again
                time.sleep(1.0)
                now = self._revision()
            if now != before:
                if not shown:
                    self.recoveries += 1
                    self.command("/drafts")
                    self.press(f"dr:r:{now[0]}")
                return
            assert step.kind == "press", f"researcher {self.user.id}: {step.kind} {step.value[:20]!r} refused"
            self.recoveries += 1
            self.command("/drafts")
            self.press(f"dr:r:{before[0]}")
        raise AssertionError(f"researcher {self.user.id}: {step.value!r} refused three times")

    def start_application(self) -> None:
        mark = self.user.mark()
        self.user.send_text("/new")
        try:
            self.user.wait_for(has_keyboard, timeout=20, since=mark)
        except AssertionError:
            self._recover(None)


def walk(server: BotApiServer, url: str, uid: int, policy_key: str, errors: list[BaseException]) -> None:
    try:
        r = Walker(server, uid, url)
        r.start_application()
        for step in happy_path(POLICIES[policy_key], start_date=START):
            r.act(step)
    except BaseException as exc:  # noqa: BLE001 - reported by the main thread
        errors.append(exc)


def officer_work(server: BotApiServer, url: str, policy_key: str, stop: threading.Event,
                 errors: list[BaseException]) -> None:
    """Accept every new case of the policy as it comes in (the procedure's first officer action)."""
    officer = Researcher(server, OFFICERS[policy_key], name="经办")
    try:
        while not stop.is_set():
            engine = make_engine(url)
            with Session(engine) as s:
                waiting = list(s.exec(select(Case).where(Case.policy_key == policy_key, Case.state == "received",
                                                         Case.applicant_id >= 97000)))
            engine.dispose()
            for case in waiting:
                try:
                    officer.command(f"/case {case.number}")
                    officer.press(f"c:a:{case.id}:received:accept")
                    for _ in range(3):  # optional fields: skip them
                        data = [b.get("callback_data", "") for row in officer.screen()["reply_markup"]
                                ["inline_keyboard"] for b in row]
                        if f"c:s:{case.id}" not in data:
                            break
                        officer.press(f"c:s:{case.id}")
                    officer.press(f"c:k:{case.id}")
                except AssertionError:
                    continue  # a reply lost in a crash: the case is looked at again on the next round
            stop.wait(1.0)
    except BaseException as exc:  # noqa: BLE001
        errors.append(exc)


def leader_of(bots: list[WebhookBot]) -> WebhookBot | None:
    took, lost = t("ops.leader", "zh"), t("ops.leader_lost", "zh")
    for bot in bots:
        if bot.alive():
            log = bot.log()
            if took in log and log.rfind(took) > log.rfind(lost):
                return bot
    return None


def texts_to(server: BotApiServer, chat_id: int, needle: str) -> int:
    return len([c for c in server.calls("sendMessage") if c.ok and str(c.params.get("chat_id")) == str(chat_id)
                and needle in str(c.params.get("text", ""))])


def test_three_processes_survive_five_kills(pg_url, tmp_path):
    rng = random.Random(20261113)
    with BotApiServer() as server, RoundRobinProxy([free_port() for _ in range(3)]) as proxy:
        seed(pg_url, server)
        bots = [WebhookBot(server, pg_url, tmp_path, proxy.url, port, name=f"bot{i}", NOW_OVERRIDE=NOW,
                           REMINDER_SCAN_SECONDS="2", INBOX_LEASE_SECONDS="15", LEADER_RETRY_SECONDS="1")
                for i, port in enumerate(proxy.backends)]
        for bot in bots:
            bot.start()
        errors: list[BaseException] = []
        stop = threading.Event()
        researchers = [threading.Thread(target=walk, args=(server, pg_url, 97000 + i, ORDER[i % len(ORDER)], errors))
                       for i in range(RESEARCHERS)]
        officers = [threading.Thread(target=officer_work, args=(server, pg_url, p, stop, errors)) for p in OFFICERS]
        for th in researchers + officers:
            th.start()
        killed_leader = took_over = 0
        try:
            for k in range(KILLS):
                time.sleep(rng.uniform(4, 8))
                leader = leader_of(bots)
                victim = leader if k in (1, 3) and leader is not None else rng.choice(bots)
                was_leader = victim is leader
                victim.kill()
                if was_leader:
                    killed_leader += 1
                    deadline = time.monotonic() + 30
                    while (new := leader_of(bots)) is None and time.monotonic() < deadline:
                        time.sleep(0.2)
                    took_over += int(new is not None and new is not victim)
                time.sleep(rng.uniform(0.5, 2))
                victim.start()
            for th in researchers:
                th.join(600)
            assert not errors, errors[:3]
            assert not any(th.is_alive() for th in researchers), "researchers still walking"
            time.sleep(3)
            stop.set()
            for th in officers:
                th.join(120)
            server.wait_idle(timeout=60, quiet=3.0)
        finally:
            stop.set()
            for bot in bots:
                bot.stop()
        logs = "".join(b.all_logs() for b in bots)

    assert killed_leader >= 2 and took_over == killed_leader, (killed_leader, took_over)
    engine = make_engine(pg_url)
    with Session(engine) as s:
        for i in range(RESEARCHERS):  # every answer applied exactly once
            uid, policy = 97000 + i, POLICIES[ORDER[i % len(ORDER)]]
            [case] = s.exec(select(Case).where(Case.applicant_id == uid)).all()
            draft = s.get(Draft, case.draft_id)
            uploads = s.exec(select(Upload).where(Upload.draft_id == draft.id)).all()
            assert case.answers["facts"] == FACTS and case.policy_key == policy.key
            owed = {m.id for m in policy.materials if m.required and m.id not in ("application", "statement")}
            assert sorted(u.material_id for u in uploads) == sorted(owed), (uid, [u.file_name for u in uploads])
            assert all(v == f"测试-{k}" for k, v in case.answers["project"].items()
                       if isinstance(v, str) and v.startswith("测试-")), case.answers["project"]
        accepted = Counter(e.case_id for e in s.exec(select(CaseEvent).where(CaseEvent.action == "accept",
                                                                               col(CaseEvent.refused).is_(False))))
    engine.dispose()
    assert accepted and max(accepted.values()) == 1, accepted  # no case accepted twice
    reminders = Counter({95000 + i: texts_to(server, 95000 + i, "⏰") for i in range(REMINDED)})
    assert min(reminders.values()) >= 1, [u for u, n in reminders.items() if n == 0]  # every reminder sent
    assert sum(n - 1 for n in reminders.values()) <= KILLS, reminders.most_common(3)
    digest = t("rem.digest", "zh", date=TODAY.isoformat(), items="")[:10]
    assert texts_to(server, OFFICERS["dongguan"], digest) == 1  # the digest, once, whoever sent it
    assert "update failed" not in logs
    print(f"proxy forwarded {proxy.forwarded}, failed {proxy.failed}; kills {KILLS} ({killed_leader} of the "
          f"scheduler); reminders {sum(reminders.values())} for {REMINDED}; accepted {len(accepted)} cases")


"""Hostile input against the real bot process over HTTP (issue 11, "What must show"): forged and corrupted
callback data, commands with malicious arguments, texts at Telegram's limits, odd documents, stickers, Web
App data, edited messages, group messages, channel posts and membership changes.

For every input, one at a time, the test asserts:
- the bot answered with a refusal or a clear message (a toast, or a screen or message in the sender's
  private chat), in the sender's language, never "internal error"; outside private chats silence is fine;
- every request the bot made in answer was accepted by Telegram (a screen over 4096 UTF-16 units is not);
- no row of anyone else changed (users, drafts, uploads, cases, events, memberships, invitations, forms,
  outbox, case documents, clocks); where nothing at all should change, not even the sender's own rows;
- nothing was logged at ERROR and no traceback.
It waits for each input until the bot's inbox has its row done (the answer is out), so there is no
sleeping and no guessing.

Format-agnostic: callback data is not written down here (beyond tests/hostile_kit.SEED_DATA). A scripted
session (driven with the e2e helpers, like every end-to-end test) has researchers, an officer and the
admin press through the real screens; every callback_data the bot sent them is harvested from the
server's record and then mutated (ids in Unicode digits, 20 digits, 2^31, 2^63, negative, empty, NUL,
extra and empty parts, 1,000 characters, another user's ids, every prefix with junk), pressed by its owner
and, verbatim, by everyone else. Two oracles go beyond "no crash": a Unicode-digit id of the same value
must not be answered like the ASCII id (callbacks: it must be answered like an "x" in its place;
commands: unlike the ASCII id's own answer), and a stale button must not lead to a screen offering a
button the bot then refuses. The longest application the wizard accepts (3,500 astral characters of facts,
every project field at 200 astral characters) is walked to its summary.

Failures are collected per input and reported together with the input, so one run lists everything that
is mishandled; the list is also written to hostile-report.txt next to the bot's log.
"""

from __future__ import annotations

import datetime as dt
import json
import re
import time
import urllib.request
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from sqlmodel import Session, select

from bot.i18n import catalogue
from dialogs.policy import load_policies
from storage.casework import Membership, Outbox
from storage.db import make_engine
from storage.inbox import DONE, InboxUpdate
from storage.models import Case, Draft, Upload
from tests import hostile_kit as hk
from tests.botapi import BotApiServer, Channel, Group, User
from tests.conftest import fresh_database
from tests.e2e import TOKEN, BotProcess, Researcher, has_keyboard
from tests.scenario import FACTS, Step, happy_path

pytestmark = pytest.mark.slow
POLICY = load_policies()["dongguan"]
START = (dt.date.today() - dt.timedelta(days=3)).isoformat()
ADMIN, OFFICER = 9001, 2001
INTERNAL = {catalogue("zh")["err.internal"], catalogue("en")["err.internal"]}
NOT_MODIFIED = "message is not modified"


# ------------------------------------------------------------------------------------------- the cast


@dataclass
class Actor:
    r: Researcher
    lang: str
    name: str

    @property
    def user(self) -> User:
        return self.r.user

    @property
    def id(self) -> int:
        return self.r.user.id

    def last_message_id(self) -> int:
        """Where a forged press lands: the newest message with buttons, as a client would send it (refusals
        can take the buttons off every screen: then the newest screen)."""
        found = self.user.last_message_id(with_keyboard=True) or self.user.last_message_id(with_text=True)
        assert found is not None, f"{self.name} has no bot message to press on"
        return found


@dataclass
class Outcome:
    toast: str | None = None
    alert: bool = False
    texts: list[str] = field(default_factory=list)
    files: int = 0
    problems: list[str] = field(default_factory=list)
    new_buttons: list[str] = field(default_factory=list)

    @property
    def signature(self) -> tuple[bool, bool]:
        """What kind of answer it was: a refusal toast or not, a file sent or not."""
        return bool(self.toast), self.files > 0


@dataclass
class World:
    server: BotApiServer
    bot: BotProcess
    engine: Any
    actors: dict[str, Actor]
    harvest: dict[int, list[str]]  # user id -> callback_data the bot sent them, oldest first
    stale: dict[int, list[str]]  # user id -> harvested data no longer on any of their messages
    others: dict[int, list[str]]  # user id -> ids of rows that belong to someone else
    group: Group
    admin_group: Group
    channel: Channel
    invite_link: str
    case_number: str
    case_id: int
    b_draft: int
    log_offset: int = 0
    counted: dict[str, int] = field(default_factory=dict)
    failures: list[str] = field(default_factory=list)
    distinct: set[str] = field(default_factory=set)  # sender and input of everything sent
    _rows: hk.Rows | None = None  # the snapshot after the last input: the next one's "before"
    snapshots: hk.Snapshots = field(init=False)

    def __post_init__(self) -> None:
        self.snapshots = hk.Snapshots(self.engine)

    # -- one input --------------------------------------------------------------------------------------
    def run(self, label: str, actor: Actor, act: Callable[[], int | None], *, private: bool = True,
            own_may_change: bool = True, expect_answer: bool = True, category: str = "", echo: str = "") -> Outcome:
        """Send one input (``act`` returns its update_id), wait until the bot confirmed it, check everything.
        ``echo``: what the input itself contains, which the answer may quote."""
        server = self.server
        self.counted[category] = self.counted.get(category, 0) + 1
        self.distinct.add(f"{actor.id} {label}")
        calls_before = server.call_count()
        rows_before = self._rows if self._rows is not None else self.snapshots.take()
        update_id = act() or 0
        unfinished = self.wait_handled(update_id)
        rows_after = self._rows = self.snapshots.take()
        calls = server.calls_since(calls_before)
        out = self._outcome(actor, calls)
        out.problems += [unfinished] if unfinished else []
        out.problems += [f"logged: {line}" for line in hk.error_lines(self._new_log())]
        attempted = [str(c.params.get("text") or c.params.get("caption") or "") for c in calls]
        if any(x in text for text in attempted for x in INTERNAL):
            out.problems.append("answered with the internal-error message" if any(
                x in text for text in [out.toast or "", *out.texts] for x in INTERNAL)
                else "tried to answer with the internal-error message (and Telegram refused even that)")
        if private and expect_answer and update_id and not (out.toast or out.texts or out.files):
            out.problems.append("no answer at all (no toast, no message)")
        out.problems += self._language(self._language_now(actor, rows_after), out, echo)
        out.problems += hk.changed_rows(rows_before, rows_after, actor.id, own_may_change)
        if out.problems:
            self.failures.append(f"[{category}] {actor.name}: {label}\n      " + "\n      ".join(out.problems))
        return out

    def wait_handled(self, update_id: int, timeout: float = 20.0) -> str | None:
        """Block until the bot has finished with ``update_id``: the poller confirms an update once it is in
        the inbox (storage/inbox.py), and a worker marks its row done once the answer is out. None, or
        why it did not finish (a failure taken for a transient one is retried, and retried)."""
        if not update_id:
            return None
        self.server.wait_confirmed(update_id, timeout=30)
        deadline = time.monotonic() + timeout
        pause = 0.002
        while True:
            with Session(self.engine) as s:
                row = s.exec(select(InboxUpdate).where(InboxUpdate.update_id == update_id)).first()
            if row is not None and row.status == DONE:
                return None
            if time.monotonic() > deadline:
                state = f"{row.status}, attempts {row.attempts}, {row.error}" if row is not None else "not in the inbox"
                return f"not finished after {timeout:.0f}s ({state})"
            time.sleep(pause)
            pause = min(pause * 2, 0.02)

    def _new_log(self) -> str:
        path = self.bot.workdir / f"bot-{self.bot.starts}.log"
        with open(path, "rb") as fh:
            fh.seek(self.log_offset)
            data = fh.read()
        self.log_offset += len(data)
        return data.decode("utf-8", "replace")

    def _outcome(self, actor: Actor, calls: list[Any]) -> Outcome:
        out = Outcome()
        for c in calls:
            if c.method == "getUpdates":
                continue
            unchanged = NOT_MODIFIED in (c.error or "")  # the screen already says exactly this
            if c.status not in (None, 200) and not unchanged:
                out.problems.append(f"Telegram refused the bot's {c.method}: {c.error}")
            if c.status != 200 and not unchanged:
                continue  # what the user saw: only what Telegram accepted
            if c.method == "answerCallbackQuery":
                record = self.server._callbacks.get(str(c.params.get("callback_query_id")), {})
                if record.get("user_id") == actor.id and c.params.get("text"):
                    out.toast = str(c.params["text"])
                    out.alert = c.params.get("show_alert") is True
                continue
            if str(c.params.get("chat_id")) != str(actor.id):
                continue
            if c.method in ("sendDocument", "sendPhoto"):
                out.files += 1
            text = c.params.get("text") or c.params.get("caption")
            if text:
                out.texts.append(str(text))
            markup = c.params.get("reply_markup")
            if isinstance(markup, str):
                markup = json.loads(markup)
            for row in (markup or {}).get("inline_keyboard", []):
                out.new_buttons += [b["callback_data"] for b in row if "callback_data" in b]
        return out

    @staticmethod
    def _language_now(actor: Actor, rows: hk.Rows) -> str:
        """The language the bot should speak to ``actor`` now: the one they chose (an input may have just
        chosen it), else their Telegram client's."""
        row = rows.get(("user", str(actor.id)))
        chosen = json.loads(row[1]).get("language") if row else None
        return chosen or actor.lang

    @staticmethod
    def _language(lang: str, out: Outcome, echo: str) -> list[str]:
        """Short answers (toasts, one-line messages) are in the sender's language; quoting the sender's own
        Chinese input to an English user is fine."""
        short = [t for t in [out.toast, *out.texts] if t and len(t) <= 300]
        if not short:
            return []
        if lang == "zh" and not any(hk.HAN.search(t) for t in short):
            return [f"answered a Chinese user in another language: {short[0][:120]!r}"]
        quoted = set(hk.HAN.findall(echo))
        foreign = [t for t in short if lang == "en" and set(hk.HAN.findall(t)) - quoted]
        return [f"answered an English user in Chinese: {foreign[0][:120]!r}"] if foreign else []

    # -- acting helpers ------------------------------------------------------------------------------------
    def press(self, actor: Actor, data: str, label: str, category: str = "callback", **kw: Any) -> Outcome:
        return self.run(f"presses {data[:80]!r} ({label})", actor,
                        lambda: actor.user.press_data(data, actor.last_message_id()), category=category, echo=data, **kw)

    def say(self, actor: Actor, text: str, label: str, category: str = "text", **kw: Any) -> Outcome:
        return self.run(f"sends {text[:60]!r} ({label})", actor, lambda: actor.user.send_text(text),
                        category=category, echo=text, **kw)

    def raw_message(self, actor: Actor, label: str, category: str, **fields: Any) -> Outcome:
        """A message Telegram's own clients would not produce (over a limit, a zero-byte file): as an
        MTProto client or a future Telegram change might deliver it."""
        def act() -> int:
            with self.server._cond:
                chat = self.server._chats[actor.id]
                msg = self.server._add_message(chat, chat.profile, fields)
                return self.server._enqueue({"message": msg.data})
        return self.run(label, actor, act, category=category, echo=json.dumps(fields, ensure_ascii=False))

    def quietly(self, act: Callable[[], int | None]) -> None:
        """A legitimate step between hostile inputs (not checked, only waited for)."""
        self.wait_handled(act() or 0)
        self._new_log()
        self._rows = None

    def ensure_officer(self) -> None:
        """Put the officer back if a hostile input took the role away (so later inputs still reach the
        officer's side); the loss itself has been reported by the input that caused it."""
        with Session(self.engine) as s:
            active = s.exec(select(Membership).where(Membership.user_id == OFFICER,
                                                     Membership.revoked_at == None)).first()  # noqa: E711
        if active is not None:
            return
        admin, officer = self.actors["M"].user, self.actors["O"].user
        mark = admin.mark()
        self.quietly(lambda: admin.send_text(f"/invite officer dongguan {OFFICER}"))
        link = re.search(r"https://t\.me/\S+", admin.wait_for_text("t.me/", since=mark)["text"]).group(0)  # type: ignore[union-attr]
        self.quietly(lambda: officer.open_link(link))

    def as_bot(self, method: str, **params: Any) -> dict[str, Any]:
        """Call the Bot API as the bot would (to put a message with buttons into a group or channel)."""
        req = urllib.request.Request(f"{self.server.url}/bot{TOKEN}/{method}", data=json.dumps(params).encode(),
                                     headers={"Content-Type": "application/json"})
        self._rows = None
        with urllib.request.urlopen(req, timeout=10) as resp:
            return json.loads(resp.read())["result"]


# ------------------------------------------------------------------------------------------- the session


def _press_where(r: Researcher, predicate: Callable[[str], bool]) -> dict[str, Any]:
    for row in r.screen()["reply_markup"]["inline_keyboard"]:
        for button in row:
            data = button.get("callback_data", "")
            if predicate(data):
                mark = r.user.mark()
                r.user.press_data(data, r.screen()["message_id"])
                return r.user.wait_for(has_keyboard, timeout=15, since=mark)
    raise AssertionError(f"no such button on {r.screen().get('text', '')[:200]!r}: {r.screen()['reply_markup']}")


def _walk(r: Researcher, steps: list[Any]) -> None:
    r.command("/new")
    r.run(steps)


def _harvest(server: BotApiServer) -> dict[int, list[str]]:
    out: dict[int, list[str]] = {}
    for c in server.calls():
        markup = c.params.get("reply_markup")
        if c.status != 200 or not markup:
            continue
        if isinstance(markup, str):
            markup = json.loads(markup)
        for row in markup.get("inline_keyboard", []):
            for b in row:
                if "callback_data" in b:
                    chat = int(c.params["chat_id"]) if str(c.params.get("chat_id", "")).lstrip("-").isdigit() else 0
                    out.setdefault(chat, [])
                    if b["callback_data"] in out[chat]:
                        out[chat].remove(b["callback_data"])
                    out[chat].append(b["callback_data"])
    return out


def _wait_outbox_empty(engine: Any, timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        with Session(engine) as s:
            if not s.exec(select(Outbox).where(Outbox.status == "pending")).first():
                return
        time.sleep(0.1)
    raise AssertionError("the outbox did not drain")


@pytest.fixture(scope="module")
def world(tmp_path_factory) -> Iterator[World]:
    workdir: Path = tmp_path_factory.mktemp("hostile")
    with BotApiServer() as server, fresh_database(workdir) as url:
        # the limiter only paces the bot's requests (tests/test_faults.py covers it); without it two
        # thousand inputs take a minute, not three
        bot = BotProcess(server, url, workdir, ADMIN_IDS=str(ADMIN), REMINDER_SCAN_SECONDS="100000",
                         RATE_LIMITER="false").start()
        try:
            yield _session(server, bot, url)
        finally:
            bot.stop()


def _session(server: BotApiServer, bot: BotProcess, url: str) -> World:
    cast = {
        "A": Actor(Researcher(server, 1001, "申请人甲"), "zh", "A (applicant, zh)"),
        "B": Actor(Researcher(server, 1002, "Applicant B", language_code="en"), "en", "B (researcher, en)"),
        "C": Actor(Researcher(server, 1003, "丙"), "zh", "C (at a typed project field)"),
        "D": Actor(Researcher(server, 1004, "丁"), "zh", "D (at the statement of facts)"),
        "E": Actor(Researcher(server, 1005, "戊"), "zh", "E (at the start date)"),
        "F": Actor(Researcher(server, 1007, "己"), "zh", "F (the longest application)"),
        "S": Actor(Researcher(server, 1006, "Stranger", language_code="en"), "en", "S (stranger, en)"),
        "O": Actor(Researcher(server, OFFICER, "经办人"), "zh", "O (officer)"),
        "M": Actor(Researcher(server, ADMIN, "管理员"), "zh", "M (admin)"),
    }
    a, b, c, d, e, s, o, m = (cast[k].r for k in "ABCDESOM")
    steps = happy_path(POLICY, start_date=START)
    facts_at = next(i for i, st in enumerate(steps) if st.kind == "text" and st.value == FACTS)
    date_at = next(i for i, st in enumerate(steps) if st.kind == "text" and st.value == START)
    first_doc = next(i for i, st in enumerate(steps) if st.kind == "doc")

    # the admin invites an officer by user id (no confirmation step then), who opens the deep link
    m.command("/start")
    mark = m.user.mark()
    m.user.send_text(f"/invite officer dongguan {OFFICER}")
    invite = m.user.wait_for_text("t.me/", since=mark, timeout=15)["text"]
    link = re.search(r"https://t\.me/\S+", invite).group(0)  # type: ignore[union-attr]
    mark = o.user.mark()
    o.user.open_link(link)
    o.user.wait_for(has_keyboard, since=mark, timeout=15)

    # A applies, looking at the drafts list on the way (its buttons go stale on submission)
    _walk(a, steps[:facts_at])
    a.command("/drafts")
    _press_where(a, lambda x: x.startswith("dr:r:"))
    a.run(steps[facts_at:])
    a.command("/status")
    _press_where(a, lambda x: x.startswith("c:o:"))
    # B stops after the first upload; C, D and E each wait at a question that takes typed text
    _walk(b, steps[: first_doc + 1])
    _walk(c, steps[:2])
    _walk(d, steps[:facts_at])
    _walk(e, steps[:date_at])
    _walk(cast["F"].r, [Step("text", hk.ASTRAL * 200) if st.kind == "text" and st.value.startswith("测试-") else st
                        for st in steps[:facts_at]])  # every typed project field at its maximum, in astral text
    s.command("/start")
    engine = make_engine(url)
    _wait_outbox_empty(engine)
    # the officer opens the case, goes through a form and cancels it, then opens another and leaves it open
    o.command("/queue")
    _press_where(o, lambda x: x.startswith("c:o:"))
    _press_where(o, lambda x: x.endswith(":accept"))
    _press_where(o, lambda x: x.startswith("c:s:"))
    _press_where(o, lambda x: x.startswith("c:x:"))
    _press_where(o, lambda x: x.endswith(":more_material"))
    m.command("/officers")

    # a group where the bot is a plain member (privacy mode), one where it is an admin, and a channel
    group = server.group("课题组", members=[cast["A"].user, cast["B"].user], creator=cast["M"].user)
    admin_group = server.group("管理群", members=[cast["A"].user], creator=cast["M"].user)
    channel = server.channel("容错免责公告", username="rcmz_hostile", creator=cast["M"].user,
                             subscribers=[cast["A"].user, cast["B"].user])
    joins = [where.add_bot(by=cast["M"].user, admin=where is not group) for where in (group, admin_group, channel)]
    server.wait_confirmed(max([*joins, *(u["update_id"] for u in server.pending_updates())]), timeout=15)
    _wait_outbox_empty(engine)

    harvest = _harvest(server)
    current = {who.id: {x for msg in who.user.messages() for row in (msg.get("reply_markup") or {})
                        .get("inline_keyboard", []) for x in [bt.get("callback_data") for bt in row] if x}
               for who in cast.values()}
    stale = {uid: [x for x in datas if x not in current.get(uid, set())] for uid, datas in harvest.items()}
    with Session(engine) as ses:
        rows = [(dr.user_id, str(dr.id)) for dr in ses.exec(select(Draft))]
        rows += [(cs.applicant_id, str(cs.id)) for cs in ses.exec(select(Case))]
        drafts = {dr.id: dr.user_id for dr in ses.exec(select(Draft))}
        rows += [(drafts[up.draft_id], str(up.id)) for up in ses.exec(select(Upload))]
        rows += [(mb.user_id, str(mb.id)) for mb in ses.exec(select(Membership))]
        the_case = ses.exec(select(Case)).one()
        case_number, case_id = the_case.number, the_case.id or 0
        b_draft = ses.exec(select(Draft).where(Draft.user_id == cast["B"].id)).one().id
    others = {who.id: list(dict.fromkeys(i for owner, i in rows if owner != who.id))[:4] for who in cast.values()}
    world = World(server, bot, engine, cast, harvest, stale, others, group, admin_group, channel, link, case_number,
                  case_id, b_draft or 0)
    world._new_log()
    startup_errors = hk.error_lines(bot.log())
    assert not startup_errors, f"the scripted session itself logged errors: {startup_errors}"
    assert all(harvest.get(cast[k].id) for k in "ABOM"), {k: len(harvest.get(cast[k].id, [])) for k in cast}
    return world


def _report(world: World, *categories: str) -> None:
    """One assertion for all of a test's categories, listing every mishandled input (also written to
    hostile-report.txt next to the bot's log)."""
    lines, summary = [], []
    for category in categories:
        mine = [f for f in world.failures if f.startswith(f"[{category}]")]
        assert world.counted.get(category, 0) > 0, f"no {category} input was sent"
        summary.append(f"{category}: {len(mine)} of {world.counted[category]} mishandled")
        lines += mine
    with open(world.bot.workdir / "hostile-report.txt", "a", encoding="utf-8") as fh:
        fh.write("\n".join(summary + lines) + "\n\n")
    assert not lines, "; ".join(summary) + "\n" + "\n".join(lines)


# ------------------------------------------------------------------------------------------- the inputs


def test_callback_data_harvested_and_mutated(world: World) -> None:
    """Every family of callback data the bot sent, corrupted, by its owner; every user's data, verbatim, by
    everyone else; every prefix with junk; the owner's own stale buttons, and what those offer."""
    cast = world.actors
    pressers = [cast[k] for k in "ABOM"]
    families: dict[int, dict[str, str]] = {}
    for who in [*pressers, cast["C"], cast["D"], cast["E"]]:  # C, D, E: buttons of a draft's current revision
        for data in world.harvest.get(who.id, []):
            families.setdefault(who.id, {})[hk.family(data)] = data  # the latest of each family
    seen: set[str] = set()
    for who in [*pressers, cast["C"], cast["D"], cast["E"]]:  # data without ids ("g:new"): corrupt it once
        for fam in [f for f in families[who.id] if "#" not in f]:
            if fam in seen:
                del families[who.id][fam]
            seen.add(fam)
    for who in [cast["C"], cast["D"], cast["E"], *pressers]:
        for data in families[who.id].values():
            for label, mutated in hk.mutations(data, world.others[who.id], equivalents=False):
                world.press(who, mutated, f"own {data!r}: {label}")
            pairs = hk.equivalent_pairs(data)
            if pairs is None:
                continue
            control, equivalents = pairs
            ref = world.press(who, control, f"own {data!r}: first id → 'x' (control)")
            for label, same in equivalents:
                got = world.press(who, same, f"own {data!r}: {label}")
                if not got.problems and not ref.problems and got.signature != ref.signature:
                    world.failures.append(
                        f"[callback] {who.name}: presses {same!r} ({label})\n      taken as the ASCII id: answered "
                        f"{_describe(got)}, but {control!r} got {_describe(ref)}")
    world.ensure_officer()
    everyones = {who.id: {hk.family(x): x for x in world.harvest.get(who.id, [])} for who in pressers}
    for who in [*pressers, cast["S"]]:  # forged: everyone else's buttons, verbatim
        for owner in pressers:
            if owner is not who:
                for data in everyones[owner.id].values():
                    world.press(who, data, f"{owner.name}'s button", category="forged")
    everything = [x for datas in world.harvest.values() for x in datas] + hk.SEED_DATA
    for i, (label, data) in enumerate(hk.prefix_junk(everything)):
        world.press(cast["A"] if i % 2 else cast["B"], data, label, category="prefix")
    for seed in hk.SEED_DATA:
        world.press(cast["S"], seed, "seed list, by a stranger", category="forged")
    for who in pressers:  # stale buttons of one's own, and whatever the bot offers in their place
        for data in world.stale.get(who.id, []):
            if hk.family(data) in (hk.family(x) for x in world.stale[who.id][world.stale[who.id].index(data) + 1:]):
                continue  # one stale button per family is enough
            got = world.press(who, data, "own stale button", category="stale")
            if got.toast or got.problems:
                continue
            for offered in dict.fromkeys(got.new_buttons):
                if offered in world.harvest.get(who.id, []):
                    continue
                follow = world.press(who, offered, f"offered after the stale press of {data!r}", category="stale")
                if follow.alert and not follow.problems:
                    world.failures.append(f"[stale] {who.name}: presses stale {data!r}\n      misleading screen: it "
                                          f"offers {offered!r}, which the bot then refuses: {follow.toast!r}")
    _report(world, "callback", "forged", "prefix", "stale")


def _answer(out: Outcome, arg: str) -> tuple[bool, int, tuple[str, ...]]:
    """An answer with the argument it quotes taken out, to compare answers to different arguments (an
    ASCII id stays: its digits are everywhere in a case's screen)."""
    quoted = not (arg.isascii() and arg.isdigit())
    return bool(out.toast), out.files, tuple(t.replace(arg, "<arg>") if quoted else t for t in out.texts)


def _describe(out: Outcome) -> str:
    parts = [f"toast {out.toast!r}" if out.toast else "no toast"]
    if out.files:
        parts.append(f"{out.files} file(s)")
    if out.texts:
        parts.append(f"message {out.texts[-1][:60]!r}")
    return ", ".join(parts)


ARGS = ["²", "１", hk.TWENTY_DIGITS, hk.INT32_OVER, hk.INT64_OVER, "-1", "0", "\x00", "x" * 1000, "' OR 1=1 --",
        "{0}%s{policy}", "1 2 3", "😀" * 100]


def _commands(world: World) -> list[str]:
    """Every command the bot offers in any menu, plus /start."""
    names = {"start"}
    with world.server._cond:
        for commands in world.server._commands.values():
            names |= {c["command"] for c in commands}
    return sorted(names)


def test_commands_with_malicious_arguments(world: World) -> None:
    cast = world.actors
    world.ensure_officer()
    commands = _commands(world)
    assert {"case", "timeline", "ics", "invite", "queue", "officers", "status"} <= set(commands), commands
    case_args = ["²", hk.TWENTY_DIGITS, hk.INT32_OVER, hk.INT64_OVER, "-1", "0", "\x00", "x" * 1000, "{0}%s{policy}",
                 world.case_number, world.case_number.lower() + "\x00"]
    for cmd in commands:  # the commands that read an argument get them all, the others a few
        for arg in ARGS if cmd in ("case", "timeline", "ics", "invite", "start") else ARGS[::4]:
            world.say(cast["B"], f"/{cmd} {arg}", f"/{cmd} with a hostile argument", category="command")
        world.say(cast["S"], f"/{cmd}", "bare, by a stranger", category="command")
        if cmd in ("case", "timeline", "ics", "invite", "start"):
            world.say(cast["S"], f"/{cmd}@test_bot {hk.TWENTY_DIGITS}", "addressed to the bot", category="command")
    for who in ("A", "O"):
        for cmd in ("case", "timeline", "ics"):
            for arg in case_args:
                world.say(cast[who], f"/{cmd} {arg}", "a case reference", category="command")
    # a Unicode-digit id must not get the answer of the ASCII id (the case itself, its picture, its calendar)
    for who in ("A", "O"):
        for cmd in ("case", "timeline", "ics"):
            # each next to the ASCII id's answer, the garbage last: a refusal adds a line to the audit trail
            answers = []
            for name, digits in hk.EQUIVALENT_DIGITS.items():
                same = hk.translate_digits(str(world.case_id), digits)
                ascii_ = world.say(cast[who], f"/{cmd} {world.case_id}", f"the case's id, in ASCII (before {name})",
                                   category="command")
                answers.append((same, ascii_, world.say(cast[who], f"/{cmd} {same}", f"{name} digits of the case's id",
                                                        category="command")))
            garbage = world.say(cast[who], f"/{cmd} x", "an id that is no number", category="command")
            for same, ascii_, got in answers:
                if not got.problems and _answer(got, same) == _answer(ascii_, str(world.case_id)) != _answer(
                        garbage, "x"):
                    world.failures.append(f"[command] {cast[who].name}: sends '/{cmd} {same}'\n      taken as the "
                                          f"ASCII id {world.case_id}: answered exactly like '/{cmd} {world.case_id}'")
    world.say(cast["B"], f"/case {world.case_number}", "someone else's case", category="command")
    world.say(cast["B"], f"/timeline {world.case_number}", "someone else's case", category="command")
    for args in ["officer", "officer ²", "officer dongguan ²", "officer yunnan " + hk.TWENTY_DIGITS,
                 "unit zhejiang " + "单" * 1000, "group liaoning \x00", "officer zhejiang {0}", "x" * 500,
                 "officer dongguan county", "unit dongguan 单位", "😀 😀 😀"]:
        world.say(cast["M"], f"/invite {args}", "admin, malformed invitation", category="command")
    world.say(cast["B"], "/invite officer dongguan", "not an admin", category="command")
    world.say(cast["O"], "/officers", "an officer is not an admin", category="command")
    used = world.invite_link.rsplit("=", 1)[1]
    for payload in [used, "A" * 16, "A" * 64, "A" * 65, "../../etc/passwd", "２" * 8, "\x00", "%00", "' OR 1=1 --",
                    hk.TWENTY_DIGITS, "-1", "😀"]:
        world.say(cast["S"], f"/start {payload}", "typed /start payload", category="start")
        world.say(cast["B"], f"/start {payload}", "typed /start payload", category="start")
    for link in [world.invite_link, "https://t.me/test_bot?start=" + "A" * 65, "https://t.me/test_bot?start=%E4%B8%AD"]:
        world.run(f"opens {link[:70]!r}", cast["S"], lambda link=link: cast["S"].user.open_link(link), category="start")
    _report(world, "command", "start")


def test_texts_at_every_limit(world: World) -> None:
    cast = world.actors
    world.ensure_officer()
    for key in "CDEAOBS":  # C, D, E each at a question that takes text; A, O, B and S elsewhere: the main ones
        who = cast[key]
        for label, text in hk.HOSTILE_TEXTS if key in "CDE" else hk.HOSTILE_TEXTS[:9]:
            if who.lang == "en" and hk.HAN.search(text):
                text = re.sub(r"[\u3400-\u9fff]", "x", text)
            world.say(who, text, label)
            if key == "D":  # the statement of facts keeps whatever fitted: put a plain one back for the next
                world.quietly(lambda: cast["D"].user.send_text(FACTS))
    # what Telegram's clients would not send in one message, but a bot must survive
    d = cast["D"]
    world.raw_message(d, "3,500 astral characters of facts (7,000 UTF-16 units)", "text", text=hk.ASTRAL * 3500)
    world.quietly(lambda: d.user.send_text(FACTS))
    world.raw_message(d, "4,097 UTF-16 units (one over)", "text", text=hk.ASTRAL * 2048 + "x")
    world.quietly(lambda: d.user.send_text(FACTS))
    world.raw_message(cast["C"], "4,097 UTF-16 units (one over)", "text", text=hk.ASTRAL * 2048 + "x")
    # the longest application the wizard accepts: 3,500 astral characters of facts on top of every project
    # field at its maximum, then on through the materials to the summary and the declaration
    f = cast["F"]
    # (astral CJK, not emoji: the wizard rightly refuses 3,500 emoji as no statement of facts)
    world.raw_message(f, "3,500 astral characters of facts (7,000 UTF-16 units)", "summary",
                      text=hk.ASTRAL_HAN * 3500)
    steps = happy_path(POLICY, start_date=START)
    after_facts = steps[next(i for i, st in enumerate(steps) if st.value == FACTS) + 1:]
    for step in after_facts[: next(i for i, st in enumerate(after_facts) if st.value == "declare") + 1]:
        def take(step: Step = step) -> int:
            if step.kind == "doc":
                return f.user.send_document(hk.ASTRAL * 60 + ".pdf", b"%PDF-1.4 " + b"0" * 2000, "application/pdf")
            return f.user.press_data(f.r.button_data(step.value), f.r.screen()["message_id"])
        try:
            world.run(f"walks on to the summary: {step.kind} {step.value}", f, take, category="summary")
        except AssertionError as exc:  # the screen with the next button never came
            world.failures.append(f"[summary] {f.name}: cannot go on at {step.kind} {step.value}: {str(exc)[:200]}")
            break
    # edited messages: an old answer edited into something hostile
    for key in ("A", "D", "C"):
        who = cast[key]
        mine = [msg for msg in who.user.history() if not msg["from"]["is_bot"] and "text" in msg]
        for label, text in [("4096 UTF-16 units of astral text", hk.ASTRAL * 2048), ("NUL", "x\x00y"),
                            ("edited into /case ²", "/case ²"), ("edited into /timeline " + hk.TWENTY_DIGITS,
                                                                 "/timeline " + hk.TWENTY_DIGITS)]:
            target = next((msg for msg in mine if msg["text"] != text), None)
            assert target is not None
            world.run(f"edits an earlier message into {label}", who,
                      lambda who=who, target=target, text=text: who.user.edit_text(target, text), category="edited")
            if key == "D":
                world.quietly(lambda: cast["D"].user.send_text(FACTS))
    _report(world, "text", "edited", "summary")


def test_documents_stickers_and_web_app_data(world: World) -> None:
    cast = world.actors
    world.ensure_officer()
    b = cast["B"]
    b.r.command("/drafts")  # back to B's application (the commands above started new ones), at a material
    _press_where(b.r, lambda x: x.startswith("dr:r:") and x.endswith(f":{world.b_draft}"))
    b.r.press("m:1")
    world._new_log()
    world._rows = None
    names = ["../../../etc/passwd", "a" * 255 + ".pdf", "名" * 200 + ".pdf", "\u202efdp.exe", "CON.pdf", ".pdf",
             "x.exe", "evil\x00.pdf", "😀.pdf", "{0}%s.pdf", "' OR 1=1 --.pdf"]
    for key in ("B", "A", "O", "S"):
        who = cast[key]
        for name in names:
            world.run(f"uploads a document named {name[:40]!r}", who,
                      lambda who=who, name=name: who.user.send_document(name, b"%PDF-1.4 x", "application/pdf"),
                      category="document", echo=name)
        world.run("uploads a 2 GB document", who, lambda who=who: who.user.send_document(
            "huge.pdf", b"%PDF", "application/pdf", declared_size=2 * 1024**3), category="document")
        world.run("uploads an .exe", who, lambda who=who: who.user.send_document(
            "setup.exe", b"MZ" + b"\x00" * 100, "application/x-msdownload"), category="document")
        world.raw_message(who, "a zero-byte document", "document",
                          document={"file_id": "BQzero", "file_unique_id": "Uzero", "file_name": "empty.pdf",
                                    "mime_type": "application/pdf", "file_size": 0})
        world.raw_message(who, "a document without name, type or size", "document",
                          document={"file_id": "BQbare", "file_unique_id": "Ubare"})
        world.raw_message(who, "a photo of 3 GB", "document",
                          photo=[{"file_id": "AGbig", "file_unique_id": "Ubig", "width": 90, "height": 90,
                                  "file_size": 3 * 1024**3}])
        for kind in ("static", "animated", "video"):
            world.run(f"sends a {kind} sticker", who, lambda who=who, kind=kind: who.user.send_sticker("😀", kind=kind),
                      category="sticker")
        world.run("sends Web App data without a Web App", who, lambda who=who: who.user.send_web_app_data(
            '{"case": "²", "x": "' + "9" * 1000 + '"}', "表单", require_button=False), category="web_app_data")
    _report(world, "document", "sticker", "web_app_data")


def test_groups_channels_and_membership(world: World) -> None:
    """Outside private chats the assistant stays silent and changes nothing; blocking is recorded only for
    the user who blocked it."""
    cast = world.actors
    a, b, m = cast["A"], cast["B"], cast["M"]
    quiet = {"private": False, "own_may_change": False}
    for where in (world.group, world.admin_group):
        for who in (a, m):
            for text in ["/start", "/new", f"/case {world.case_number}", "/case ²", "/drafts", "/status",
                         "/invite officer dongguan", "/timeline ²", "/help@test_bot", "普通聊天", "/start " + "A" * 16]:
                world.run(f"in {where.title}: {text!r}", who,
                          lambda who=who, text=text, where=where: who.user.send_text(text, chat=where),
                          category="group", **quiet)
        world.run(f"in {where.title}: a document", a, lambda where=where: a.user.send_document(
            "x.pdf", b"%PDF", chat=where), category="group", **quiet)
        world.run(f"in {where.title}: a sticker", a, lambda where=where: a.user.send_sticker(chat=where),
                  category="group", **quiet)
    # the bot's own buttons, copied into a group and a channel and pressed there
    pressed = [world.harvest[a.id][-1], world.harvest[cast["O"].id][-1], f"c:o:{world.others[b.id][0]}"]
    keyboard = {"inline_keyboard": [[{"text": f"按钮{i}", "callback_data": x}] for i, x in enumerate(pressed)]}
    in_group = world.as_bot("sendMessage", chat_id=world.group.id, text="群里的按钮", reply_markup=keyboard)
    in_channel = world.as_bot("sendMessage", chat_id=f"@{world.channel.username}", text="频道里的按钮",
                              reply_markup=keyboard)
    for post in (in_group, in_channel):
        for who in (a, b):
            for data in pressed:
                world.run(f"presses {data!r} on a message in {post['chat']['type']} {post['chat']['id']}", who,
                          lambda who=who, data=data, post=post: who.user.press_data(data, post),
                          category="group", **quiet)
    # channel posts and their edits by the channel's admin
    for text in ["/start", "/new", "/invite officer dongguan", f"/case {world.case_number}", "普通帖子"]:
        world.run(f"posts {text!r} in the channel", m, lambda text=text: m.user.send_text(text, chat=world.channel),
                  category="channel", **quiet)
    post = [p for p in world.channel.posts() if p.get("text") == "普通帖子"][0]
    world.run("edits a channel post into /case ²", m, lambda: m.user.edit_text(post, "/case ²"), category="channel", **quiet)
    world.run("posts a document in the channel", m, lambda: m.user.send_document("公告.pdf", b"%PDF", chat=world.channel),
              category="channel", **quiet)
    # a group message edited
    mine = [msg for msg in world.group.messages() if msg.get("from", {}).get("id") == a.id and msg.get("text") == "/new"]
    world.run("edits a group command into /case ²", a, lambda: a.user.edit_text(mine[0], "/case ²"),
              category="group", **quiet)
    # membership: a user blocks and unblocks the bot; the bot is removed from or banned in a group
    world.run("blocks the bot", a, lambda: a.user.block_bot(), category="my_chat_member", expect_answer=False)
    world.run("unblocks the bot", a, lambda: a.user.unblock_bot(), category="my_chat_member", expect_answer=False)
    world.run("removes the bot from a group", m, lambda: world.group.remove_bot(by=m.user),
              category="my_chat_member", **quiet)
    world.run("bans the bot from a group", m, lambda: world.admin_group.ban_bot(by=m.user),
              category="my_chat_member", **quiet)
    world.run("bans the bot from the channel", m, lambda: world.channel.ban_bot(by=m.user),
              category="my_chat_member", **quiet)
    _report(world, "group", "channel", "my_chat_member")


def test_the_bot_is_still_serving_everyone(world: World) -> None:
    """After all of it the process is alive and answers; totals for the report."""
    assert world.bot.proc is not None and world.bot.proc.poll() is None
    screen = world.actors["S"].r.command("/new")
    assert catalogue("en")["wiz.policy.prompt"] in screen["text"] and has_keyboard(screen), screen
    total = sum(world.counted.values())
    print(f"\nhostile inputs: {total}, {len(world.distinct)} distinct ({world.counted}); "
          f"mishandled: {len(world.failures)}")
    assert len(world.distinct) >= 100
    assert all(world.counted.get(c, 0) for c in ("callback", "forged", "prefix", "stale", "command", "start", "text",
                                                 "edited", "summary", "document", "sticker", "web_app_data",
                                                 "group", "channel", "my_chat_member"))

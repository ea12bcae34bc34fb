"""A researcher completes real applications on Telegram: the real bot process, unmodified PTB, the
local Bot API server over HTTP, and the database on disk."""

from __future__ import annotations

import datetime as dt
import threading
from collections.abc import Iterator

import pytest
from sqlmodel import Session, select

from dialogs.policy import load_policies
from storage.db import make_engine
from storage.models import Case, Draft, Upload
from tests.botapi import BotApiServer
from tests.conftest import fresh_database
from tests.e2e import BotProcess, Researcher, wait_inbox_done
from tests.scenario import FACTS, MAXIMAL_FACTS, Step, happy_path, maximal_path, project_steps

POLICIES = load_policies()
START = (dt.date.today() - dt.timedelta(days=3)).isoformat()  # a recent procedure start, never in the future


@pytest.fixture(scope="module")
def world(tmp_path_factory) -> Iterator[tuple[BotApiServer, BotProcess, str]]:
    workdir = tmp_path_factory.mktemp("e2e")
    with BotApiServer() as server, fresh_database(workdir) as url:
        bot = BotProcess(server, url, workdir).start()
        try:
            yield server, bot, url
        finally:
            bot.stop()


_ids = iter(range(1000, 100000))


def researcher(world) -> Researcher:
    return Researcher(world[0], next(_ids))


def cases_of(url: str, user_id: int) -> list[Case]:
    with Session(make_engine(url)) as s:
        return list(s.exec(select(Case).where(Case.applicant_id == user_id)))


@pytest.mark.parametrize("key", list(POLICIES))
def test_complete_application_with_a_restart_in_the_middle(world, key):
    server, bot, url = world
    policy = POLICIES[key]
    r = researcher(world)
    welcome = r.command("/start")
    assert "容错免责助手" in welcome["text"]
    screen = r.press("g:new")
    assert all(p.short_name.zh in screen["text"] for p in POLICIES.values())
    steps = happy_path(policy, start_date=START)
    half = len(steps) // 2
    screen = r.run(steps[:half])
    step_line = next(line for line in screen["text"].split("\n") if line.startswith("步骤"))

    bot.kill()  # kill -9 in the middle of the application
    bot.start()
    server.wait_idle(timeout=20)  # an update handled but not yet confirmed comes again: its screen is shown
    wait_inbox_done(url)  # ... before /drafts, whose answer is read next
    listing = r.command("/drafts")
    assert step_line.split(" · ")[0].removeprefix("步骤 ") in listing["text"]
    draft_id = listing["reply_markup"]["inline_keyboard"][0][0]["callback_data"].split(":")[-1]
    resumed = r.press(f"dr:r:{draft_id}")
    assert step_line in resumed["text"], "resumes at the same step"

    final = r.run(steps[half:])
    assert f"{policy.case_prefix}-" in final["text"] and "案件编号" in final["text"]
    assert policy.after_submit.text.zh[:20] in final["text"]
    [case] = cases_of(url, r.user.id)
    assert case.policy_key == key and case.answers["facts"] == FACTS
    assert case.number in final["text"]
    with Session(make_engine(url)) as s:
        uploads = s.exec(select(Upload).where(Upload.draft_id == case.draft_id)).all()
        owed = {m.id for m in policy.materials if m.required and m.id not in ("application", "statement")}
        assert {u.material_id for u in uploads} == owed


def test_every_screen_shows_document_status_progress_and_clause(world):
    r = researcher(world)
    r.command("/new")
    screen = r.press("p:yunnan")
    assert "有效期已于 2025-02-09 届满" in screen["text"] and "第十七条" in screen["text"]  # confirmed first
    screen = r.press("lapsed_ok")
    text = screen["text"]
    assert "云南省科技创新容错纠错实施办法" in text and "有效期已于 2025-02-09 届满" in text
    assert "步骤 2/9" in text and "依据：第三条" in text  # yunnan has no negative list: 9 steps
    r.press("k:unit")
    screen = r.run([Step("text", "云南某研究院"), Step("text", "李四"), Step("press", "skip"),
                    Step("text", "0871-1234567"), Step("press", "next"), *project_steps(POLICIES["yunnan"])])
    screen = r.press("o:authority")
    screen = r.type(START)
    assert "申请期限" in screen["text"] and "20 个工作日" in screen["text"] and "第六条(一)" in screen["text"]


@pytest.mark.parametrize("key,bar", [("zhejiang", "negative"), ("liaoning", "negative"), ("zhejiang", "gate"),
                                     ("dongguan", "conditions"), ("shanwei", "conditions"),
                                     ("yunnan", "conditions")])
def test_ineligible_cases_are_explained_with_the_clause_and_the_draft_is_kept(world, key, bar):
    policy = POLICIES[key]
    r = researcher(world)
    r.command("/new")
    steps = happy_path(policy, start_date=START)
    if bar == "gate":
        gate = policy.gates[0]
        cut = next(i for i, s in enumerate(steps) if s.value.startswith("g:"))
        r.run(steps[:cut])
        r.press(f"g:{gate.id}.{'y' if gate.bars_if else 'n'}")
        r.run(steps[cut + 1:cut + len(policy.gates)])  # the other gates answered as they allow
        screen = r.press("next")
        assert "不适用容错免责" in screen["text"] and gate.clause in screen["text"]
        assert gate.explanation.zh in screen["text"]
    elif bar == "negative":
        cut = next(i for i, s in enumerate(steps) if s.value.startswith("n:"))
        r.run(steps[:cut])
        offered = policy.negative.for_role(policy.roles[-1].id if policy.roles else None)
        for i in range(len(offered)):
            r.press(f"n:{i}.{'y' if i == 0 else 'n'}")
        screen = r.press("next")
        assert "不适用容错免责" in screen["text"] and offered[0].clause in screen["text"]
        assert "草稿已保存" in screen["text"]
    else:
        cut = next(i for i, s in enumerate(steps) if s.value.startswith("t:"))
        r.run(steps[:cut])
        if policy.conditions.mode == "all":
            r.press("t:0")
        mark = r.user.mark()
        r.user.press_data(r.button_data("next"), r.screen()["message_id"])
        screen = r.user.wait_for(lambda m: "⚠" in m.get("text", ""), since=mark)
        assert policy.conditions.clause in screen["text"]
        assert "步骤 5/" in screen["text"]  # still at the conditions step
    with Session(make_engine(world[2])) as s:
        draft = s.exec(select(Draft).where(Draft.user_id == r.user.id)).one()
        assert draft.status == "active" and draft.answers["project"]["name"] == "测试-name"


@pytest.mark.parametrize("key", list(POLICIES))
def test_bad_input_gets_a_clear_message_and_nothing_is_lost(world, key):
    policy = POLICIES[key]
    r = researcher(world)
    r.command("/new")
    steps = happy_path(policy, start_date=START)
    amount_at = next(i for i, f in enumerate(policy.project_fields) if f.kind == "number")
    first_project = steps.index(project_steps(policy)[0])
    r.run(steps[:first_project + amount_at])
    screen = r.type("一百万")
    assert "不是数字" in screen["text"]
    if any(o.asks_start_date for o in policy.origins):
        date_at = next(i for i, s in enumerate(steps) if s.value == START)
        r.run(steps[first_project + amount_at:date_at])
        for bad in ("2026-02-30", "明天", "2099-01-01"):
            screen = r.type(bad)
            assert "⚠" in screen["text"] and "日期" in screen["text"]
    facts_at = next(i for i, s in enumerate(steps) if s.value == FACTS)
    r.run(steps[first_project + amount_at if not any(o.asks_start_date for o in policy.origins)
                else date_at:facts_at])
    screen = r.type("短")
    assert "情况说明不能为空" in screen["text"]
    r.run(steps[facts_at:facts_at + 2])
    uploadable = next(i for i, m in enumerate(policy.materials) if m.id != "application")  # the 申请书 is written
    screen = r.press(f"m:{uploadable}")
    screen = r.upload("huge.pdf", 30 * 1024 * 1024)
    assert "超过 20 MB" in screen["text"]
    with Session(make_engine(world[2])) as s:
        draft = s.exec(select(Draft).where(Draft.user_id == r.user.id)).one()
        assert draft.state == "materials" and draft.answers["facts"] == FACTS
        assert draft.answers["project"]["amount"] == 120.5
        assert s.exec(select(Upload).where(Upload.draft_id == draft.id)).all() == []


def test_two_users_at_once_never_mix(world):
    a, b = researcher(world), researcher(world)
    pa, pb = POLICIES["dongguan"], POLICIES["liaoning"]
    a.command("/new")
    b.command("/new")
    errors: list[BaseException] = []

    def walk(r: Researcher, steps) -> None:
        try:
            r.run(steps)
        except BaseException as exc:  # noqa: BLE001 - reported by the main thread
            errors.append(exc)

    threads = [threading.Thread(target=walk, args=(a, happy_path(pa, start_date=START))),
               threading.Thread(target=walk, args=(b, happy_path(pb, role="leader")))]
    for th in threads:
        th.start()
    for th in threads:
        th.join(180)
    assert not errors, errors
    [ca], [cb] = cases_of(world[2], a.user.id), cases_of(world[2], b.user.id)
    assert ca.policy_key == "dongguan" and cb.policy_key == "liaoning" and cb.answers["role"] == "leader"
    assert "DG-" in a.screen()["text"] and "LN-" in b.screen()["text"]
    assert all("LN-" not in t for t in a.user.texts()) and all("DG-" not in t for t in b.user.texts())


def test_forged_and_stale_buttons_are_refused(world):
    server = world[0]
    victim, attacker = researcher(world), researcher(world)
    screen = victim.command("/new")
    victim.press("p:dongguan")
    old_data = screen["reply_markup"]["inline_keyboard"][0][0]["callback_data"]
    # the victim presses a button of an old screen: the same draft, an old revision
    victim.user.press_data(old_data, screen["message_id"])
    # the attacker forges callback data naming the victim's draft
    attacker.command("/start")
    attacker.user.press_data(victim.button_data("k:unit"), attacker.user.last_message()["message_id"])
    server.wait_idle(timeout=10)
    wait_inbox_done(world[2])  # both presses handled, not only confirmed
    answers = server.callback_answers()
    assert any(a["user_id"] == victim.user.id and "已过期" in (a.get("text") or "") for a in answers)
    assert any(a["user_id"] == attacker.user.id and "不是您的" in (a.get("text") or "") for a in answers)
    with Session(make_engine(world[2])) as s:
        draft = s.exec(select(Draft).where(Draft.user_id == victim.user.id)).one()
        assert draft.state == "applicant" and "applicant_kind" not in draft.answers


def test_english_via_language_command(world):
    r = researcher(world)
    r.command("/language")
    screen = r.press("lang:en")
    assert "English" in screen["text"] or "interface language" in screen["text"]
    screen = r.command("/new")
    assert "Choose the policy document" in screen["text"]
    screen = r.press("p:dongguan")
    assert "Step 2/" in screen["text"] and "draft for comment" in screen["text"]


def client_split(steps: list[Step]) -> list[Step]:
    """The steps as a Telegram client sends them: a text over 4,096 UTF-16 units goes as several messages,
    which the wizard joins with a line break. The statement of facts (3,500 characters, 5,250 units) is sent
    as two parts whose joined text is again 3,500 characters, the longest the wizard keeps."""
    out: list[Step] = []
    for step in steps:
        if step.kind == "text" and step.value == MAXIMAL_FACTS:
            half = len(step.value) // 2
            out += [Step("text", step.value[:half]), Step("text", step.value[half + 1:])]
        else:
            assert step.kind != "text" or len(step.value.encode("utf-16-le")) <= 2 * 4096, step.value[:20]
            out.append(step)
    return out


@pytest.mark.slow
@pytest.mark.parametrize("lang", ["zh-hans", "en"])
@pytest.mark.parametrize("key", list(POLICIES))
def test_the_longest_application_renders_through_the_real_server(world, key, lang):
    """Every field at its limit in astral characters, 3,500 characters of facts, a file for every
    material: the server refuses any text over 4,096 UTF-16 units, and every screen still arrives — the
    summary over several messages with every section, the bot's log without an error."""
    server, bot, url = world
    r = Researcher(server, next(_ids), language_code=lang)
    r.command("/new")
    steps = client_split(maximal_path(POLICIES[key]))
    to_summary = len(steps) - 3  # the summary comes after the materials' "next"
    r.run(steps[:to_summary - 1])
    seen = len(r.user.messages())
    summary = r.do(steps[to_summary - 1])
    server.wait_idle(timeout=10)
    texts = [m.get("text", "") for m in r.user.messages()[seen - 1:]]  # the edited screen, then the new ones
    whole = "\n".join(texts)
    assert summary.get("reply_markup") and any(d["callback_data"].endswith(":e:facts")
                                               for row in summary["reply_markup"]["inline_keyboard"] for d in row)
    titles = ("申请人", "项目信息", "免责情形", "情况说明", "申请材料") if lang != "en" else (
        "Applicant", "Project", "Grounds", "Statement of facts", "Materials")
    for title in titles:
        assert title in whole, (title, [t[:80] for t in texts])
    final = r.run(steps[to_summary:])
    assert f"{POLICIES[key].case_prefix}-" in final["text"]
    assert "ERROR" not in bot.log() and "message is too long" not in bot.log()

"""What a phone user expects of the wizard, through the router over a real database: Back per field with
"第 k/n 项", the identity remembered, /start and /language returning to the open draft, unknown commands,
edited messages, split pastes, the materials list, a lapsed document, deadlines in the right unit, and an
update delivered twice."""

from __future__ import annotations

import datetime as dt

import pytest
from sqlalchemy.orm.exc import StaleDataError
from sqlmodel import Session, select

from bot.actions import Act
from bot.config import Settings
from bot.reply import Reply, View, Who
from bot.runtime import build_runtime
from dialogs.wizard import UploadInfo
from storage.models import Draft, Upload
from tests.driver import Driver, drive
from tests.scenario import FACTS, IDENTITY, Step, happy_path, project_steps
from tests.test_flow import find, play

TODAY = dt.date(2026, 11, 20)


@pytest.fixture()
def runtime(database_url):
    return build_runtime(Settings(database_url=database_url, today_override=TODAY, _env_file=None))


@pytest.fixture()
def flow(runtime) -> Driver:
    return drive(runtime)


def draft_of(flow: Driver, user_id: int) -> Draft:
    with Session(flow.engine) as s:
        return s.exec(select(Draft).where(Draft.user_id == user_id).order_by(Draft.id.desc())).first()  # type: ignore[union-attr]


def to_step(flow: Driver, who: Who, policy_key: str, until: str) -> Reply:
    """Walk the happy path until the first step whose value is `until`."""
    steps = happy_path(flow.policies[policy_key], start_date="2026-11-18")
    cut = next(i for i, s in enumerate(steps) if s.value == until)
    return play(flow, who, flow.new_draft(who).view, steps[:cut])


def test_back_inside_the_project_form_goes_to_the_previous_field(flow):
    who = Who(2001)
    policy = flow.policies["zhejiang"]
    fields = policy.project_fields
    third = project_steps(policy)[2]
    reply = to_step(flow, who, "zhejiang", third.value)
    assert f"第 3/{len(fields)} 项" in reply.view.text and fields[2].label.zh in reply.view.text
    reply = flow.press(who, find(reply.view, "back"))
    assert f"第 2/{len(fields)} 项" in reply.view.text and fields[1].label.zh in reply.view.text
    assert "步骤 3/" in reply.view.text, "still the project step, not the previous step"
    assert "当前：" in reply.view.text and any("保留当前内容" in label for row in reply.view.buttons for label, _ in row)
    reply = flow.text(who, "改过的第二项")
    assert draft_of(flow, who.user_id).answers["project"][fields[1].id] == "改过的第二项"
    assert f"第 3/{len(fields)} 项" in reply.view.text  # on to the first field still unanswered
    reply = flow.press(who, find(reply.view, "back"))
    reply = flow.press(who, find(reply.view, "back"))
    assert f"第 1/{len(fields)} 项" in reply.view.text
    reply = flow.press(who, find(reply.view, "back"))  # from the first field: the step before
    assert "步骤 2/" in reply.view.text and "申请人" in reply.view.text


def test_the_identity_is_asked_once_and_remembered(flow):
    who = Who(2002)
    policy = flow.policies["dongguan"]
    play(flow, who, flow.new_draft(who).view, happy_path(policy, start_date="2026-11-18"))
    first = draft_of(flow, who.user_id)
    assert first.answers["identity"] == IDENTITY
    view = flow.new_draft(who).view
    reply = play(flow, who, view, [Step("press", "p:dongguan"), Step("press", "k:person")])
    assert "申请人信息如下" in reply.view.text and IDENTITY["phone"] in reply.view.text
    assert draft_of(flow, who.user_id).answers["identity"] == IDENTITY
    # a unit is asked for its own name and its responsible person: not the person's identity
    reply = flow.press(who, find(reply.view, "f:applicant_kind"))
    reply = flow.press(who, find(reply.view, "k:unit"))
    assert "单位负责人" in reply.view.text or "单位负责人" in str(reply.view.buttons)


def test_start_in_the_middle_of_a_draft_offers_to_continue_it(flow):
    who = Who(2003)
    to_step(flow, who, "liaoning", "r:researcher")
    reply = flow.start(who)
    assert "#" in reply.view.text and "辽宁" in reply.view.text and "步骤 2/" in reply.view.text
    resumed = flow.press(who, find(reply.view, "g:open"))
    assert "步骤 2/" in resumed.view.text and "辽宁" in resumed.view.text


def test_language_returns_to_the_open_screen(flow):
    who = Who(2004)
    to_step(flow, who, "shanwei", "k:person")
    prompt = flow.command(who, "language")
    reply = flow.press(who, find(prompt.view, "lang:en"))
    assert "The interface language is now English" in reply.view.text
    assert "Step 2/" in reply.view.text and "Who is applying" in reply.view.text


def test_unknown_command_says_so_and_points_to_help(flow):
    who = Who(2005)
    reply = flow.command(who, "foo", "bar")
    assert "未知命令 /foo" in reply.view.text and "/help" in reply.view.text
    text = flow.command(who, "help").view.text
    for name in ("new", "drafts", "status", "timeline", "ics", "language", "help"):
        assert f"/{name}" in text, name


def test_an_edit_of_the_last_answer_replaces_it_and_an_older_edit_only_gets_a_note(flow):
    who = Who(2006)
    policy = flow.policies["dongguan"]
    first_field = project_steps(policy)[0]
    to_step(flow, who, "dongguan", first_field.value)
    flow.text(who, "错误的名称", message_id=501)
    reply = flow.edited(who, "正确的名称", message_id=501)
    assert "已按您修改后的消息更新" in reply.view.text
    assert draft_of(flow, who.user_id).answers["project"]["name"] == "正确的名称"
    flow.text(who, "PRJ-1", message_id=502)
    note = flow.edited(who, "另一个名称", message_id=501)  # an older message: nothing changes
    assert "没有自动生效" in note.view.text
    answers = draft_of(flow, who.user_id).answers
    assert answers["project"]["name"] == "正确的名称" and answers["project"]["number"] == "PRJ-1"


def test_a_paste_split_in_two_never_keeps_only_its_tail(flow):
    who = Who(2007)
    to_step(flow, who, "shanwei", FACTS)
    head, tail = "事" * 4000, "尾" * 96  # Telegram cuts a 4,096-character paste after 4,000 of them
    refused = flow.text(who, head)
    assert "太长" in refused.view.text
    second = flow.text(who, tail)
    assert "后半部分" in second.view.text
    assert "facts" not in draft_of(flow, who.user_id).answers, "the tail alone is not the statement"
    # two parts that fit together are joined, with a way to keep only the last
    flow.text(who, FACTS)
    joined = flow.text(who, "补充：团队已按要求提交全部原始记录。")
    assert "已把这条消息接在情况说明后面" in joined.view.text
    assert draft_of(flow, who.user_id).answers["facts"] == FACTS + "\n补充：团队已按要求提交全部原始记录。"
    kept = flow.press(who, find(joined.view, "fr"))
    assert "只保留最后一条" in kept.view.text
    assert draft_of(flow, who.user_id).answers["facts"] == "补充：团队已按要求提交全部原始记录。"


def test_materials_are_listed_by_name_removable_and_never_twice(flow):
    who = Who(2008)
    reply = to_step(flow, who, "dongguan", "m:2")
    assert "由本助手生成，提交后发送" in reply.view.text and "已在第 7 步填写" in reply.view.text
    assert not any(d.endswith(":m:0") for row in reply.view.buttons for _l, d in row), "no upload for the 申请书"
    flow.press(who, find(reply.view, "m:2"))
    got = flow.document(who, UploadInfo("", "实验记录.pdf", 2048, "F1", "U1"))
    assert "实验记录.pdf" in got.view.text
    again = flow.document(who, UploadInfo("", "实验记录.pdf", 2048, "F2", "U1"))
    assert "已经上传过" in again.view.text
    with Session(flow.engine) as s:
        [upload] = s.exec(select(Upload)).all()
    removed = flow.press(who, find(again.view, f"x:{upload.id}"))
    assert "已删除" in removed.view.text and "实验记录.pdf" not in removed.view.text.split("已删除")[0]
    with Session(flow.engine) as s:
        assert s.exec(select(Upload)).all() == []


def test_a_lapsed_document_is_chosen_only_after_reading_why(flow):
    who = Who(2009)
    view = flow.new_draft(who).view
    assert flow.policies["yunnan"].status_note.zh[:12] in view.text  # every status note on the choice
    reply = flow.press(who, find(view, "p:yunnan"))
    assert "有效期已于 2025-02-09 届满" in reply.view.text and "步骤 1" in reply.view.text
    assert draft_of(flow, who.user_id).state == "policy"
    reply = flow.press(who, find(reply.view, "lapsed_ok"))
    assert "步骤 2/" in reply.view.text


def test_days_left_say_working_days_with_the_english_plural(flow, runtime):
    who = Who(2010, language_code="en")
    reply = to_step(flow, who, "dongguan", "2026-11-18")
    reply = flow.text(who, "2026-11-18")  # 10 working days from 11-18: due 12-02, 8 working days after 11-20
    assert "working days left" in reply.view.text and "8 working days left" in reply.view.text
    runtime.settings.today_override = dt.date(2026, 12, 1)
    reply = flow.command(who, "drafts")
    reply = flow.press(who, find(reply.view, f"dr:r:{draft_of(flow, who.user_id).id}"))
    assert "1 working day left" in reply.view.text


def test_an_update_delivered_twice_shows_the_current_screen_and_changes_nothing(flow):
    who = Who(2011)
    view = flow.new_draft(who, update_id=9001).view
    data = find(view, "p:zhejiang")
    first = flow.press(who, data, update_id=9002)
    again = flow.press(who, data, update_id=9002)
    assert again.redelivered and again.view is not None and again.view.text == first.view.text
    assert draft_of(flow, who.user_id).revision == 1
    typed_again = flow.new_draft(who, update_id=9001)  # /new delivered again: no second draft
    assert typed_again.redelivered and "步骤 2/" in typed_again.view.text
    with Session(flow.engine) as s:
        assert len(s.exec(select(Draft).where(Draft.user_id == who.user_id)).all()) == 1


def test_a_concurrent_write_is_retried_once_then_refused_with_the_current_screen(runtime):
    actions = runtime.actions
    attempts: list[int] = []

    def flaky(act: Act) -> Reply:
        attempts.append(1)
        if len(attempts) == 1:
            raise StaleDataError("another process wrote this draft")
        return Reply(view=View("done"))

    assert actions.run(Who(2012), 9100, flaky).view.text == "done" and len(attempts) == 2

    def always(act: Act) -> Reply:
        raise StaleDataError("always")

    reply = actions.run(Who(2012), 9101, always, lambda act: Reply(view=View("current")))
    assert reply.view.text == "current" and "同时修改" in reply.toast


def test_a_statement_of_emoji_alone_is_not_a_statement(flow):
    who = Who(2013)
    to_step(flow, who, "zhejiang", FACTS)
    reply = flow.text(who, "😭" * 11)
    assert "至少需要" in reply.view.text and "facts" not in draft_of(flow, who.user_id).answers


def test_only_the_quick_commands_typed_as_messages_jump_the_inbox_queue(runtime):
    """bot/commands.py `quick`: shows something, changes nothing; a press or an answer keeps its place."""
    def text(body: str) -> dict:
        return {"update_id": 1, "message": {"message_id": 1, "date": 1, "text": body,
                                            "chat": {"id": 7, "type": "private"}, "from": {"id": 7}}}

    priority = runtime.router.commands.priority
    assert [priority(text(t)) for t in ("/help", "/HELP@rcmz_bot", "/status", "/drafts", "/language")] == [1] * 5
    assert [priority(text(t)) for t in ("/new", "/start", "/units zhejiang", "help", "/nosuch", "")] == [0] * 6
    assert priority({"update_id": 2, "callback_query": {"id": "1", "data": "/help"}}) == 0
    assert priority({"update_id": 3, "edited_message": {"text": "/help"}}) == 0


def _finishes_while_a_writer_holds_the_database(runtime, call):
    """What `call` returned if it completed while another thread of this process held SQLite's write lock
    (on PostgreSQL, while another transaction held a row lock on the users: reads do not wait for it); None
    if it was still waiting."""
    import threading

    from storage.db import session_scope, sqlite_writer
    from storage.models import User

    writer = sqlite_writer(runtime.engine)
    holding, done, result = threading.Event(), threading.Event(), []

    def hold() -> None:
        if writer is not None:
            with writer_held(writer):
                holding.set()
                done.wait(20)
            return
        with session_scope(runtime.engine) as s:
            s.exec(select(User).with_for_update()).all()
            holding.set()
            done.wait(20)

    holder = threading.Thread(target=hold, daemon=True)
    holder.start()
    holding.wait(10)
    worker = threading.Thread(target=lambda: result.append(call()), daemon=True)
    worker.start()
    worker.join(5)
    finished = list(result)
    done.set()
    holder.join(10)
    worker.join(40)
    return finished[0] if finished else None


class writer_held:
    def __init__(self, lock) -> None:
        self.lock = lock

    def __enter__(self) -> None:
        self.lock.acquire()

    def __exit__(self, *exc) -> None:
        self.lock.release()


def test_a_quick_command_reads_without_waiting_for_the_writers(runtime):
    """/help and /status answer from a snapshot: under load they no longer queue for SQLite's one write lock
    behind every chat's transaction; a command that writes still waits its turn."""
    who = Who(2020)
    runtime.router.command(who, "start")  # a first contact is recorded the ordinary way
    help_reply = runtime.router.command(who, "help")
    assert _finishes_while_a_writer_holds_the_database(
        runtime, lambda: runtime.router.command(who, "help", update_id=9_001)).view.text == help_reply.view.text
    if runtime.engine.dialect.name == "sqlite":
        assert _finishes_while_a_writer_holds_the_database(
            runtime, lambda: runtime.router.command(who, "new", update_id=9_002)) is None


def test_a_quick_command_from_a_first_contact_still_records_the_user(runtime):
    from storage.models import User

    runtime.router.command(Who(2021, first_name="新用户"), "help")
    runtime.router.command(Who(2022), "start")
    runtime.router.command(Who(2022, first_name="改了名"), "status")
    with Session(runtime.engine) as s:
        assert s.get(User, 2021) is not None
        assert s.get(User, 2022).first_name == "改了名"


def test_the_files_are_read_only_on_the_steps_that_show_or_check_them(flow, runtime):
    """Reading the draft's files was one SELECT of every answer; now only where they matter, and the files
    step still lists them and the review still checks them."""
    import re

    from sqlalchemy import event

    who = Who(2023)
    policy = flow.policies["zhejiang"]
    third = project_steps(policy)[2]
    reply = to_step(flow, who, "zhejiang", third.value)
    reads: list[str] = []

    def note(_conn, _cursor, statement, *_args) -> None:
        if re.search(r"\bFROM upload\b", statement):
            reads.append(statement)

    event.listen(runtime.engine, "before_cursor_execute", note)
    try:
        steps = happy_path(policy, start_date="2026-11-18")
        at = next(i for i, s in enumerate(steps) if s.value == third.value)
        first_file = next(i for i, s in enumerate(steps) if s.kind == "doc")
        reply = play(flow, who, reply.view, steps[at:at + 1])  # a project field: no file in sight
        assert reads == []
        reply = play(flow, who, reply.view, steps[at + 1:first_file + 1])  # on to the first file sent
        assert reads, "the files step reads the draft's files"
    finally:
        event.remove(runtime.engine, "before_cursor_execute", note)
    assert "申请书" in reply.view.text  # the files step's list, with the generated 申请书 counted

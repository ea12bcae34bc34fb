"""One id parser for everything from outside (bot/ids.py), and the callback codec (bot/callbacks.py): every
path that takes an id — callback data of every namespace and every command argument — refuses Unicode
digits, huge, negative, empty, NUL and 1,000-character ids with a clear answer, never a traceback, on
SQLite and on PostgreSQL (whose INTEGER keys stop at 2³¹−1)."""

from __future__ import annotations

import datetime as dt

import pytest
from sqlmodel import Session, func, select

from bot.callbacks import (
    CallbackTooLong,
    CaseAction,
    Drafts,
    FileKind,
    Files,
    Home,
    Press,
    WizardPress,
    decode,
    encode,
    encode_wizard,
)
from bot.config import Settings
from bot.ids import MAX_ID, parse_case_ref, parse_id
from bot.reply import Who
from bot.runtime import build_runtime
from storage.casework import CaseEvent, Membership
from storage.models import Case, Draft, Upload
from storage.securitylog import SecurityEvent
from tests.driver import drive
from tests.scenario import happy_path
from tests.test_flow import play

HOSTILE = ["²", "１", "٣", "9" * 20, str(MAX_ID + 1), "-1", "", "\x00", "1\x00", "9" * 1000, "1e3", " 1", "0x1f",
           "１２", "1.0", "+1"]
ADMIN = Who(900, "管理员")
APPLICANT = Who(501, "研究员")


@pytest.mark.parametrize("text,value", [("0", 0), ("7", 7), ("007", 7), (str(MAX_ID), MAX_ID)])
def test_ascii_digits_within_the_integer_range_are_ids(text, value):
    assert parse_id(text) == value


@pytest.mark.parametrize("text", HOSTILE)
def test_anything_else_is_not_an_id(text):
    assert parse_id(text) is None
    assert parse_case_ref(text) is None or text == " 1"  # a command's argument may come with spaces


def test_case_references_are_ids_or_case_numbers():
    assert parse_case_ref(" 12 ") == 12
    assert parse_case_ref("dg-2026-0001") == "DG-2026-0001"
    assert parse_case_ref("DG-2026-0001; DROP TABLE") is None


def test_the_codec_round_trips_every_named_action_and_refuses_junk():
    assert decode(encode(Home.NEW)) == Press(Home.NEW.__class__ and decode("g:new").namespace, Home.NEW)
    assert decode(encode(Drafts.RESUME, 12)) == Press(decode("dr:r:1").namespace, Drafts.RESUME, (12,))
    assert decode(encode(CaseAction.SEND_FILE, FileKind.UPLOAD, 3)).args == ("u", 3)
    assert decode(encode(CaseAction.START_ACTION, 5, "unit_review", "accept")).args == (5, "unit_review", "accept")
    assert decode(encode_wizard(4, 9, "c:funding_level.county")) == WizardPress(4, 9, "c:funding_level.county")
    for junk in ("", ":", "g", "g:", "g:nope", "dr:r", "dr:r:1:2", "dr:q:1", "c:f:z:1", "c:a:1:x", "w:1:2",
                 "w:1:2:", "w:1:2:a b", "zz:1", "c:o:1:2", "f:t", "lang:fr", "x" * 65, None, 12):
        assert decode(junk) is None, junk


def test_callback_data_over_64_bytes_fails_when_the_button_is_built():
    with pytest.raises(CallbackTooLong):
        encode_wizard(1, 1, "c:" + "x" * 60)
    with pytest.raises(ValueError):
        encode(Files.TIMELINE, "²")
    assert len(encode(CaseAction.START_ACTION, MAX_ID, "a" * 20, "b" * 20).encode()) <= 64


@pytest.fixture()
def world(database_url):
    runtime = build_runtime(Settings(database_url=database_url, today_override=dt.date(2026, 11, 20),
                                     admin_ids=[ADMIN.user_id], _env_file=None))
    flow = drive(runtime)
    play(flow, APPLICANT, flow.new_draft(APPLICANT).view, happy_path(runtime.policies["dongguan"]))
    with Session(runtime.engine) as s:
        s.add(Membership(user_id=ADMIN.user_id, role="officer", policy_key="dongguan"))
        s.commit()
    return runtime, flow


def _counts(runtime) -> tuple:
    with Session(runtime.engine) as s:
        return tuple(s.exec(select(func.count()).select_from(model)).one()
                     for model in (Draft, Case, Upload, Membership)) + (
            s.exec(select(Case.state)).all(), [d.revision for d in s.exec(select(Draft))])


CALLBACKS = ["dr:r:{x}", "dr:d:{x}", "dr:x:{x}", "w:{x}:0:next", "w:1:{x}:next", "w:{x}:0:docx", "c:o:{x}",
             "c:r:{x}", "c:f:u:{x}", "c:f:d:{x}", "c:a:{x}:received:accept", "c:v:{x}:exempt", "c:s:{x}",
             "c:k:{x}", "c:x:{x}", "f:t:{x}", "f:i:{x}"]
COMMANDS = ["case", "timeline", "ics", "start"]


def test_every_path_refuses_every_hostile_id_clearly(world):
    runtime, flow = world
    before = _counts(runtime)
    update_ids = iter(range(50_000, 60_000))
    for x in HOSTILE:
        for template in CALLBACKS:
            data = template.format(x=x)
            for who in (ADMIN, APPLICANT):
                reply = flow.press(who, data, update_id=next(update_ids))
                assert reply.toast or reply.view is not None, data
        for name in COMMANDS:
            for who in (ADMIN, APPLICANT):
                reply = flow.command(who, name, x, update_id=next(update_ids))
                assert reply.view is not None or reply.toast or reply.files, (name, x)
                if name != "start" and reply.files:
                    assert x == " 1", (name, x)  # " 1" is case 1: the applicant's own, and the officer's to see
    assert _counts(runtime) == before, "a hostile id changed something"
    with Session(runtime.engine) as s:  # a stranger's refusal goes to the security log, not a case's trail
        refused = s.exec(select(CaseEvent).where(CaseEvent.refused == True)).all()  # noqa: E712
        logged = s.exec(select(SecurityEvent)).all()
        assert refused or logged, "forged case buttons are recorded"
        assert {e.actor_id for e in logged} <= {ADMIN.user_id, APPLICANT.user_id}


def test_a_strangers_forged_press_with_a_nul_is_logged_with_the_nul_spelled_out(world):
    runtime, flow = world
    stranger = Who(777, "陌生人")
    reply = flow.press(stranger, "c:o:\x00", update_id=70_001)  # PostgreSQL refuses a NUL in a text column
    assert reply.toast
    with Session(runtime.engine) as s:
        [row] = s.exec(select(SecurityEvent).where(SecurityEvent.actor_id == stranger.user_id)).all()
    assert "\x00" not in row.detail and "\\x00" in row.detail


def test_the_largest_id_reaches_the_database_and_is_simply_not_found(world):
    runtime, flow = world
    for data in (f"c:o:{MAX_ID}", f"dr:r:{MAX_ID}", f"w:{MAX_ID}:{MAX_ID}:next", f"f:t:{MAX_ID}"):
        reply = flow.press(ADMIN, data)
        assert reply.toast or reply.view is not None
    assert "找不到" in flow.command(ADMIN, "case", str(MAX_ID)).view.text or \
        flow.command(ADMIN, "case", str(MAX_ID)).toast

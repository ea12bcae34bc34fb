"""From a case's file (/case N, or the applicant's /status), the timeline picture and the calendar
file are one press away, with the same access rule as /timeline N and /ics N."""

from __future__ import annotations

import datetime as dt

from sqlmodel import Session, select

from bot.config import Settings
from bot.reply import Who
from bot.runtime import build_runtime
from storage.casework import Membership
from storage.models import Case
from tests.driver import drive
from tests.scenario import happy_path
from tests.test_flow import find, play


def test_officer_gets_the_timeline_and_ics_from_the_case_view_and_a_stranger_does_not(database_url):
    rt = build_runtime(Settings(database_url=database_url, today_override=dt.date(2026, 11, 20), _env_file=None))
    flow = drive(rt)
    applicant, officer, stranger = Who(11, "申请人"), Who(12, "经办"), Who(13, "路人")
    play(flow, applicant, flow.new_draft(applicant).view, happy_path(rt.policies["dongguan"]))
    with Session(rt.engine) as s:
        s.add(Membership(user_id=officer.user_id, role="officer", policy_key="dongguan"))
        s.commit()
        case = s.exec(select(Case)).one()
    view = flow.press(officer, f"c:o:{case.id}").view
    picture = flow.press(officer, find(view, f"f:t:{case.id}"))
    [png] = picture.files
    assert png.kind == "photo" and png.content.startswith(b"\x89PNG")
    [ics] = flow.press(officer, find(view, f"f:i:{case.id}")).files
    assert b"BEGIN:VCALENDAR" in ics.content and case.number.encode() in ics.content
    refused = flow.press(stranger, f"f:t:{case.id}")
    assert not getattr(refused, "files", []) and refused.view is not None and "无权查看" in refused.view.text

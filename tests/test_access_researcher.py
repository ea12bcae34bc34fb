"""A researcher can never read or change another researcher's draft through any callback: every form of
callback data that names a draft, with the victim's real draft id and current revision, is refused, changes
nothing, and shows nothing of the victim's answers. (Officer access is tested with the officer flows.)"""

from __future__ import annotations

import datetime as dt

import pytest
from sqlmodel import Session

from bot.config import Settings
from bot.reply import Reply, Who
from bot.runtime import build_runtime
from storage.models import Draft
from tests.driver import Driver, drive
from tests.scenario import happy_path

SECRET = "受害人的保密项目"
WIZARD_ACTIONS = ["next", "back", "cancel", "submit", "declare", "p:dongguan", "p:liaoning", "k:person", "k:unit",
                  "t:0", "n:0.y", "n:0.n", "m:0", "l:0", "g:start.y", "c:kind.a", "edit:facts", "e:facts"]


@pytest.fixture()
def flow(database_url) -> Driver:
    return drive(build_runtime(Settings(database_url=database_url, today_override=dt.date(2026, 11, 20),
                                        _env_file=None)))


def snapshot(flow: Driver, draft_id: int) -> tuple:
    with Session(flow.engine) as s:
        d = s.get(Draft, draft_id)
        return d.state, d.answers, d.revision, d.status, d.message_id


def texts_of(reply: Reply) -> str:
    parts = [reply.toast or ""]
    if reply.view is not None:
        parts.append(reply.view.text)
        parts += [label + data for row in reply.view.buttons for label, data in row]
    return "\n".join(parts)


def test_no_callback_reads_or_changes_another_users_draft(flow):
    victim, attacker = Who(81_001, "受害人"), Who(81_002, "攻击者")
    reply = flow.new_draft(victim)
    policy = flow.policies["dongguan"]
    steps = happy_path(policy, start_date="2026-11-17")
    first_project = next(i for i, step in enumerate(steps) if step.value.startswith("测试-"))
    for step in steps[:first_project + 1]:  # policy, applicant, then the project's name typed in
        if step.kind == "press":
            data = next(d for row in reply.view.buttons for _l, d in row if d.endswith(":" + step.value))
            reply = flow.press(victim, data)
        else:
            reply = flow.text(victim, SECRET if step.value.startswith("测试-") else step.value)
    draft_id = reply.draft_id
    before = snapshot(flow, draft_id)
    assert before[1]["project"]["name"] == SECRET
    revision = before[2]
    flow.new_draft(attacker)
    forged = [f"w:{draft_id}:{revision}:{a}" for a in WIZARD_ACTIONS]
    forged += [f"w:{draft_id}:{rev}:next" for rev in (revision - 1, revision + 1, 0)]
    forged += [f"dr:{verb}:{draft_id}" for verb in ("r", "d", "x")]
    for update_id, data in enumerate(forged, start=1):
        reply = flow.press(attacker, data, update_id=update_id)
        assert SECRET not in texts_of(reply), data
        assert reply.draft_id in (None,) or reply.draft_id != draft_id, data
        assert snapshot(flow, draft_id) == before, f"{data} changed the victim's draft"
    # typed text and /drafts go to the attacker's own draft, never the victim's
    flow.text(attacker, "攻击者自己的文字")
    listing = flow.drafts(attacker)
    assert SECRET not in texts_of(listing) and f"dr:r:{draft_id}" not in texts_of(listing)
    assert snapshot(flow, draft_id) == before
    # and the victim still owns and can resume it
    resumed = flow.press(victim, f"dr:r:{draft_id}")
    assert resumed.draft_id == draft_id and resumed.toast is None and "步骤 3/" in resumed.view.text

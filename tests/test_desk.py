"""The desk over a real database, in-process: initData checked as Telegram documents it, 401 for anything
forged, stale or missing, the same 404 for a case that is not there and one that is not yours, the
caseload's order and lights on cases built from real events, the case page, and "open in chat" sending
exactly the screen /case sends. The browser drives the same routes in tests/test_desk_browser.py."""

from __future__ import annotations

import dataclasses
import datetime as dt
import hashlib
import hmac
import json
import re
from pathlib import Path
from typing import Any
from urllib.parse import quote, urlencode

import pytest
from aiohttp.test_utils import TestClient, TestServer
from sqlmodel import Session, col, select

from bot.config import Settings
from bot.i18n import catalogue
from bot.reply import Who
from bot.runtime import build_runtime
from bot.web.auth import MAX_AGE, verify_init_data
from bot.web.caseload import light
from bot.web.desk import PREFIX, Desk
from bot.web.server import WebServer
from scheduler.calendar import Due
from scheduler.clocks import Clock
from storage.models import Case
from storage.securitylog import SecurityEvent
from tests.conftest import fresh_database
from tests.driver import drive
from tests.scenario import happy_path
from tests.test_flow import play

ROOT = Path(__file__).resolve().parent.parent
TOKEN = "4242:TEST-TOKEN"  # the token tests/e2e.py gives the bot process
TODAY = dt.date(2026, 12, 1)  # a Tuesday; 2027 has no holiday arrangement here, so dates in it are provisional
ADMIN = Who(900, "管理员")
OFFICER = Who(601, "经办人", language_code="zh-hans")
R1, R2, R3, R4 = Who(501, "甲研究员"), Who(502, "乙研究员"), Who(503, "丙研究员"), Who(504, "丁研究员")
# how each case is built: (applicant, policy, filing day, accepted on) and the light it must show on TODAY
CASES = {
    "red": (R1, "dongguan", dt.date(2026, 11, 2), None),       # acceptance due 11-16: overdue
    "yellow": (R2, "dongguan", dt.date(2026, 11, 19), None),   # acceptance due 12-03: 2 working days left
    "green": (R3, "dongguan", dt.date(2026, 11, 30), None),    # acceptance due 12-14: 9 of 10 left
    "grey": (R1, "dongguan", dt.date(2026, 11, 30), dt.date(2026, 11, 30)),  # decision due in 2027
    "other": (R4, "shanwei", dt.date(2026, 11, 30), None),     # another policy: not the officer's
}


# -- building a world from real events -----------------------------------------------------------------
def init_data(who: Who, signed_at: dt.datetime, token: str = TOKEN, **extra: str) -> str:
    """initData as Telegram signs it (core.telegram.org/bots/webapps), computed here independently of
    bot/web/auth.py so that a mistake there cannot hide in a shared helper."""
    user = {"id": who.user_id, "first_name": who.first_name, "language_code": who.language_code or "zh-hans"}
    fields = {"query_id": "AAH-test", "user": json.dumps(user, ensure_ascii=False, separators=(",", ":")),
              "auth_date": str(int(signed_at.timestamp())), **extra}
    check = "\n".join(f"{k}={v}" for k, v in sorted(fields.items()))
    secret = hmac.new(b"WebAppData", token.encode(), hashlib.sha256).digest()
    fields["hash"] = hmac.new(secret, check.encode(), hashlib.sha256).hexdigest()
    return urlencode(fields, quote_via=quote)


def code_in(text: str) -> str:
    return re.search(r"start[= ]([\w-]+)", text).group(1)


def submit(runtime, who: Who, policy_key: str, on: dt.date) -> Case:
    runtime.settings.today_override = on
    flow = drive(runtime)
    with Session(runtime.engine) as s:  # a second application: the identity is remembered
        remembered = s.exec(select(Case).where(Case.applicant_id == who.user_id)).first() is not None
    steps = happy_path(runtime.policies[policy_key], start_date=(on - dt.timedelta(days=2)).isoformat(),
                       remembered=remembered)
    steps = [s if s.value != "测试-name" else type(s)(s.kind, f"项目-{who.first_name}") for s in steps]
    play(flow, who, flow.new_draft(who).view, steps)
    with Session(runtime.engine) as s:
        return s.exec(select(Case).where(Case.applicant_id == who.user_id).order_by(col(Case.id).desc())).first()


def accept(runtime, case: Case, on: dt.date) -> None:
    runtime.settings.today_override = on
    c = drive(runtime)
    c.press(OFFICER, f"c:o:{case.id}")
    c.press(OFFICER, f"c:a:{case.id}:{case.state}:accept")
    c.press(OFFICER, f"c:s:{case.id}")  # the opinion is optional
    reply = c.press(OFFICER, f"c:k:{case.id}")
    assert "✅" in reply.view.text, reply.view.text


def build_world(database_url: str) -> dict[str, Any]:
    """The officer of Dongguan and five cases whose clocks stand red, yellow, green and grey on TODAY
    (plus one of another policy), all from the events the flows write."""
    settings = Settings(database_url=database_url, today_override=TODAY, admin_ids=[ADMIN.user_id],
                        bot_token=TOKEN, _env_file=None)
    runtime = build_runtime(settings)
    invite = drive(runtime).invite(ADMIN, ["officer", "dongguan", str(OFFICER.user_id)]).view.text
    drive(runtime).start(OFFICER, payload=code_in(invite))
    cases: dict[str, Case] = {}
    for name, (who, key, filed, accepted) in CASES.items():
        cases[name] = submit(runtime, who, key, filed)
        if accepted is not None:
            accept(runtime, cases[name], accepted)
    runtime.settings.today_override = TODAY
    return {"runtime": runtime, "cases": cases}


@pytest.fixture(scope="module")
def world(tmp_path_factory):
    """Built once for the module (five applications walked through the wizard); the tests only read,
    or write what no other test here counts."""
    folder = tmp_path_factory.mktemp("desk")
    (folder / "no-holiday-years").mkdir()
    with pytest.MonkeyPatch.context() as mp, fresh_database(folder) as url:
        mp.setenv("HOLIDAY_DATA_DIR", str(folder / "no-holiday-years"))  # no admin-added 2027
        yield build_world(url)


class FakeBot:
    """What the desk asks of Telegram: recorded, so a test can compare it with the chat's /case."""

    def __init__(self) -> None:
        self.sent: list[dict[str, Any]] = []

    async def send_message(self, chat_id: int, text: str, reply_markup: Any = None) -> None:
        self.sent.append({"chat_id": chat_id, "text": text, "markup": reply_markup})

    async def send_document(self, chat_id: int, document: Any, caption: str | None = None) -> None:
        self.sent.append({"chat_id": chat_id, "document": document, "caption": caption})

    async def set_chat_menu_button(self, chat_id: int | None = None, menu_button: Any = None) -> None:
        self.sent.append({"chat_id": chat_id, "menu_button": menu_button})


@pytest.fixture()
async def client(world):
    runtime = world["runtime"]
    bot = FakeBot()
    server = WebServer("127.0.0.1", 0)
    server.mount(PREFIX, Desk(runtime, bot).app())
    async with TestClient(TestServer(server.app)) as c:
        c.bot = bot  # type: ignore[attr-defined]
        yield c


def auth(who: Who, at: dt.datetime | None = None, **kw: Any) -> dict[str, str]:
    return {"Authorization": "tma " + init_data(who, at or Settings(today_override=TODAY, _env_file=None).now(), **kw)}


# -- initData ---------------------------------------------------------------------------------------------
NOW = dt.datetime(2026, 12, 1, 10, 0, tzinfo=dt.UTC)


def test_init_data_signed_with_the_bot_token_names_its_user():
    user = verify_init_data(init_data(OFFICER, NOW), TOKEN, NOW)
    assert user is not None and user.id == OFFICER.user_id and user.first_name == OFFICER.first_name
    assert user.language_code == "zh-hans"


@pytest.mark.parametrize("case", ["other token", "tampered user", "no hash", "stale", "future", "duplicate key",
                                  "no user", "empty", "garbage"])
def test_init_data_that_telegram_did_not_sign_for_us_now_is_refused(case):
    good = init_data(OFFICER, NOW)
    forged = {
        "other token": init_data(OFFICER, NOW, token="4242:ANOTHER-TOKEN"),
        "tampered user": good.replace(quote('"id":601'), quote('"id":602')),
        "no hash": re.sub(r"&?hash=[0-9a-f]+", "", good),
        "stale": init_data(OFFICER, NOW - MAX_AGE - dt.timedelta(seconds=1)),
        "future": init_data(OFFICER, NOW + dt.timedelta(hours=1)),
        "duplicate key": good + "&auth_date=1",
        "no user": re.sub(r"user=[^&]+&", "", good),
        "empty": "",
        "garbage": "%%%&&&===",
    }[case]
    assert forged != good
    assert verify_init_data(forged, TOKEN, NOW) is None


def test_init_data_just_inside_a_day_is_accepted():
    assert verify_init_data(init_data(OFFICER, NOW - MAX_AGE + dt.timedelta(seconds=5)), TOKEN, NOW) is not None


# -- the lights ------------------------------------------------------------------------------------------
def _clock(world, days_left: int, length: int, due: dt.date, working: bool = True, provisional: bool = False,
           status: str = "running") -> Clock:
    policy = world["runtime"].policies["dongguan" if working else "yunnan"]
    limit = next(lim for lim in policy.time_limits if (lim.unit == "working_days") == working)
    return Clock(limit, status, TODAY - dt.timedelta(days=3), length, due=Due(due, provisional), days_left=days_left)


def test_lights_follow_the_rules_of_the_officers_alerts(world):
    cal = world["runtime"].calendar
    assert light(_clock(world, -1, 10, TODAY - dt.timedelta(days=1)), cal, TODAY) == "red"
    assert light(_clock(world, 2, 10, dt.date(2026, 12, 3)), cal, TODAY) == "yellow"      # 2 working days left
    assert light(_clock(world, 5, 10, dt.date(2026, 12, 8)), cal, TODAY) == "yellow"      # half its days used
    assert light(_clock(world, 6, 10, dt.date(2026, 12, 9)), cal, TODAY) == "green"
    assert light(_clock(world, 30, 30, dt.date(2027, 1, 12), provisional=True), cal, TODAY) == "grey"
    # a calendar-day clock is "due soon" by working days too: Saturday 12-05 is 3 working days away
    assert light(_clock(world, 4, 7, dt.date(2026, 12, 5), working=False), cal, TODAY) == "green"
    assert light(_clock(world, 2, 7, dt.date(2026, 12, 3), working=False), cal, TODAY) == "yellow"
    assert light(_clock(world, 3, 10, dt.date(2026, 12, 4), status="paused"), cal, TODAY) == "none"
    assert light(None, cal, TODAY) == "none"


# -- the API ----------------------------------------------------------------------------------------------
async def test_the_officers_table_holds_their_cases_by_next_due_date_with_real_lights(client, world):
    response = await client.get("/desk/api/cases", headers=auth(OFFICER))
    assert response.status == 200
    body = await response.json()
    rows = body["cases"]
    cases = world["cases"]
    assert [r["number"] for r in rows] == [cases[k].number for k in ("red", "yellow", "green", "grey")]
    assert [r["light"] for r in rows] == ["red", "yellow", "green", "grey"]
    red, yellow, green, grey = rows
    assert (red["due"], red["days_left"]) == ("2026-11-16", -11)
    assert (yellow["due"], yellow["days_left"]) == ("2026-12-03", 2)
    assert (green["due"], green["days_left"]) == ("2026-12-14", 9)
    assert grey["provisional"] and grey["due"].startswith("2027-") and grey["state"] == "investigation"
    assert red["days_unit"] == catalogue("zh")["rem.unit_wd"] and red["clause"] == "4(2)1"
    assert red["applicant"] == R1.first_name and red["project"] == f"项目-{R1.first_name}"
    assert body["today"] == TODAY.isoformat() and body["staff"] is True
    assert [p["key"] for p in body["policies"]] == ["dongguan"]


async def test_a_researcher_sees_only_their_own_cases(client, world):
    body = await (await client.get("/desk/api/cases", headers=auth(R1))).json()
    assert sorted(r["number"] for r in body["cases"]) == sorted([world["cases"]["red"].number,
                                                                world["cases"]["grey"].number])
    assert all(r["own"] for r in body["cases"]) and body["staff"] is False
    nobody = await (await client.get("/desk/api/cases", headers=auth(Who(777, "路人")))).json()
    assert nobody["cases"] == []


async def test_forged_stale_or_missing_init_data_gets_401_and_nothing_else(client, world):
    now = Settings(today_override=TODAY, _env_file=None).now()
    case_id = world["cases"]["red"].id
    bad_headers = [{}, {"Authorization": "tma"}, {"Authorization": "Bearer " + init_data(OFFICER, now)},
                   auth(OFFICER, token="4242:ANOTHER-TOKEN"), auth(OFFICER, now - dt.timedelta(hours=25)),
                   {"Authorization": "tma " + init_data(OFFICER, now).replace(quote('"id":601'), quote('"id":501'))}]
    for headers in bad_headers:
        for method, path in (("GET", "/desk/api/cases"), ("GET", f"/desk/api/cases/{case_id}"),
                             ("GET", f"/desk/api/cases/{case_id}/timeline.png"),
                             ("POST", f"/desk/api/cases/{case_id}/open"), ("POST", "/desk/api/register")):
            response = await client.request(method, path, headers=headers)
            assert response.status == 401, (headers, path)
            assert await response.json() == {"error": "unauthorized"}
    assert client.bot.sent == []


async def test_no_case_id_reveals_anything_to_someone_who_may_not_see_it(client, world):
    other = world["cases"]["other"].id  # a Shanwei case: exists, but not the Dongguan officer's
    answers = []
    for case_id in (other, 999999, "abc", "-1"):
        for path in (f"/desk/api/cases/{case_id}", f"/desk/api/cases/{case_id}/timeline.png"):
            response = await client.get(path, headers=auth(OFFICER))
            answers.append((response.status, await response.read()))
        response = await client.post(f"/desk/api/cases/{case_id}/open", headers=auth(OFFICER))
        answers.append((response.status, await response.read()))
    assert {a for a in answers} == {(404, b'{"error": "not_found"}')}
    researcher = await client.get(f"/desk/api/cases/{world['cases']['yellow'].id}", headers=auth(R1))
    assert researcher.status == 404
    assert client.bot.sent == []
    with Session(world["runtime"].engine) as s:  # a refused "open in chat" is recorded like a refused /case
        refused = s.exec(select(SecurityEvent).where(SecurityEvent.actor_id == 601,
                                                     SecurityEvent.action == "open")).all()
        assert sorted(e.detail for e in refused) == sorted([f"ref={other}", "ref=999999"])
        assert {e.case_id for e in refused} == {other, None}


async def test_the_case_page_has_the_case_file_clocks_documents_log_and_actions(client, world):
    case = world["cases"]["grey"]
    response = await client.get(f"/desk/api/cases/{case.id}", headers=auth(OFFICER))
    page = await response.json()
    chat_text = drive(world["runtime"]).case(OFFICER, case.number).view.text
    assert page["text"] == chat_text  # the same case file as in chat
    running = [c for c in page["clocks"] if c["status"] == "running"]
    assert [(c["clause"], c["light"], c["provisional"]) for c in running] == [("4(3)", "grey", True)]
    stopped = {c["clause"]: c["met"] for c in page["clocks"] if c["status"] == "stopped"}
    assert stopped == {"4(1)2": True, "4(2)1": True}
    # the files the applicant uploaded (the 申请书 and 情况说明 are written by the assistant, not uploaded)
    assert [d["name"] for d in page["documents"]] == ["evidence.pdf"]
    assert any("受理" in line for line in page["log"]) and len(page["log"]) == 3
    labels = {a["label"] for a in page["actions"]}
    assert any("评估" in label for label in labels) and not any("受理" == label.strip("✅ ") for label in labels)
    png = await client.get(f"/desk/api/cases/{case.id}/timeline.png", headers=auth(OFFICER))
    assert png.status == 200 and (await png.read()).startswith(b"\x89PNG")
    own = await (await client.get(f"/desk/api/cases/{case.id}", headers=auth(R1))).json()
    assert own["actions"] == [] or all("补充材料" in a["label"] for a in own["actions"])
    assert all("refused" not in line for line in own["log"])


async def test_open_in_chat_sends_the_same_screen_as_the_case_command(client, world):
    case = world["cases"]["yellow"]
    response = await client.post(f"/desk/api/cases/{case.id}/open", headers=auth(OFFICER))
    assert response.status == 200 and await response.json() == {"ok": True}
    [sent] = client.bot.sent
    expected = drive(world["runtime"]).case(OFFICER, case.number)
    assert sent["chat_id"] == OFFICER.user_id and sent["text"] == expected.view.text
    pressed = [b.callback_data for row in sent["markup"].inline_keyboard for b in row]
    assert pressed == [data for row in expected.view.buttons for _label, data in row]
    assert f"c:a:{case.id}:received:accept" in pressed


async def test_a_document_is_sent_through_the_same_check_as_the_chat_button(client, world):
    case = world["cases"]["red"]
    page = await (await client.get(f"/desk/api/cases/{case.id}", headers=auth(OFFICER))).json()
    ref = page["documents"][0]["ref"]
    assert (await client.post(f"/desk/api/files/{ref}/send", headers=auth(OFFICER))).status == 200
    assert client.bot.sent[-1]["document"].startswith("F-")
    stranger = await client.post(f"/desk/api/files/{ref}/send", headers=auth(R2))
    assert stranger.status == 404 and len(client.bot.sent) == 1


async def test_the_page_and_its_texts_are_served_without_data(client):
    page = await client.get("/desk/")
    assert page.status == 200 and "script-src 'self'" in page.headers["Content-Security-Policy"]
    html = await page.text()
    assert "static/desk.js" in html and "http" not in html  # nothing from the network
    js = await client.get("/desk/static/desk.js")
    assert js.status == 200 and "tgWebAppData" in await js.text()
    strings = await (await client.get("/desk/strings?lang=en")).json()
    assert strings["lang"] == "en" and strings["strings"]["desk.title"] == catalogue("en")["desk.title"]
    assert all(k.startswith("desk.") for k in strings["strings"])


def test_every_text_of_the_page_is_in_both_catalogues():
    """The page has no text of its own: every key desk.js names is in desk.po, in both languages."""
    js = (ROOT / "bot/web/static/desk.js").read_text(encoding="utf-8")
    keys = set(re.findall(r'"(desk\.[a-z_.]+[a-z_])"', js))
    keys |= {f"desk.light.{x}" for x in ("red", "yellow", "green", "grey", "none")}
    assert len(keys) > 30
    for lang in ("zh", "en"):
        missing = sorted(k for k in keys if k not in catalogue(lang))
        assert not missing, (lang, missing)
    html = (ROOT / "bot/web/static/index.html").read_text(encoding="utf-8")
    visible = re.sub(r"<[^>]+>", "", html).strip()
    assert visible == ""  # no text in the markup either


async def test_the_menu_button_opens_the_desk_for_members_and_is_reset_for_others(world):
    from bot.web.desk import desk_buttons, set_desk_button

    runtime = world["runtime"]
    settings = runtime.settings.model_copy(update={"desk_url": "https://bot.example.org/desk"})
    bot = FakeBot()
    await desk_buttons(bot, dataclasses.replace(runtime, settings=settings))
    [member] = bot.sent
    assert member["chat_id"] == OFFICER.user_id
    assert member["menu_button"].web_app.url == "https://bot.example.org/desk/"
    await set_desk_button(bot, R1.user_id, False, settings, "zh")
    assert bot.sent[-1]["menu_button"].type == "default"
    everyone = settings.model_copy(update={"desk_for_everyone": True})
    bot = FakeBot()
    await desk_buttons(bot, dataclasses.replace(runtime, settings=everyone))
    default = next(sent for sent in bot.sent if sent["chat_id"] is None)  # the bot-wide button: researchers too
    assert default["menu_button"].web_app.url == "https://bot.example.org/desk/"

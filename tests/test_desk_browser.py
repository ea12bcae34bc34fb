"""The desk in a real browser: Debian's headless Chromium (driven by selenium through Debian's
chromium-driver) opens the page served by the real bot process (`python -m bot`, against the local Bot
API server), on a phone-sized viewport, with initData signed in the test — as Telegram opens it.

The cases are built beforehand from real events (the wizard and the officers' flow, dated with the
process clock override), so their clocks are the real ones: overdue, due soon, on time and provisional
on TODAY. Screenshots are checked for the lights actually drawn, and kept under the test's tmp_path.
"""

from __future__ import annotations

import datetime as dt
import io
import json
import shutil
import socket
import time
import urllib.error
import urllib.request
from pathlib import Path
from typing import Any
from urllib.parse import quote

import pytest
from PIL import Image

from bot.config import Settings
from tests.botapi import BotApiServer
from tests.conftest import fresh_database
from tests.e2e import BotProcess
from tests.test_desk import OFFICER, R1, TODAY, build_world, init_data

pytestmark = pytest.mark.slow
CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
DRIVER = shutil.which("chromedriver") or "/usr/bin/chromedriver"
WIDTH, HEIGHT = 390, 844
# the lights as desk.css paints them
COLOURS = {"red": (0xD3, 0x2F, 0x2F), "yellow": (0xF2, 0xB7, 0x05), "green": (0x2E, 0x8B, 0x3E),
           "grey": (0x9A, 0xA0, 0xA6)}
RECORD_EVENTS = """
window.__events = [];
window.TelegramWebviewProxy = {postEvent: function (type, data) { window.__events.push(type); }};
"""


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_for_http(url: str, timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    while True:
        try:
            with urllib.request.urlopen(url, timeout=2):
                return
        except (urllib.error.URLError, ConnectionError):
            if time.monotonic() > deadline:
                raise AssertionError(f"the desk did not come up at {url}") from None
            time.sleep(0.1)


def http(url: str, headers: dict[str, str] | None = None, method: str = "GET") -> tuple[int, bytes]:
    request = urllib.request.Request(url, headers=headers or {}, method=method)
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            return response.status, response.read()
    except urllib.error.HTTPError as exc:
        return exc.code, exc.read()


def process_now() -> dt.datetime:
    """The bot's clock (TODAY_OVERRIDE at the real time of day), which initData's age is measured on."""
    return Settings(today_override=TODAY, _env_file=None).now()


@pytest.fixture(scope="module")
def desk(tmp_path_factory) -> Any:
    if not (Path(CHROMIUM).exists() and Path(DRIVER).exists()):
        pytest.fail("Debian's chromium and chromium-driver are needed: bash tests/system_packages.sh "
                    "(apt-get install chromium chromium-driver)")
    folder = tmp_path_factory.mktemp("desk-browser")
    holidays = folder / "no-holiday-years"
    holidays.mkdir()
    port = free_port()
    url = f"http://127.0.0.1:{port}/desk/"
    with pytest.MonkeyPatch.context() as mp, BotApiServer(test_environment=True) as server, \
            fresh_database(folder) as db:
        mp.setenv("HOLIDAY_DATA_DIR", str(holidays))
        world = build_world(db)
        for who in (OFFICER, R1):
            server.user(who.user_id, first_name=who.first_name, language_code="zh-hans")
        bot = BotProcess(server, db, folder, ADMIN_IDS="900", TODAY_OVERRIDE=TODAY.isoformat(),
                         DESK_URL=url, DESK_PORT=str(port), HOLIDAY_DATA_DIR=str(holidays)).start()
        try:
            wait_for_http(url + "strings?lang=zh")
            yield {"url": url, "server": server, "bot": bot, "world": world, "dir": folder}
        finally:
            bot.stop()


@pytest.fixture()
def browser(tmp_path) -> Any:
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM
    for flag in ("--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update", "--disable-sync",
                 "--disable-dev-shm-usage", f"--user-data-dir={tmp_path / 'chromium-profile'}",
                 f"--window-size={WIDTH},{HEIGHT}"):
        options.add_argument(flag)
    driver = webdriver.Chrome(service=Service(DRIVER, log_output=str(tmp_path / "chromedriver.log")),
                              options=options)
    driver.execute_cdp_cmd("Emulation.setDeviceMetricsOverride",
                           {"width": WIDTH, "height": HEIGHT, "deviceScaleFactor": 1, "mobile": True})
    driver.execute_cdp_cmd("Page.addScriptToEvaluateOnNewDocument", {"source": RECORD_EVENTS})
    try:
        yield driver
    finally:
        driver.quit()


def wait_ready(driver: Any, state: str, timeout: float = 20.0) -> None:
    from selenium.webdriver.support.ui import WebDriverWait

    WebDriverWait(driver, timeout).until(lambda d: d.execute_script("return document.body.dataset.ready") == state,
                                         f"page never reached {state!r}")


def rows(driver: Any) -> list[tuple[str, str]]:
    return [(r.get_attribute("data-number"), r.get_attribute("data-light"))
            for r in driver.find_elements("css selector", "#table tbody tr.case")]


def open_desk(driver: Any, url: str, initdata: str) -> None:
    driver.get(url + "#tgWebAppData=" + quote(initdata, safe="") + "&tgWebAppVersion=8.0&tgWebAppPlatform=android")


def colours_drawn(png: bytes) -> set[str]:
    """Which lights appear as solid patches (a 16 px dot holds well over 60 pixels of its colour)."""
    image = Image.open(io.BytesIO(png)).convert("RGB")
    counts = dict.fromkeys(COLOURS, 0)
    for n, pixel in image.getcolors(image.width * image.height) or []:
        for name, rgb in COLOURS.items():
            if all(abs(a - b) <= 6 for a, b in zip(pixel, rgb, strict=True)):
                counts[name] += n
    return {name for name, n in counts.items() if n >= 60}


def test_the_officer_opens_the_desk_sees_the_lights_filters_and_opens_a_case(desk, browser):
    cases, server = desk["world"]["cases"], desk["server"]
    deadline = time.monotonic() + 20  # set by the bot at start for every member (its web server may come up first)
    while (button := server.menu_button(OFFICER.user_id)) is None and time.monotonic() < deadline:
        time.sleep(0.1)
    assert button and button["type"] == "web_app" and button["web_app"]["url"] == desk["url"]
    open_desk(browser, desk["url"], init_data(OFFICER, process_now()))
    wait_ready(browser, "list")
    assert browser.execute_script("return window.innerWidth") == WIDTH
    expected = [(cases[k].number, k) for k in ("red", "yellow", "green", "grey")]
    assert rows(browser) == expected  # sorted by the next due date; the Shanwei case is not theirs
    body = browser.find_element("css selector", "#table").text
    assert "2026-11-16" in body and "超期 11 个工作日" in body and "还剩 2 个工作日" in body and "（暂定）" in body
    # nothing is wider than the phone
    assert browser.execute_script("return document.documentElement.scrollWidth") <= WIDTH
    shot = browser.get_screenshot_as_png()
    (desk["dir"] / "desk-table.png").write_bytes(shot)
    assert Image.open(io.BytesIO(shot)).size == (WIDTH, HEIGHT)
    assert colours_drawn(shot) == set(COLOURS)

    from selenium.webdriver.support.ui import Select

    Select(browser.find_element("id", "f-light")).select_by_value("yellow")
    assert rows(browser) == [(cases["yellow"].number, "yellow")]
    Select(browser.find_element("id", "f-light")).select_by_value("")
    Select(browser.find_element("id", "f-state")).select_by_value("dongguan:investigation")
    assert rows(browser) == [(cases["grey"].number, "grey")]
    Select(browser.find_element("id", "f-state")).select_by_value("")
    Select(browser.find_element("id", "f-policy")).select_by_value("dongguan")
    assert len(rows(browser)) == 4
    Select(browser.find_element("id", "f-policy")).select_by_value("")
    search = browser.find_element("id", "search")
    search.send_keys(cases["grey"].number)
    assert rows(browser) == [(cases["grey"].number, "grey")]
    search.clear()
    search.send_keys("乙研究员")  # by name
    assert rows(browser) == [(cases["yellow"].number, "yellow")]
    search.clear()
    browser.execute_script("document.getElementById('search').dispatchEvent(new Event('input'))")
    assert len(rows(browser)) == 4

    browser.find_element("css selector", f"tr[data-number='{cases['grey'].number}']").click()
    wait_ready(browser, "case")
    detail = browser.find_element("id", "detail").text
    assert cases["grey"].number in detail and "局长办公会作出决定" in detail and "4(3)" in detail
    assert "办理记录" in detail and "evidence.pdf" in detail  # the uploaded evidence, listed with its send button
    assert browser.execute_script("return document.getElementById('d-timeline-img').naturalWidth") > 500
    shot = browser.get_screenshot_as_png()
    (desk["dir"] / "desk-case.png").write_bytes(shot)
    assert "grey" in colours_drawn(shot)
    browser.execute_script("window.scrollTo(0, document.getElementById('d-timeline').offsetTop - 60)")
    (desk["dir"] / "desk-timeline.png").write_bytes(browser.get_screenshot_as_png())

    officer = server.user(OFFICER.user_id)
    mark = officer.mark()
    open_chat = browser.find_element("id", "open-chat")
    browser.execute_script("arguments[0].scrollIntoView({block: 'center'})", open_chat)
    open_chat.click()
    screen = officer.wait_for(lambda m: cases["grey"].number in m.get("text", ""), since=mark, timeout=15)
    buttons = [b["callback_data"] for row in screen["reply_markup"]["inline_keyboard"] for b in row]
    assert any(b.startswith(f"c:a:{cases['grey'].id}:investigation:") for b in buttons)
    deadline = time.monotonic() + 5
    while "web_app_close" not in browser.execute_script("return window.__events") and time.monotonic() < deadline:
        time.sleep(0.05)
    assert "web_app_close" in browser.execute_script("return window.__events")  # the Mini App closes


def test_the_register_button_sends_the_xlsx_of_the_officers_cases(desk, browser):
    from openpyxl import load_workbook

    cases, server = desk["world"]["cases"], desk["server"]
    open_desk(browser, desk["url"], init_data(OFFICER, process_now()))
    wait_ready(browser, "list")
    officer = server.user(OFFICER.user_id)
    before = len(officer.documents_received())
    browser.find_element("id", "register").click()
    deadline = time.monotonic() + 20
    while len(officer.documents_received()) == before and time.monotonic() < deadline:
        time.sleep(0.1)
    document = officer.documents_received()[-1]
    assert document.file_name.endswith(".xlsx")
    sheet = load_workbook(io.BytesIO(document.content)).worksheets[0]
    numbers = {r[0] for r in sheet.iter_rows(min_row=2, values_only=True)}
    assert numbers == {cases[k].number for k in ("red", "yellow", "green", "grey")}
    mark = officer.mark()
    officer.send_text("/register")
    reply = officer.wait_for(lambda m: bool(m.get("document")), since=mark, timeout=20)
    assert reply["document"]["file_name"].endswith(".xlsx")


def test_a_researcher_sees_only_their_own_cases(desk, browser):
    cases = desk["world"]["cases"]
    signed = init_data(R1, process_now())
    # this time initData comes the other way Telegram hands it over: window.Telegram.WebApp.initData
    browser.execute_cdp_cmd("Page.addScriptToEvaluateOnNewDocument",
                            {"source": f"window.Telegram = {{WebApp: {{initData: {json.dumps(signed)}}}}};"})
    browser.get(desk["url"])
    wait_ready(browser, "list")
    assert sorted(rows(browser)) == sorted([(cases["red"].number, "red"), (cases["grey"].number, "grey")])
    assert "本人" in browser.find_element("css selector", "#table").text
    status, body = http(desk["url"] + f"api/cases/{cases['yellow'].id}", {"Authorization": "tma " + signed})
    assert (status, body) == (404, b'{"error": "not_found"}')
    assert http(desk["url"] + "api/cases/999999", {"Authorization": "tma " + signed}) == (status, body)


def test_forged_and_expired_init_data_get_401_in_the_page_and_over_http(desk, browser):
    url = desk["url"]
    forged = init_data(OFFICER, process_now(), token="4242:NOT-OUR-TOKEN")
    expired = init_data(OFFICER, process_now() - dt.timedelta(hours=24, minutes=1))
    tampered = init_data(OFFICER, process_now()).replace(quote('"id":601'), quote('"id":501'))
    for bad in (forged, expired, tampered):
        for path in ("api/cases", f"api/cases/{desk['world']['cases']['red'].id}"):
            assert http(url + path, {"Authorization": "tma " + bad}) == (401, b'{"error": "unauthorized"}')
    assert http(url + "api/cases")[0] == 401
    assert http(url + "api/register", {"Authorization": "tma " + expired}, method="POST")[0] == 401
    open_desk(browser, url, expired)
    wait_ready(browser, "error")
    assert rows(browser) == []
    assert "无法确认您的身份" in browser.find_element("id", "message").text


def test_a_new_member_gets_the_desk_button_when_joining_and_loses_it_when_revoked(desk):
    import re

    server = desk["server"]
    admin = server.user(900, first_name="管理员", language_code="zh-hans")
    newcomer = server.user(602, first_name="新经办", language_code="zh-hans")
    mark = admin.mark()
    admin.send_text("/invite officer dongguan 602")  # named: no confirmation step
    code = re.search(r"start[= ]([\w-]+)", admin.wait_for_text("邀请码", since=mark, timeout=15)["text"]).group(1)
    mark = newcomer.mark()
    newcomer.send_text(f"/start {code}")
    newcomer.wait_for_text("欢迎", since=mark, timeout=15)
    deadline = time.monotonic() + 10
    while (server.menu_button(602) or {}).get("type") != "web_app" and time.monotonic() < deadline:
        time.sleep(0.05)
    assert server.menu_button(602)["web_app"]["url"] == desk["url"]
    mark = admin.mark()
    admin.send_text("/officers")
    members = admin.wait_for(lambda m: "新经办" in m.get("text", ""), since=mark, timeout=15)
    line = next(x for x in members["text"].splitlines() if "新经办" in x)
    membership = re.search(r"#(\d+)", line).group(1)
    mark = admin.mark()
    admin.press_data(f"c:r:{membership}", members["message_id"])
    admin.wait_for_change(mark, timeout=15)
    deadline = time.monotonic() + 10
    while (server.menu_button(602) or {}).get("type") != "default" and time.monotonic() < deadline:
        time.sleep(0.05)
    assert server.menu_button(602) == {"type": "default"}

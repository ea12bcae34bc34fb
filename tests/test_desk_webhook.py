"""The desk in webhook mode: the real bot process (`python -m bot --webhook`) serves Telegram's webhook and
the desk from one aiohttp server on WEBHOOK_LISTEN:WEBHOOK_PORT, and opens no second port for the desk.
The polling-mode desk (its own server on DESK_PORT) is what tests/test_desk_browser.py drives."""

from __future__ import annotations

import json
import socket
import urllib.error
import urllib.request

import pytest

from tests.botapi import BotApiServer
from tests.conftest import fresh_database
from tests.test_desk import OFFICER, TODAY, build_world, init_data
from tests.test_desk_browser import http, process_now, wait_for_http
from tests.test_e2e_documents import WebhookBot

pytestmark = pytest.mark.slow


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def listening(port: int) -> bool:
    with socket.socket() as sock:
        return sock.connect_ex(("127.0.0.1", port)) == 0


def test_webhook_and_desk_share_one_server(tmp_path, monkeypatch):
    holidays = tmp_path / "no-holiday-years"
    holidays.mkdir()
    monkeypatch.setenv("HOLIDAY_DATA_DIR", str(holidays))
    port, desk_port, secret = free_port(), free_port(), "s3cret-token_42"
    hook_url = f"http://127.0.0.1:{port}/telegram"
    desk_url = f"http://127.0.0.1:{port}/desk/"
    with BotApiServer(test_environment=True) as server, fresh_database(tmp_path) as db:
        world = build_world(db)
        user = server.user(OFFICER.user_id, first_name=OFFICER.first_name, language_code="zh-hans")
        bot = WebhookBot(server, db, tmp_path, WEBHOOK_URL=hook_url, WEBHOOK_SECRET=secret,
                         WEBHOOK_LISTEN="127.0.0.1", WEBHOOK_PORT=str(port), DESK_URL=desk_url,
                         DESK_PORT=str(desk_port), ADMIN_IDS="900", TODAY_OVERRIDE=TODAY.isoformat(),
                         HOLIDAY_DATA_DIR=str(holidays)).start()
        try:
            # the desk, on the webhook's port (setWebhook, which start() waits for, comes before the server listens)
            wait_for_http(desk_url + "strings?lang=zh")
            status, body = http(desk_url + "api/cases",
                                {"Authorization": "tma " + init_data(OFFICER, process_now())})
            assert status == 200, body
            numbers = [row["number"] for row in json.loads(body)["cases"]]
            assert numbers == [world["cases"][k].number for k in ("red", "yellow", "green", "grey")]
            assert http(desk_url + "api/cases")[0] == 401
            status, page = http(desk_url)
            assert status == 200 and b"static/desk.js" in page
            assert not listening(desk_port)  # no second server beside the webhook's
            # and the webhook on the same server still takes updates, behind its secret
            mark = user.mark()
            user.send_text("/queue")
            # the queue lists every case of the officer's (the outbox's notices of one new case may come first)
            user.wait_for(lambda m: all(n in m.get("text", "") for n in numbers), since=mark, timeout=15)
            assert server.webhook_deliveries() and not server.calls("getUpdates")
            forged = urllib.request.Request(hook_url, data=b'{"update_id": 1}', method="POST",
                                            headers={"Content-Type": "application/json",
                                                     "X-Telegram-Bot-Api-Secret-Token": "wrong"})
            with pytest.raises(urllib.error.HTTPError) as refused:
                urllib.request.urlopen(forged, timeout=5)
            assert refused.value.code == 403
            # the member's menu button opens the desk
            assert server.menu_button(OFFICER.user_id)["web_app"]["url"] == desk_url
        finally:
            bot.stop()

"""PTB's requests made with aiohttp (bot/transport.py) keep PTB's contract: texts with keyboards, files up
and down byte for byte, long polls, Telegram's refusals as PTB's errors, a timeout as TimedOut and a
connection that fails as NetworkError. The end-to-end tests run every bot process on it as well."""

from __future__ import annotations

import asyncio
import socket

import pytest
from aiohttp import web
from telegram import Bot, InlineKeyboardButton, InlineKeyboardMarkup, InputFile
from telegram.error import BadRequest, NetworkError, TimedOut

from bot.transport import AiohttpRequest
from tests.botapi import DEFAULT_TOKEN

PDF = b"%PDF-1.4\n" + bytes(range(256)) * 400  # every byte value, 100 KB


def _bot(botapi, request: AiohttpRequest) -> Bot:
    return Bot(DEFAULT_TOKEN, base_url=botapi.base_url, base_file_url=botapi.base_file_url, request=request)


async def test_texts_keyboards_and_files_go_both_ways_intact(botapi):
    user = botapi.user(9101, first_name="研究员")
    user.send_text("/start")
    markup = InlineKeyboardMarkup([[InlineKeyboardButton("确认 ✓", callback_data="w:1:确认")]])
    async with _bot(botapi, AiohttpRequest()) as bot:
        updates = await bot.get_updates(timeout=1)
        assert [u.message.text for u in updates] == ["/start"]
        sent = await bot.send_message(9101, "申请书 —— 第一步 🧪", reply_markup=markup)
        assert sent.text == "申请书 —— 第一步 🧪" and sent.reply_markup == markup
        await bot.send_document(9101, InputFile(PDF, filename="申请书.pdf"), caption="附件")
        user.send_document("材料.pdf", PDF, "application/pdf")
        upload = (await bot.get_updates(offset=updates[-1].update_id + 1, timeout=1))[-1].message.document
        downloaded = await (await bot.get_file(upload.file_id)).download_as_bytearray()
    assert bytes(downloaded) == PDF
    received = user.documents_received()[-1]
    assert received.file_name == "申请书.pdf" and received.content == PDF and received.caption == "附件"
    assert user.buttons(sent.message_id) == [("确认 ✓", "w:1:确认")]


async def test_a_long_poll_waits_for_its_timeout_and_a_refusal_is_ptbs_error(botapi):
    async with _bot(botapi, AiohttpRequest(read_timeout=1.0)) as bot:
        loop = asyncio.get_running_loop()
        began = loop.time()
        assert await bot.get_updates(timeout=2) == ()  # the read timeout is lengthened by the poll's own
        assert loop.time() - began >= 1.5
        with pytest.raises(BadRequest, match="(?i)chat not found"):
            await bot.send_message(9_999_999, "无人")


async def test_no_answer_in_time_is_timed_out_and_no_server_is_a_network_error():
    async def slow(_request: web.Request) -> web.Response:
        await asyncio.sleep(5)
        return web.json_response({"ok": True, "result": True})

    app = web.Application()
    app.router.add_route("*", "/{tail:.*}", slow)
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
    with socket.socket() as s:  # a port nobody listens on
        s.bind(("127.0.0.1", 0))
        closed = s.getsockname()[1]
    request = AiohttpRequest(read_timeout=0.5, connect_timeout=0.5)
    await request.initialize()
    try:
        with pytest.raises(TimedOut):
            await request.post(f"http://127.0.0.1:{port}/bot{DEFAULT_TOKEN}/getMe")
        with pytest.raises(NetworkError) as refused:
            await request.post(f"http://127.0.0.1:{closed}/bot{DEFAULT_TOKEN}/getMe")
        assert not isinstance(refused.value, TimedOut)
    finally:
        await request.shutdown()
        await runner.cleanup()


def test_the_bot_runs_on_ptbs_own_httpx_when_configured(botapi, database_url, tmp_path):
    """REQUEST_BACKEND=httpx puts PTB's HTTPXRequest back: the same dialog works on it."""
    from tests.e2e import BotProcess, Researcher

    bot = BotProcess(botapi, database_url, tmp_path, REQUEST_BACKEND="httpx").start()
    try:
        r = Researcher(botapi, 9201)
        assert "东莞" in r.command("/new")["text"]
        r.press("dongguan")  # (an edit of the screen, with its keyboard)
        assert "update failed" not in bot.log()
    finally:
        bot.stop()

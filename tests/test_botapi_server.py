"""End-to-end tests of the fake Bot API server against the real, unmodified PTB 22 stack.

Why: every other end-to-end test trusts this server to behave like Telegram.  These tests pin
the behaviours PTB depends on (object shapes it parses, getUpdates offset/long-poll semantics,
edits, callback answers, file transfer, error codes reaching PTB as the right exceptions).
"""

from __future__ import annotations

import hashlib
import json
import struct
import threading
import time
import urllib.error
import urllib.request
import zlib
from collections.abc import Iterator
from datetime import timedelta
from typing import Any

import pytest
from aiohttp import web
from telegram import Bot, InlineKeyboardButton, InlineKeyboardMarkup, Update
from telegram.constants import ParseMode
from telegram.error import BadRequest, Conflict, Forbidden, NetworkError, RetryAfter
from telegram.ext import (
    Application,
    CallbackQueryHandler,
    CommandHandler,
    ContextTypes,
    MessageHandler,
    filters,
)

from tests.botapi import DEFAULT_TOKEN, ApplicationThread, BotApiServer
from tests.botapi.fixtures import botapi  # noqa: F401 - pytest fixture

USER_ID = 4242

# ---------------------------------------------------------------------- the echo bot


def _keyboard(step: int) -> InlineKeyboardMarkup:
    return InlineKeyboardMarkup(
        [[InlineKeyboardButton("下一步", callback_data=f"next:{step}")], [InlineKeyboardButton("帮助", callback_data="help")]]
    )


async def _start(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    assert update.message is not None
    await update.message.reply_text("欢迎！第 0 步", reply_markup=_keyboard(0))


async def _button(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    query = update.callback_query
    assert query is not None and query.data is not None
    if query.data == "help":
        await query.answer("这是帮助", show_alert=True)
        return
    step = int(query.data.split(":")[1]) + 1 if query.data.startswith("next:") else -1
    await query.answer(f"已到第 {step} 步")
    if step >= 0:
        await query.edit_message_text(f"第 {step} 步", reply_markup=_keyboard(step))
    else:
        await query.edit_message_text("无效按钮")


async def _document(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    message = update.message
    assert message is not None and message.document is not None
    doc = message.document
    if doc.file_size is not None and doc.file_size <= 20 * 1024 * 1024:
        data = await (await context.bot.get_file(doc.file_id)).download_as_bytearray()
        summary = f"{len(data)} {hashlib.sha256(data).hexdigest()}"
    else:
        summary = "too big to download"
    await message.reply_document(doc.file_id, caption=summary)


async def _echo(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    message = update.effective_message
    assert message is not None and message.text is not None
    await message.reply_text(("edited: " if update.edited_message else "") + message.text)


def _build_app(server: BotApiServer) -> Application:
    app = (
        Application.builder()
        .token(DEFAULT_TOKEN)
        .base_url(f"{server.url}/bot")
        .base_file_url(f"{server.url}/file/bot")
        .build()
    )
    app.add_handler(CommandHandler("start", _start))
    app.add_handler(CallbackQueryHandler(_button))
    app.add_handler(MessageHandler(filters.Document.ALL, _document))
    app.add_handler(MessageHandler(filters.TEXT & ~filters.COMMAND, _echo))
    return app


@pytest.fixture
def running_bot(botapi: BotApiServer) -> Iterator[ApplicationThread]:  # noqa: F811
    with ApplicationThread(_build_app(botapi)) as runner:
        yield runner
    assert runner.errors == []


def _raw(server: BotApiServer, method: str, params: dict[str, Any] | None = None, *, token: str = DEFAULT_TOKEN,
         form: bool = False) -> tuple[int, dict[str, Any]]:
    """Plain HTTP call, bypassing PTB, to check the wire format itself."""
    if form:
        from urllib.parse import urlencode

        body = urlencode({k: v if isinstance(v, str) else json.dumps(v) for k, v in (params or {}).items()}).encode()
        ctype = "application/x-www-form-urlencoded"
    else:
        body = json.dumps(params or {}).encode()
        ctype = "application/json"
    req = urllib.request.Request(f"{server.url}/bot{token}/{method}", data=body, headers={"Content-Type": ctype})
    try:
        with urllib.request.urlopen(req, timeout=10) as resp:
            return resp.status, json.loads(resp.read())
    except urllib.error.HTTPError as exc:
        return exc.code, json.loads(exc.read())


def _png(width: int, height: int) -> bytes:
    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    raw = b"".join(b"\x00" + b"\xff\x00\x00" * width for _ in range(height))
    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", zlib.compress(raw)) + chunk(b"IEND", b"")


def _seconds(value: int | timedelta) -> float:
    return value.total_seconds() if isinstance(value, timedelta) else float(value)


# ---------------------------------------------------------------------- conversation flow


def test_echo_start_keyboard_edit_and_callback_answer(botapi: BotApiServer, running_bot: ApplicationThread) -> None:  # noqa: F811
    user = botapi.user(USER_ID, first_name="张三")

    user.send_text("你好 world")
    echo = user.wait_for(lambda m: m.get("text") == "你好 world")
    assert echo["from"]["is_bot"] is True and echo["chat"] == {"id": USER_ID, "first_name": "张三", "type": "private"}
    assert isinstance(echo["date"], int) and abs(echo["date"] - time.time()) < 5

    mine = next(m for m in user.history() if not m["from"]["is_bot"])
    user.edit_text(mine["message_id"], "改过的")
    assert user.wait_for()["text"] == "edited: 改过的"

    user.send_text("/start")
    welcome = user.wait_for(lambda m: m.get("text", "").startswith("欢迎"))
    assert welcome["message_id"] > echo["message_id"]
    assert user.buttons() == [("下一步", "next:0"), ("帮助", "help")]

    mark = user.mark()
    user.press("下一步")
    edited = user.wait_for_change(mark, timeout=10)
    assert edited["message_id"] == welcome["message_id"]
    assert edited["text"] == "第 1 步" and "edit_date" in edited
    assert user.buttons() == [("下一步", "next:1"), ("帮助", "help")]

    mark = user.mark()
    user.press("next:1")  # by callback_data
    assert user.wait_for_change(mark)["text"] == "第 2 步"

    user.press("帮助")
    botapi.wait_idle(timeout=10)
    answers = user.callback_answers()
    assert [(a["text"], a["show_alert"]) for a in answers] == [("已到第 1 步", False), ("已到第 2 步", False), ("这是帮助", True)]
    assert user.last_message()["text"] == "第 2 步"  # "help" only answered, did not edit
    assert [c.params["chat_id"] for c in botapi.calls("editMessageText")] == [USER_ID, USER_ID]
    assert user.texts() == ["你好 world", "edited: 改过的", "第 2 步"]
    method, params, when = botapi.calls("sendMessage")[0]
    assert method == "sendMessage" and params["text"] == "你好 world" and when <= time.time()


def test_forged_callback_and_press_errors(botapi: BotApiServer, running_bot: ApplicationThread) -> None:  # noqa: F811
    user = botapi.user(USER_ID)
    with pytest.raises(AssertionError, match="no bot message"):
        user.press("下一步")
    user.send_text("/start")
    msg = user.wait_for()
    with pytest.raises(AssertionError, match=r"available .*下一步.*next:0"):
        user.press("不存在")
    mark = user.mark()
    user.press_data("forged-data", msg["message_id"])
    assert user.wait_for_change(mark)["text"] == "无效按钮"
    assert user.buttons(msg) == []


def test_command_entity_and_user_objects(botapi: BotApiServer) -> None:  # noqa: F811
    user = botapi.user(7, first_name="Li", username="li_user", language_code="zh-hans")
    update_id = user.send_text("/start@test_bot 参数")
    (update,) = botapi.pending_updates()
    assert update["update_id"] == update_id
    message = update["message"]
    assert message["entities"] == [{"type": "bot_command", "offset": 0, "length": 15}]
    assert message["from"] == {"id": 7, "is_bot": False, "first_name": "Li", "username": "li_user", "language_code": "zh-hans"}
    parsed = Update.de_json(update, None)
    assert parsed.message is not None and parsed.message.text == "/start@test_bot 参数"


# ---------------------------------------------------------------------- files


def test_document_roundtrip_by_file_id_and_download(botapi: BotApiServer, running_bot: ApplicationThread) -> None:  # noqa: F811
    user = botapi.user(USER_ID)
    content = bytes(range(256)) * 4096  # 1 MiB
    user.send_document("报告.pdf", content, mime_type="application/pdf")
    reply = user.wait_for(lambda m: "document" in m)
    (doc,) = user.documents_received()
    assert doc.caption == f"{len(content)} {hashlib.sha256(content).hexdigest()}"  # bot downloaded identical bytes
    assert doc.content == content and doc.file_name == "报告.pdf" and doc.mime_type == "application/pdf"
    assert reply["document"]["file_size"] == len(content)
    assert botapi.calls("getFile")[0].result["file_path"].startswith("documents/")


def test_big_document_resent_by_file_id_but_get_file_refuses(botapi: BotApiServer, running_bot: ApplicationThread) -> None:  # noqa: F811
    user = botapi.user(USER_ID)
    big = b"\x00" * (30 * 1024 * 1024)
    user.send_document("big.zip", big)
    user.wait_for(lambda m: "document" in m)
    (doc,) = user.documents_received()
    assert doc.caption == "too big to download" and doc.content is big and doc.file_size == len(big)
    status, body = _raw(botapi, "getFile", {"file_id": doc.file_id})
    assert (status, body) == (400, {"ok": False, "error_code": 400, "description": "Bad Request: file is too big"})


async def test_upload_photo_and_document_multipart(botapi: BotApiServer) -> None:  # noqa: F811
    user = botapi.user(USER_ID)
    async with Bot(DEFAULT_TOKEN, base_url=botapi.base_url, base_file_url=botapi.base_file_url) as bot:
        sent = await bot.send_document(USER_ID, b"hello,csv\n1,2\n", filename="data.csv", caption="<b>数据</b>",
                                       parse_mode=ParseMode.HTML)
        assert sent.document is not None and sent.document.file_name == "data.csv"
        assert sent.document.mime_type == "text/csv" and sent.caption == "数据"
        assert sent.caption_entities[0].type == "bold"
        photo = await bot.send_photo(USER_ID, _png(1000, 500))
        assert [(p.width, p.height) for p in photo.photo] == [(90, 45), (320, 160), (800, 400), (1000, 500)]
        again = await bot.send_photo(USER_ID, photo.photo[-1].file_id)
        assert again.photo[-1].file_unique_id == photo.photo[-1].file_unique_id
        with pytest.raises(BadRequest, match="Image_process_failed"):
            await bot.send_photo(USER_ID, b"not an image")
        with pytest.raises(BadRequest, match="Wrong file identifier"):
            await bot.send_document(USER_ID, "no-such-file-id")
        file = await bot.get_file(sent.document.file_id)
        assert await file.download_as_bytearray() == bytearray(b"hello,csv\n1,2\n")
    assert [p.width for p in user.photos_received()] == [1000, 1000]
    upload = botapi.calls("sendDocument")[0].params["document"]
    assert upload.filename == "data.csv" and upload.content == b"hello,csv\n1,2\n"


# ---------------------------------------------------------------------- getUpdates semantics


def test_get_updates_offset_confirms_and_unconfirmed_are_redelivered(botapi: BotApiServer) -> None:  # noqa: F811
    user = botapi.user(USER_ID)
    first = user.send_text("one")
    second = user.send_text("two")
    for _ in range(2):  # no offset: nothing is confirmed, same updates again
        status, body = _raw(botapi, "getUpdates")
        assert status == 200 and [u["update_id"] for u in body["result"]] == [first, second]
    assert [u["message"]["text"] for u in _raw(botapi, "getUpdates", {"limit": 1})[1]["result"]] == ["one"]
    assert [u["update_id"] for u in _raw(botapi, "getUpdates", {"offset": second})[1]["result"]] == [second]
    assert _raw(botapi, "getUpdates", {"offset": second + 1})[1]["result"] == []
    assert botapi.pending_updates() == []

    # An update fetched but never confirmed goes to the next Application, which confirms it.
    user.send_text("three")
    assert _raw(botapi, "getUpdates")[1]["result"][0]["message"]["text"] == "three"
    with ApplicationThread(_build_app(botapi)) as runner:
        user.wait_for(lambda m: m.get("text") == "three", since=0)
        botapi.wait_idle()
    assert runner.errors == []
    assert botapi.pending_updates() == []
    offsets = [c.params.get("offset") for c in botapi.calls("getUpdates")]
    assert offsets[-1] == second + 2  # PTB's final confirming call


def test_get_updates_long_poll_waits_and_wakes(botapi: BotApiServer) -> None:  # noqa: F811
    user = botapi.user(USER_ID)
    started = time.monotonic()
    assert _raw(botapi, "getUpdates", {"timeout": 1})[1]["result"] == []
    assert 0.9 <= time.monotonic() - started < 3

    threading.Timer(0.3, user.send_text, args=("wake up",)).start()
    started = time.monotonic()
    status, body = _raw(botapi, "getUpdates", {"timeout": 5})
    assert status == 200 and body["result"][0]["message"]["text"] == "wake up"
    assert time.monotonic() - started < 2


def test_webhook_delivery_and_conflict(botapi: BotApiServer) -> None:  # noqa: F811
    received: list[tuple[str | None, dict[str, Any]]] = []
    ready = threading.Event()
    box: dict[str, Any] = {}

    async def hook(request: web.Request) -> web.Response:
        received.append((request.headers.get("X-Telegram-Bot-Api-Secret-Token"), await request.json()))
        return web.Response(text="ok")

    def serve() -> None:
        import asyncio

        async def main() -> None:
            app = web.Application()
            app.router.add_post("/hook", hook)
            runner = web.AppRunner(app, access_log=None)
            await runner.setup()
            site = web.TCPSite(runner, "127.0.0.1", 0)
            await site.start()
            box["port"] = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
            box["stop"] = asyncio.Event()
            ready.set()
            await box["stop"].wait()
            await runner.cleanup()

        box["loop"] = asyncio.new_event_loop()
        box["loop"].run_until_complete(main())

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    assert ready.wait(5)
    try:
        url = f"http://127.0.0.1:{box['port']}/hook"
        assert _raw(botapi, "setWebhook", {"url": url, "secret_token": "s3cret_token"}) == (200, {"ok": True, "result": True})
        assert botapi.webhook() == {"url": url, "secret_token": "s3cret_token", "max_connections": 40, "allowed_updates": None}
        info = _raw(botapi, "getWebhookInfo")[1]["result"]
        assert info["url"] == url and info["pending_update_count"] == 0
        status, body = _raw(botapi, "getUpdates")
        assert status == 409 and body["description"].startswith("Conflict: can't use getUpdates method while webhook is active")

        update_id = botapi.user(USER_ID).send_text("via webhook")
        botapi.wait_idle(timeout=5)
        assert received == [("s3cret_token", botapi.webhook_deliveries()[0])]
        assert received[0][1]["update_id"] == update_id
        assert _raw(botapi, "deleteWebhook", {"drop_pending_updates": True})[1]["result"] is True
        assert _raw(botapi, "getUpdates")[1]["result"] == []
    finally:
        box["loop"].call_soon_threadsafe(box["stop"].set)
        thread.join(5)


# ---------------------------------------------------------------------- errors and faults


@pytest.mark.filterwarnings("ignore:Deprecated since version v22.2:DeprecationWarning")
async def test_retry_after_and_other_injected_faults_reach_ptb(botapi: BotApiServer) -> None:  # noqa: F811
    user = botapi.user(USER_ID)
    async with Bot(DEFAULT_TOKEN, base_url=botapi.base_url, base_file_url=botapi.base_file_url) as bot:
        botapi.fail_next("sendMessage", status=429, retry_after=3)
        with pytest.raises(RetryAfter) as retry:
            await bot.send_message(USER_ID, "first try")
        assert _seconds(retry.value.retry_after) == 3
        await bot.send_message(USER_ID, "second try")

        botapi.fail_next("SENDMESSAGE", status=403)
        with pytest.raises(Forbidden, match="bot was blocked by the user"):
            await bot.send_message(USER_ID, "x")
        botapi.fail_next("sendMessage", status=500, times=2)
        for _ in range(2):
            with pytest.raises(NetworkError, match="Internal Server Error"):
                await bot.send_message(USER_ID, "x")

        botapi.drop_next("sendMessage")
        with pytest.raises(NetworkError):
            await bot.send_message(USER_ID, "dropped before")
        botapi.drop_next("sendMessage", after_processing=True)
        with pytest.raises(NetworkError):
            await bot.send_message(USER_ID, "dropped after")

        user.block_bot()
        with pytest.raises(Forbidden, match="bot was blocked by the user"):
            await bot.send_chat_action(USER_ID, "typing")
        user.unblock_bot()
        await bot.send_chat_action(USER_ID, "typing")
        with pytest.raises(BadRequest, match="Chat not found"):
            await bot.send_message(999, "nobody")

    assert user.texts() == ["second try", "dropped after"]
    assert user.chat_actions() == ["typing"]
    statuses = [c.status for c in botapi.calls("sendMessage")]
    assert statuses == [429, 200, 403, 500, 500, 0, 0, 400]
    assert botapi.calls("sendMessage")[0].error == "Too Many Requests: retry after 3"


async def test_edit_delete_and_formatting_errors(botapi: BotApiServer) -> None:  # noqa: F811
    user = botapi.user(USER_ID)
    async with Bot(DEFAULT_TOKEN, base_url=botapi.base_url, base_file_url=botapi.base_file_url) as bot:
        msg = await bot.send_message(USER_ID, "<b>粗体</b> &amp; 😀 <i>斜</i>", parse_mode=ParseMode.HTML,
                                     reply_markup=_keyboard(0))
        assert msg.text == "粗体 & 😀 斜"
        assert [(e.type, e.offset, e.length) for e in msg.entities] == [("bold", 0, 2), ("italic", 8, 1)]
        with pytest.raises(BadRequest, match="Message is not modified"):
            await bot.edit_message_text("<b>粗体</b> &amp; 😀 <i>斜</i>", USER_ID, msg.message_id,
                                        parse_mode=ParseMode.HTML, reply_markup=_keyboard(0))
        edited = await bot.edit_message_text("改了", USER_ID, msg.message_id)
        assert edited.text == "改了" and edited.reply_markup is None and edited.edit_date is not None
        marked = await bot.edit_message_reply_markup(USER_ID, msg.message_id, reply_markup=_keyboard(5))
        assert marked.reply_markup == _keyboard(5)
        with pytest.raises(BadRequest, match="Message to edit not found"):
            await bot.edit_message_text("x", USER_ID, 9999)
        with pytest.raises(BadRequest, match="Can't parse entities: unsupported start tag \"br\""):
            await bot.send_message(USER_ID, "a<br>b", parse_mode=ParseMode.HTML)
        with pytest.raises(BadRequest, match="character '.' is reserved"):
            await bot.send_message(USER_ID, "Hi.", parse_mode=ParseMode.MARKDOWN_V2)
        with pytest.raises(BadRequest, match="Message text is empty"):
            await bot.send_message(USER_ID, "   ")
        assert await bot.delete_message(USER_ID, msg.message_id) is True
        with pytest.raises(BadRequest, match="Message to delete not found"):
            await bot.delete_message(USER_ID, msg.message_id)
        with pytest.raises(BadRequest, match="Query is too old"):
            await bot.answer_callback_query("12345")
    assert user.messages() == []


async def test_commands_per_scope_menu_button_and_get_me(botapi: BotApiServer) -> None:  # noqa: F811
    from telegram import BotCommand, BotCommandScopeChat, MenuButtonCommands

    botapi.user(USER_ID)
    async with Bot("777:abc", base_url=botapi.base_url, base_file_url=botapi.base_file_url) as bot:
        me = await bot.get_me()
        assert (me.id, me.is_bot, me.username, me.can_join_groups) == (777, True, "test_bot", True)
        await bot.set_my_commands([BotCommand("start", "开始"), BotCommand("help", "帮助")], language_code="zh")
        await bot.set_my_commands([BotCommand("admin", "管理")], scope=BotCommandScopeChat(USER_ID))
        assert [c.command for c in await bot.get_my_commands(language_code="zh")] == ["start", "help"]
        assert [c.command for c in await bot.get_my_commands(scope=BotCommandScopeChat(USER_ID))] == ["admin"]
        assert await bot.get_my_commands() == ()
        await bot.delete_my_commands(scope=BotCommandScopeChat(USER_ID))
        assert await bot.get_my_commands(scope=BotCommandScopeChat(USER_ID)) == ()
        with pytest.raises(BadRequest, match="Bot_command_invalid"):
            await bot.set_my_commands([BotCommand("Bad-Name", "x")])
        await bot.set_chat_menu_button(USER_ID, MenuButtonCommands())
        assert isinstance(await bot.get_chat_menu_button(USER_ID), MenuButtonCommands)
        assert await bot.log_out() is True
    assert botapi.commands(language_code="zh") == [{"command": "start", "description": "开始"},
                                                    {"command": "help", "description": "帮助"}]
    assert botapi.menu_button(USER_ID) == {"type": "commands"}


def test_wire_format_details(botapi: BotApiServer) -> None:  # noqa: F811
    botapi.user(USER_ID)
    assert _raw(botapi, "noSuchMethod") == (404, {"ok": False, "error_code": 404, "description": "Not Found"})
    status, body = _raw(botapi, "SENDMESSAGE", {"chat_id": str(USER_ID), "text": "123",
                                                "reply_markup": json.dumps({"inline_keyboard": [[{"text": "a", "callback_data": "b"}]]})},
                        form=True)
    assert status == 200 and body["result"]["text"] == "123"
    assert body["result"]["reply_markup"] == {"inline_keyboard": [[{"text": "a", "callback_data": "b"}]]}
    status, body = _raw(botapi, "sendMessage", {"chat_id": USER_ID, "text": "x",
                                                "reply_markup": {"inline_keyboard": [[{"text": "a", "callback_data": "b" * 65}]]}})
    assert (status, body["description"]) == (400, "Bad Request: BUTTON_DATA_INVALID")
    status, body = _raw(botapi, "editMessageText", {"chat_id": USER_ID, "message_id": 1, "text": "123",
                                                    "reply_markup": {"inline_keyboard": [[{"text": "a", "callback_data": "b"}]]}})
    assert status == 400 and body["description"].startswith("Bad Request: message is not modified")
    botapi.fail_next("getMe", status=429, retry_after=7)
    assert _raw(botapi, "getMe") == (429, {"ok": False, "error_code": 429, "description": "Too Many Requests: retry after 7",
                                           "parameters": {"retry_after": 7}})


def test_wait_idle_and_timeout_report(botapi: BotApiServer) -> None:  # noqa: F811
    user = botapi.user(USER_ID)
    botapi.wait_idle(timeout=1)
    user.send_text("nobody polls")
    with pytest.raises(AssertionError, match="1 unconfirmed update"):
        botapi.wait_idle(timeout=0.3)
    with pytest.raises(AssertionError, match="timed out after 0.2s"):
        user.wait_for(timeout=0.2)


async def test_newer_get_updates_ends_older_long_poll_with_conflict(botapi: BotApiServer) -> None:  # noqa: F811
    import asyncio

    async with Bot(DEFAULT_TOKEN, base_url=botapi.base_url) as first, Bot(DEFAULT_TOKEN, base_url=botapi.base_url) as second:
        waiting = asyncio.create_task(first.get_updates(timeout=5))
        await asyncio.sleep(0.2)
        assert await second.get_updates(timeout=0) == ()
        with pytest.raises(Conflict, match="terminated by other getUpdates request"):
            await waiting


# ---------------------------------------------------------------------- channels, groups, deep links


def _bot(server: BotApiServer) -> Bot:
    return Bot(DEFAULT_TOKEN, base_url=server.base_url, base_file_url=server.base_file_url)


def _updates(server: BotApiServer, kind: str) -> list[dict[str, Any]]:
    return [u[kind] for u in server.pending_updates() if kind in u]


async def test_channel_posts_need_the_bot_as_administrator_with_the_right_to_post(botapi: BotApiServer) -> None:  # noqa: F811
    from telegram import ChatFullInfo

    owner = botapi.user(501, first_name="管理员")
    reader = botapi.user(502, first_name="读者")
    public = botapi.channel("容错免责公告", username="rcmz_notice", creator=owner, subscribers=[reader])
    secret = botapi.channel("内部频道", creator=owner)
    link = InlineKeyboardMarkup([[InlineKeyboardButton("开始申请", url="https://t.me/test_bot?start=apply_dg")]])
    async with _bot(botapi) as bot:
        with pytest.raises(Forbidden, match="bot is not a member of the channel chat"):
            await bot.send_message("@rcmz_notice", "公告")
        with pytest.raises(BadRequest, match="Chat not found"):  # a private channel the bot never joined
            await bot.send_message(secret.id, "公告")
        with pytest.raises(BadRequest, match="Chat not found"):
            await bot.send_message("@no_such_channel", "公告")
        with pytest.raises(BadRequest, match="Chat not found"):  # a user's @username does not resolve for bots
            await bot.send_message("@" + "li_user", "x")
        with pytest.raises(AssertionError, match="only as administrators"):
            public.add_bot(by=owner, admin=False)
        with pytest.raises(AssertionError, match="only its administrators"):
            public.add_bot(by=reader)
        public.add_bot(by=owner)
        [member] = _updates(botapi, "my_chat_member")
        parsed = Update.de_json({"update_id": 1, "my_chat_member": member}, bot).my_chat_member
        assert (parsed.old_chat_member.status, parsed.new_chat_member.status) == ("left", "administrator")
        assert parsed.new_chat_member.can_post_messages and parsed.chat.type == "channel"

        post = await bot.send_message("@rcmz_notice", "第一期公告", reply_markup=link)
        assert post.chat.id == public.id and post.chat.username == "rcmz_notice" and post.chat.type == "channel"
        assert post.from_user is None and post.sender_chat.id == public.id
        doc = await bot.send_document(public.id, b"%PDF-1.4 notice", filename="公告.pdf", caption="附件")
        assert doc.document.file_name == "公告.pdf"
        edited = await bot.edit_message_text("第一期公告（更正）", chat_id="@rcmz_notice", message_id=post.message_id,
                                             reply_markup=link)
        assert edited.text == "第一期公告（更正）" and edited.edit_date is not None
        with pytest.raises(BadRequest, match="Message is not modified"):
            await bot.edit_message_reply_markup(public.id, post.message_id, reply_markup=link)
        other = InlineKeyboardMarkup([[InlineKeyboardButton("查看政策", url="https://t.me/test_bot?start=policy_zj")]])
        await bot.edit_message_reply_markup(public.id, post.message_id, reply_markup=other)
        info = await bot.get_chat("@rcmz_notice")
        assert isinstance(info, ChatFullInfo)
        assert (info.id, info.type, info.title, info.username) == (public.id, "channel", "容错免责公告", "rcmz_notice")
        me = await bot.get_chat_member(public.id, (await bot.get_me()).id)
        assert me.status == "administrator" and me.can_post_messages
        assert {a.user.id for a in await bot.get_chat_administrators(public.id)} == {owner.id, 123456789}

        # a subscriber reads the posts as they are now, and the deep link on the post
        posts = public.posts()
        assert [p.get("text") or p.get("caption") for p in posts] == ["第一期公告（更正）", "附件"]
        assert public.buttons(posts[0]) == [("查看政策", "https://t.me/test_bot?start=policy_zj")]
        assert reader.url_of("查看政策", posts[0]) == "https://t.me/test_bot?start=policy_zj"

        public.promote_bot(by=owner, rights={"can_post_messages": False})
        with pytest.raises(BadRequest, match="Need administrator rights in the channel chat"):
            await bot.send_message(public.id, "x")
        public.ban_bot(by=owner)
        with pytest.raises(Forbidden, match="bot was kicked from the channel chat"):
            await bot.edit_message_text("y", chat_id=public.id, message_id=post.message_id)
    statuses = [(m["old_chat_member"]["status"], m["new_chat_member"]["status"]) for m in _updates(botapi, "my_chat_member")]
    assert statuses == [("left", "administrator"), ("administrator", "administrator"), ("administrator", "kicked")]


async def test_channel_posts_and_their_edits_by_people_reach_the_bot(botapi: BotApiServer) -> None:  # noqa: F811
    owner = botapi.user(511)
    reader = botapi.user(512)
    channel = botapi.channel("频道", username="rcmz_news", creator=owner, subscribers=[reader])
    assert owner.send_text("机器人加入前的帖子", chat=channel) == 0  # the bot is not there: nothing delivered
    with pytest.raises(AssertionError, match="cannot post there"):
        reader.send_text("订阅者不能发帖", chat=channel)
    channel.add_bot(by=owner, rights={"can_edit_messages": False, "can_delete_messages": False})
    update_id = owner.send_text("/new 频道里的命令", chat=channel)
    [post] = _updates(botapi, "channel_post")
    assert post["chat"]["type"] == "channel" and "from" not in post and post["sender_chat"]["id"] == channel.id
    owner.edit_text(post, "改过的帖子")
    [edit] = _updates(botapi, "edited_channel_post")
    assert edit["message_id"] == post["message_id"] and edit["text"] == "改过的帖子" and "edit_date" in edit
    async with _bot(botapi) as bot:
        parsed = Update.de_json(next(u for u in botapi.pending_updates() if u["update_id"] == update_id), bot)
        assert parsed.channel_post is not None and parsed.effective_user is None
        assert parsed.effective_chat.type == "channel"
        with pytest.raises(BadRequest, match="Message can't be edited"):
            await bot.edit_message_text("机器人改别人的帖子", chat_id=channel.id, message_id=post["message_id"])
        with pytest.raises(BadRequest, match="Message can't be deleted"):
            await bot.delete_message(channel.id, post["message_id"])
        channel.promote_bot(by=owner)  # Telegram's default rights: may edit and delete others' posts
        assert (await bot.edit_message_text("机器人改的", chat_id=channel.id, message_id=post["message_id"])).text == "机器人改的"
        assert await bot.delete_message(channel.id, post["message_id"])
    assert channel.posts() == [p for p in channel.posts() if p.get("text") == "机器人加入前的帖子"]


def test_deep_links_send_start_with_the_payload_and_telegram_drops_invalid_ones(botapi: BotApiServer) -> None:  # noqa: F811
    newcomer = botapi.user(521)
    regular = botapi.user(522)
    regular.send_text("你好")
    longest = "A" * 62 + "_-"
    assert newcomer.open_link(f"https://t.me/test_bot?start={longest}")
    assert regular.open_link("tg://resolve?domain=test_bot&start=abc") and regular.open_link("t.me/Test_Bot?start=x")
    assert regular.open_link("https://t.me/test_bot?start=" + "A" * 65) is None  # too long: Telegram drops it
    assert regular.open_link("https://t.me/test_bot?start=有中文") is None
    assert regular.open_link("https://t.me/test_bot?start=a%20b") is None
    assert regular.open_link("https://t.me/test_bot") is None  # just opens the chat
    stranger = botapi.user(523)
    assert stranger.open_link("https://t.me/test_bot?start=bad+payload")  # first contact: START sends a bare /start
    with pytest.raises(AssertionError, match="not this server's bot"):
        regular.open_link("https://t.me/other_bot?start=x")
    with pytest.raises(AssertionError, match="does not open a Telegram bot chat"):
        regular.open_link("https://example.com/?start=x")
    texts = [u["message"]["text"] for u in botapi.pending_updates() if "message" in u]
    assert texts == ["你好", f"/start {longest}", "/start abc", "/start x", "/start"]
    starts = [u["message"] for u in botapi.pending_updates() if u["message"]["text"].startswith("/start")]
    assert all(m["entities"] == [{"type": "bot_command", "offset": 0, "length": 6}] for m in starts)


async def test_url_and_web_app_buttons_are_checked_as_telegram_does(botapi: BotApiServer) -> None:  # noqa: F811
    from telegram import KeyboardButton, ReplyKeyboardMarkup, WebAppInfo

    user = botapi.user(USER_ID)
    owner = botapi.user(531)
    group = botapi.group("课题组", members=[owner], creator=owner)
    group.add_bot(by=owner)
    channel = botapi.channel("频道", creator=owner)
    channel.add_bot(by=owner)

    def url(link: str) -> InlineKeyboardMarkup:
        return InlineKeyboardMarkup([[InlineKeyboardButton("链接", url=link)]])

    def app(link: str) -> InlineKeyboardMarkup:
        return InlineKeyboardMarkup([[InlineKeyboardButton("小程序", web_app=WebAppInfo(link))]])

    async with _bot(botapi) as bot:
        for good in ("https://t.me/test_bot?start=x", "http://example.com/a?b=1", "tg://resolve?domain=test_bot"):
            await bot.send_message(USER_ID, "ok", reply_markup=url(good))
        for bad, why in (("http://localhost:8080/x", "Button_url_invalid"), ("ftp://example.com/x", "Unsupported URL protocol"),
                         ("javascript:alert(1)", "Wrong http url"), ("https://exa mple.com", "Wrong http url")):
            with pytest.raises(BadRequest, match="(?i)" + why):
                await bot.send_message(USER_ID, "x", reply_markup=url(bad))
        await bot.send_message(USER_ID, "ok", reply_markup=app("https://app.example.com/form"))
        with pytest.raises(BadRequest, match="(?i)Web App URL 'http://app.example.com/form' is invalid: Only HTTPS"):
            await bot.send_message(USER_ID, "x", reply_markup=app("http://app.example.com/form"))
        for where in (group.id, channel.id):
            with pytest.raises(BadRequest, match="Button_type_invalid"):
                await bot.send_message(where, "x", reply_markup=app("https://app.example.com/form"))
        post = await bot.send_message(channel.id, "帖子", reply_markup=url("https://t.me/test_bot?start=x"))
        with pytest.raises(BadRequest, match="Button_type_invalid"):
            await bot.edit_message_reply_markup(channel.id, post.message_id, reply_markup=app("https://app.example.com"))
        keyboard = ReplyKeyboardMarkup([[KeyboardButton("填写表单", web_app=WebAppInfo("https://app.example.com/f"))]])
        with pytest.raises(BadRequest, match="Button_type_invalid"):
            await bot.send_message(group.id, "x", reply_markup=keyboard)
        await bot.send_message(USER_ID, "请打开表单", reply_markup=keyboard)
    assert user.reply_keyboard() == [["填写表单"]]


async def test_group_messages_follow_privacy_mode_and_membership(botapi: BotApiServer) -> None:  # noqa: F811
    alice = botapi.user(541, first_name="Alice")
    bob = botapi.user(542, first_name="Bob")
    outsider = botapi.user(543)
    group = botapi.group("课题组", members=[alice, bob], creator=alice)
    basic = botapi.group("小组", supergroup=False, creator=alice)
    assert basic.id > -1_000_000_000_000 and group.id < -1_000_000_000_000
    assert alice.send_text("/start", chat=group) == 0  # the bot is not in the group yet
    with pytest.raises(AssertionError, match="cannot post there"):
        outsider.send_text("我不在群里", chat=group)
    group.add_bot(by=bob)
    [member] = _updates(botapi, "my_chat_member")
    assert member["chat"] == {"id": group.id, "title": "课题组", "type": "supergroup"} and member["from"]["id"] == bob.id
    [service] = _updates(botapi, "message")
    assert service["new_chat_members"][0]["is_bot"] and service["from"]["id"] == bob.id

    assert alice.send_text("大家好", chat=group) == 0  # privacy mode: plain talk is not for the bot
    assert alice.send_text("/help", chat=group)
    assert alice.send_text("/help@test_bot", chat=group)
    assert alice.send_text("/help@other_bot", chat=group) == 0
    async with _bot(botapi) as bot:
        sent = await bot.send_message(group.id, "机器人的消息")
        assert sent.from_user.is_bot and sent.chat.type == "supergroup"
        assert bob.send_text("回复机器人", chat=group, reply_to=sent.message_id)
        hidden = [m for m in group.messages() if m.get("text") == "大家好"][0]
        assert alice.edit_text(hidden, "大家好！") == 0  # an edit of a message the bot never saw stays hidden
        command = [m for m in group.messages() if m.get("text") == "/help"][0]
        assert alice.edit_text(command, "/help 改了")
        with pytest.raises(AssertionError, match="not a text message of user"):
            bob.edit_text(command, "别人的消息")
        group.promote_bot(by=alice)
        assert bob.send_text("现在机器人是管理员，能看到一切", chat=group)
        bob.send_sticker("😀", chat=group)
        group.remove_bot(by=alice)
        with pytest.raises(Forbidden, match="bot is not a member of the supergroup chat"):
            await bot.send_message(group.id, "x")
        with pytest.raises(BadRequest, match="Chat not found"):  # never joined
            await bot.send_message(basic.id, "x")
        basic.add_bot(by=alice)
        basic.ban_bot(by=alice)
        with pytest.raises(Forbidden, match="bot was kicked from the group chat"):
            await bot.send_message(basic.id, "x")
    texts = [u["message"].get("text") for u in botapi.pending_updates() if "message" in u and u["message"]["chat"]["id"] == group.id]
    assert texts == [None, "/help", "/help@test_bot", "回复机器人", "现在机器人是管理员，能看到一切", None]
    [edit] = [u["edited_message"] for u in botapi.pending_updates() if "edited_message" in u]
    assert edit["text"] == "/help 改了" and edit["chat"]["id"] == group.id


async def test_edits_stickers_web_app_data_and_blocking_reach_ptb_as_telegram_sends_them(botapi: BotApiServer) -> None:  # noqa: F811
    from telegram import KeyboardButton, ReplyKeyboardMarkup, WebAppInfo

    user = botapi.user(USER_ID)
    user.send_text("原来的回答")
    mine = user.history()[-1]
    with pytest.raises(AssertionError, match="unchanged"):
        user.edit_text(mine, "原来的回答")
    user.edit_text(mine, "改过的回答")
    user.send_sticker("🙂", kind="animated")
    with pytest.raises(AssertionError, match="no Web App button"):
        user.send_web_app_data('{"a": 1}')
    async with _bot(botapi) as bot:
        keyboard = ReplyKeyboardMarkup([[KeyboardButton("填写表单", web_app=WebAppInfo("https://app.example.com/f"))]])
        await bot.send_message(USER_ID, "请打开表单", reply_markup=keyboard)
        user.send_web_app_data('{"项目": "电池"}')
        user.send_web_app_data("forged", "不存在的按钮", require_button=False)
        user.block_bot()
        with pytest.raises(Forbidden, match="bot was blocked by the user"):
            await bot.send_message(USER_ID, "x")
        with pytest.raises(AssertionError, match="blocked the bot"):
            user.send_text("被屏蔽后不能再写")
        user.restart_bot()
        await bot.send_message(USER_ID, "欢迎回来")
        parsed = [Update.de_json(u, bot) for u in botapi.pending_updates()]
    edited = [p.edited_message for p in parsed if p.edited_message]
    assert [m.text for m in edited] == ["改过的回答"] and edited[0].edit_date is not None
    [sticker] = [p.message.sticker for p in parsed if p.message and p.message.sticker]
    assert sticker.is_animated and sticker.emoji == "🙂" and sticker.type == "regular"
    apps = [p.message.web_app_data for p in parsed if p.message and p.message.web_app_data]
    assert [(a.data, a.button_text) for a in apps] == [('{"项目": "电池"}', "填写表单"), ("forged", "不存在的按钮")]
    members = [(p.my_chat_member.old_chat_member.status, p.my_chat_member.new_chat_member.status)
               for p in parsed if p.my_chat_member]
    assert members == [("member", "kicked"), ("kicked", "member")]
    assert parsed[-1].message.text == "/start"


async def test_menu_buttons_per_chat(botapi: BotApiServer) -> None:  # noqa: F811
    from telegram import MenuButtonCommands, MenuButtonDefault, MenuButtonWebApp, WebAppInfo

    user = botapi.user(USER_ID)
    other = botapi.user(USER_ID + 1)
    owner = botapi.user(551)
    group = botapi.group("群", members=[owner], creator=owner)
    group.add_bot(by=owner)
    form = MenuButtonWebApp("填写申请", WebAppInfo("https://app.example.com/apply"))
    async with _bot(botapi) as bot:
        assert isinstance(await bot.get_chat_menu_button(USER_ID), MenuButtonCommands)  # nothing set yet
        await bot.set_chat_menu_button(USER_ID, form)
        assert await bot.get_chat_menu_button(USER_ID) == form
        assert isinstance(await bot.get_chat_menu_button(other.id), MenuButtonCommands)
        await bot.set_chat_menu_button(menu_button=MenuButtonWebApp("默认", WebAppInfo("https://app.example.com/")))
        assert (await bot.get_chat_menu_button(other.id)).text == "默认"  # the bot-wide default applies
        await bot.set_chat_menu_button(USER_ID, MenuButtonDefault())  # back to whatever the default is
        assert (await bot.get_chat_menu_button(USER_ID)).text == "默认"
        with pytest.raises(BadRequest, match="(?i)Only HTTPS links are allowed"):
            await bot.set_chat_menu_button(USER_ID, MenuButtonWebApp("x", WebAppInfo("http://app.example.com")))
        with pytest.raises(BadRequest, match="Chat not found"):
            await bot.set_chat_menu_button(group.id, MenuButtonCommands())
        await bot.set_chat_menu_button(other.id, MenuButtonCommands())
    assert user.menu_button()["text"] == "默认" and other.menu_button() == {"type": "commands"}
    assert botapi.menu_button(USER_ID) == {"type": "default"}


async def test_limits_are_counted_in_utf16_units(botapi: BotApiServer) -> None:  # noqa: F811
    user = botapi.user(USER_ID)
    astral = "😀"  # one code point, two UTF-16 units
    async with _bot(botapi) as bot:
        msg = await bot.send_message(USER_ID, astral * 2048)
        with pytest.raises(BadRequest, match="Message is too long"):
            await bot.send_message(USER_ID, astral * 2049)  # 2,049 characters, 4,098 units
        with pytest.raises(BadRequest, match="Message_too_long"):
            await bot.edit_message_text(astral * 2049, USER_ID, msg.message_id)
        await bot.send_document(USER_ID, b"x", filename="a.txt", caption=astral * 512)
        with pytest.raises(BadRequest, match="Message caption is too long"):
            await bot.send_document(USER_ID, b"x", filename="a.txt", caption=astral * 513)
        keyboard = InlineKeyboardMarkup([[InlineKeyboardButton("按钮", callback_data="é" * 32)]])  # 64 bytes
        await bot.send_message(USER_ID, "ok", reply_markup=keyboard)
        with pytest.raises(BadRequest, match="Button_data_invalid"):
            await bot.send_message(USER_ID, "x", reply_markup=InlineKeyboardMarkup(
                [[InlineKeyboardButton("按钮", callback_data="é" * 32 + "a")]]))
        user.press_data("x", msg.message_id)
        user.press_data("y", msg.message_id)
        user.press_data("z", msg.message_id)
        first, second, third = (u["callback_query"]["id"] for u in botapi.pending_updates())
        with pytest.raises(BadRequest, match="Message_too_long"):
            await bot.answer_callback_query(first, astral * 101)  # 101 characters, 202 units
        await bot.answer_callback_query(first, astral * 100)
        with pytest.raises(BadRequest, match="Query is too old"):
            await bot.answer_callback_query(first, "again")
        with pytest.raises(BadRequest, match="Url_invalid"):
            await bot.answer_callback_query(second, url="https://example.com/")
        await bot.answer_callback_query(second, url="https://t.me/test_bot?start=from_toast")
        await bot.answer_callback_query(third)
    assert [a["text"] for a in user.callback_answers()] == [astral * 100, None, None]

"""The officer's desk: a Telegram Mini App served under /desk/ by the bot's own web server.

Routes (all under the prefix bot/web/server.py mounts, /desk/):
    GET  /                     the page (static/index.html, desk.js, desk.css: no build, no network)
    GET  /strings?lang=zh      the page's texts from the message catalogue (desk.po); public, no data
    GET  /api/cases            the member's caseload table
    GET  /api/cases/{id}       one case's page
    GET  /api/cases/{id}/timeline.png
    POST /api/cases/{id}/open  the bot sends the case's screen with its buttons into the private chat
    POST /api/files/{u|d}/{id}/send   the bot sends one document of a case into the chat
    POST /api/register         the bot sends the register (.xlsx) into the chat

Everything under /api/ is a sub-application whose middleware accepts a request only with valid,
fresh initData (bot/web/auth.py); anything else is 401 with no body worth reading. A case id that
does not exist and one the member may not see get the same 404. What is shown and what is allowed
comes from the same code as the chat (storage.access through bot/officer/, the chat's case file and its
action buttons), and every request that does something — "open in chat", "send", the register — goes
through the router (bot/router.py) as the command or button press it stands for: the same action
context, access rule, procedure engine, version checks and audit as in chat; there is no second path.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

from aiohttp import web
from sqlmodel import Session
from telegram import (
    InlineKeyboardButton,
    InlineKeyboardMarkup,
    InputFile,
    MenuButtonDefault,
    MenuButtonWebApp,
    WebAppInfo,
)

from bot.callbacks import CaseAction, FileKind, encode
from bot.config import Settings
from bot.documents.timeline import timeline_png
from bot.i18n import catalogue, normalise_language, t
from bot.reply import Reply, Who
from bot.runtime import Runtime
from bot.web.auth import WebAppUser, from_header
from bot.web.caseload import Caseload
from dialogs.text import N_
from scheduler.clockevents import case_clock_events
from storage import access
from storage.db import session_scope
from storage.models import Case, User

log = logging.getLogger(__name__)
# The page's own texts: desk.js reads every `desk.*` key from /strings, so none of them is written in Python;
# declared here for the extractor (python -m bot.i18n_tools check), and tests/test_desk.py checks the page.
PAGE_TEXTS = (
    N_("desk.actions"), N_("desk.back"), N_("desk.case_file"),
    N_("desk.clock.due"), N_("desk.clock.ended"), N_("desk.clock.ended_late"),
    N_("desk.clock.not_started"), N_("desk.clock.paused"), N_("desk.clock.running"),
    N_("desk.clock.stopped"), N_("desk.clock.unset"), N_("desk.clocks"),
    N_("desk.col.case"), N_("desk.col.due"), N_("desk.col.state"),
    N_("desk.count"), N_("desk.documents"), N_("desk.due_today"),
    N_("desk.empty"), N_("desk.err.failed"), N_("desk.err.no_init"),
    N_("desk.err.not_found"), N_("desk.err.unauthorized"), N_("desk.file_sent"),
    N_("desk.filter.all_lights"), N_("desk.filter.all_policies"), N_("desk.filter.all_states"),
    N_("desk.left"), N_("desk.light.green"), N_("desk.light.grey"),
    N_("desk.light.none"), N_("desk.light.red"), N_("desk.light.yellow"),
    N_("desk.log"), N_("desk.next_due"), N_("desk.no_actions"),
    N_("desk.none"), N_("desk.open_in_chat"), N_("desk.overdue_by"),
    N_("desk.own"), N_("desk.provisional"), N_("desk.register"),
    N_("desk.register_sent"), N_("desk.roles"), N_("desk.search"),
    N_("desk.send_file"), N_("desk.sent_to_chat"), N_("desk.timeline"),
    N_("desk.title"),
)
STATIC = Path(__file__).parent / "static"
PREFIX = "/desk/"
# the verified user, set on the request by the API's middleware (RequestKey from aiohttp 3.13 on)
WHO: Any = web.RequestKey("who", WebAppUser) if hasattr(web, "RequestKey") else "desk.who"
Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


def _who(user: WebAppUser) -> Who:
    """The verified Mini App user as the router's person: every check downstream is made against this id."""
    return Who(user.id, user.first_name, user.username, user.language_code)


def _json_error(status: int, code: str) -> web.Response:
    return web.json_response({"error": code}, status=status)


class Desk:
    """The desk's handlers, bound to the bot's runtime (router, officers' flow, database), its Bot object
    (to send into chats) and settings."""

    def __init__(self, runtime: Runtime, bot: Any) -> None:
        self.runtime = runtime
        self.router = runtime.router
        self.officers = runtime.officers
        self.bot = bot
        self.settings = runtime.settings
        self.engine = runtime.engine
        self.caseload = Caseload(runtime.officers)

    # -- applications ------------------------------------------------------------------------------
    def app(self) -> web.Application:
        desk = web.Application()
        desk.router.add_get("/", self.page)
        desk.router.add_get("/strings", self.strings)
        desk.router.add_static("/static/", STATIC, show_index=False, follow_symlinks=False)
        api = web.Application(middlewares=[self._authenticate])
        api.router.add_get("/cases", self.cases)
        api.router.add_get("/cases/{case_id}", self.case)
        api.router.add_get("/cases/{case_id}/timeline.png", self.timeline)
        api.router.add_post("/cases/{case_id}/open", self.open_in_chat)
        api.router.add_post("/files/{kind}/{ident}/send", self.send_file)
        api.router.add_post("/register", self.send_register)
        desk.add_subapp("/api/", api)
        return desk

    @web.middleware
    async def _authenticate(self, request: web.Request, handler: Handler) -> web.StreamResponse:
        user = from_header(request.headers.get("Authorization"), self.settings.bot_token, self.settings.now())
        if user is None:
            response = _json_error(401, "unauthorized")
            response.headers["WWW-Authenticate"] = "tma"
            return response
        request[WHO] = user
        return await handler(request)

    # -- public: the page and its texts ----------------------------------------------------------------
    async def page(self, request: web.Request) -> web.StreamResponse:
        response = web.FileResponse(STATIC / "index.html")
        # the page runs inside Telegram (an iframe on the web clients): scripts and styles only from here
        response.headers["Content-Security-Policy"] = (
            "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' blob:; "
            "connect-src 'self'; base-uri 'none'; form-action 'none'")
        return response

    async def strings(self, request: web.Request) -> web.Response:
        lang = normalise_language(request.query.get("lang"))
        texts = {k: v for k, v in catalogue(lang).items() if k.startswith("desk.")}
        return web.json_response({"lang": lang, "strings": texts})

    # -- who and in which language ----------------------------------------------------------------------
    def _lang(self, s: Session, user: WebAppUser) -> str:
        row = s.get(User, user.id)
        if row is not None and row.language:
            return row.language
        return normalise_language(user.language_code or self.settings.default_language)

    @staticmethod
    def _case_id(request: web.Request) -> int | None:
        raw = request.match_info.get("case_id", "")
        return int(raw) if raw.isdigit() and len(raw) < 12 else None

    async def _run(self, fn: Callable[[], Any]) -> Any:
        """Database work and drawing off the event loop, so the bot keeps answering chats meanwhile."""
        return await asyncio.to_thread(fn)

    # -- the API ------------------------------------------------------------------------------------
    async def cases(self, request: web.Request) -> web.Response:
        user = request[WHO]

        def load() -> dict[str, Any]:
            with session_scope(self.engine) as s:
                lang = self._lang(s, user)
                rows = self.caseload.rows(s, user.id, lang)
                policies = sorted({(r["policy"], r["policy_name"]) for r in rows})
                # states are per policy ("received" is a different step in each): keyed policy:state
                several = len(policies) > 1
                states = sorted({(f"{r['policy']}:{r['state']}",
                                  f"{r['policy_name']} · {r['state_label']}" if several else r["state_label"])
                                 for r in rows}, key=lambda x: x[1])
                return {"lang": lang, "today": self.settings.today().isoformat(), "name": user.first_name,
                        "staff": bool(access.memberships_of(s, user.id)) or user.id in self.settings.admin_ids,
                        "cases": rows,
                        "policies": [{"key": k, "name": n} for k, n in policies],
                        "states": [{"key": k, "label": n} for k, n in states]}

        return web.json_response(await self._run(load))

    async def case(self, request: web.Request) -> web.Response:
        user, case_id = request[WHO], self._case_id(request)
        if case_id is None:
            return _json_error(404, "not_found")

        def load() -> dict[str, Any] | None:
            with session_scope(self.engine) as s:
                return self.caseload.page(s, user.id, case_id, self._lang(s, user))

        page = await self._run(load)
        if page is None:
            log.info("desk: case %s is not there for user %s", case_id, user.id)
            return _json_error(404, "not_found")
        return web.json_response(page)

    async def timeline(self, request: web.Request) -> web.Response:
        user, case_id = request[WHO], self._case_id(request)
        if case_id is None:
            return _json_error(404, "not_found")

        def draw() -> bytes | None:
            with session_scope(self.engine) as s:
                desk = self.officers.desk
                case = s.get(Case, case_id)
                if case is None or case.policy_key not in desk.policies or not desk.roles(s, user.id, case):
                    return None
                return timeline_png(case, case_clock_events(s, case), desk.policies[case.policy_key],
                                    desk.calendar, self.settings.today(), self._lang(s, user))

        png = await self._run(draw)
        if png is None:
            return _json_error(404, "not_found")
        return web.Response(body=png, content_type="image/png")

    async def open_in_chat(self, request: web.Request) -> web.Response:
        """The case's screen, as /case sends it, into the member's private chat."""
        user, case_id = request[WHO], self._case_id(request)
        if case_id is None:
            return _json_error(404, "not_found")
        # the button "open" of the chat's lists: the router's press, so refusals are answered and recorded
        try:
            data = encode(CaseAction.OPEN, case_id)
        except ValueError:  # not an id the codec takes: no such case
            return _json_error(404, "not_found")
        reply = await self._run(lambda: self.router.press(_who(user), data))
        if reply.view is None or reply.toast:  # refused (and recorded) by the officers' flow
            return _json_error(404, "not_found")
        await self._send_view(user.id, reply)
        return web.json_response({"ok": True})

    async def _send_view(self, chat_id: int, reply: Reply) -> None:
        """A screen as the chat shows it: the parts of a long case file first, the buttons on the last."""
        assert reply.view is not None
        view = reply.view
        for part in view.preface:
            await self.bot.send_message(chat_id, part)
        markup = InlineKeyboardMarkup([[InlineKeyboardButton(label, callback_data=data) for label, data in row]
                                       for row in view.buttons]) if view.buttons else None
        await self.bot.send_message(chat_id, view.text, reply_markup=markup)

    async def send_file(self, request: web.Request) -> web.Response:
        user = request[WHO]
        kind, ident = request.match_info["kind"], request.match_info["ident"]
        if kind not in ("u", "d") or not ident.isdigit():
            return _json_error(404, "not_found")
        # the same press the chat's 📄 button sends: checked against the case's roles, refusals recorded
        try:
            data = encode(CaseAction.SEND_FILE, FileKind(kind).value, int(ident[:12]))
        except ValueError:
            return _json_error(404, "not_found")
        reply = await self._run(lambda: self.router.press(_who(user), data))
        if not getattr(reply, "document", None):
            return _json_error(404, "not_found")
        await self.bot.send_document(user.id, reply.document)
        return web.json_response({"ok": True})

    async def send_register(self, request: web.Request) -> web.Response:
        user = request[WHO]
        reply = await self._run(lambda: self.router.command(_who(user), "register", []))
        if not reply.files:
            text = reply.view.text if reply.view else ""
            if text:
                await self.bot.send_message(user.id, text)
            return web.json_response({"ok": False, "message": text})
        for f in reply.files:
            await self.bot.send_document(user.id, InputFile(f.content, filename=f.name), caption=f.caption)
        return web.json_response({"ok": True})


# -- the menu button ------------------------------------------------------------------------------------
def desk_url(settings: Settings) -> str:
    return settings.desk_url.rstrip("/") + "/"


async def set_desk_button(bot: Any, chat_id: int, staff: bool, settings: Settings, lang: str) -> None:
    """Staff and admins open the desk from the menu button of their own chat; anyone else gets the
    bot-wide default back (which is the desk too when DESK_FOR_EVERYONE is set)."""
    if not settings.desk_url:
        return
    button = (MenuButtonWebApp(t("desk.menu", lang), WebAppInfo(desk_url(settings))) if staff
              else MenuButtonDefault())
    await bot.set_chat_menu_button(chat_id=chat_id, menu_button=button)


async def desk_buttons(bot: Any, runtime: Runtime) -> None:
    """Give every current member the desk's menu button (admins get theirs with their command menu,
    bot/app.py), and everyone else too with DESK_FOR_EVERYONE."""
    settings = runtime.settings
    if not settings.desk_url:
        return
    if settings.desk_for_everyone:
        await bot.set_chat_menu_button(menu_button=MenuButtonWebApp(t("desk.menu", settings.default_language),
                                                                    WebAppInfo(desk_url(settings))))

    def members() -> list[tuple[int, str]]:
        with session_scope(runtime.engine) as s:
            ids = {m.user_id for m in access.all_memberships(s)} - set(settings.admin_ids)
            out = []
            for user_id in sorted(ids):
                row = s.get(User, user_id)
                out.append((user_id, (row.language if row else None) or settings.default_language))
            return out

    for user_id, lang in await asyncio.to_thread(members):
        try:
            await set_desk_button(bot, user_id, True, settings, lang)
        except Exception:  # noqa: BLE001 - a menu button is a convenience; the desk is reachable anyway
            log.exception("could not set the desk button of chat %s", user_id)

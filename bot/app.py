"""The Telegram edge: updates in, router calls, messages out. No dialog logic lives here.

Each callback namespace is routed by PTB itself (`CallbackQueryHandler(pattern=…)`), each command comes
from the registry in bot/commands.py, and every call into the flows — database work, and the .docx and
PNG builds — runs in a thread pool of WORKER_THREADS threads, so the event loop only moves messages.
Updates reach `Application.process_update` from the inbox (bot/dispatch.py), one chat's one at a time and
in order; a failure inside a pooled call comes back to `on_error`, which tells the inbox whether to retry.
"""

from __future__ import annotations

import asyncio
import functools
import logging
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from operator import attrgetter
from typing import Any, TypeVar

from telegram import (
    BotCommand,
    BotCommandScopeChat,
    InlineKeyboardButton,
    InlineKeyboardMarkup,
    InputFile,
    Message,
    Update,
)
from telegram.error import BadRequest, Forbidden
from telegram.ext import (
    Application,
    ApplicationBuilder,
    ApplicationHandlerStop,
    CallbackQueryHandler,
    CommandHandler,
    ContextTypes,
    MessageHandler,
    TypeHandler,
    filters,
)

from bot.callbacks import Namespace, pattern
from bot.commands import split_command
from bot.dispatch import first_attempt, report_failure
from bot.flowprocess import FlowProcesses
from bot.i18n import normalise_language, t
from bot.limits import TEXT_LIMIT, TOAST_LIMIT, clip
from bot.reply import Menu, OutFile, Reply, Who
from bot.resilience import RetryingRateLimiter, record_blocked
from bot.runtime import Runtime
from bot.transport import AiohttpRequest
from bot.web.desk import desk_buttons, set_desk_button
from dialogs.wizard import UploadInfo
from storage.inbox import current_handling

log = logging.getLogger(__name__)
T = TypeVar("T")


def _who(update: Update) -> Who:
    user = update.effective_user
    assert user is not None
    return Who(user.id, user.first_name or "", user.username, user.language_code)


def _markup(buttons: list[list[tuple[str, str]]]) -> InlineKeyboardMarkup | None:
    if not buttons:
        return None
    return InlineKeyboardMarkup([[InlineKeyboardButton(label, callback_data=data) for label, data in row]
                                 for row in buttons])


class EarlyDeclined(Exception):
    """An update taken before its row was stored would change something: it is left to the inbox."""


class TelegramBot:
    def __init__(self, runtime: Runtime, processes: bool = False) -> None:
        """`processes`: run the flow calls in FLOW_PROCESSES processes of their own (bot/flowprocess.py), as
        `python -m bot` does; otherwise (tests calling the application in-process) in the thread pool."""
        self.runtime = runtime
        self.processes = processes and runtime.settings.flow_processes > 0
        self.flows: FlowProcesses | None = None
        self.router = runtime.router
        self.settings = runtime.settings
        self._answered: set[str] = set()  # callback queries answered by a delivery still under way
        self.pool = ThreadPoolExecutor(max_workers=runtime.settings.worker_threads, thread_name_prefix="flow")
        # Quick commands (/help, /status …) get a thread of their own: in the shared pool they queued behind
        # the flow calls of every chat being handled (bot/lanes.py gives them a worker of their own too).
        self.quick_pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="quick")

    async def _call(self, fn: Callable[..., T], *args: Any, pool: ThreadPoolExecutor | None = None) -> T:
        """A flow call, off the event loop."""
        return await asyncio.get_running_loop().run_in_executor(pool or self.pool, functools.partial(fn, *args))

    async def _flow(self, path: str, *args: Any) -> Any:
        """A flow call that may change something (`path` names a runtime method, "router.press"): in a flow
        process when there is one, else in the pool. Never for an update taken early, before its row was
        stored (bot/dispatch.py `early`): that one is declined and handled from the inbox."""
        handling = current_handling.get()
        if handling is not None and handling.early:
            raise EarlyDeclined(handling.update_id)
        if self.flows is not None:
            return await self.flows.call(path, *args)
        return await self._call(attrgetter(path)(self.runtime), *args)

    def build(self) -> Application:
        # no Updater: updates come through the inbox (bot/services.py: the poller or the webhook endpoint)
        builder = (ApplicationBuilder().token(self.settings.bot_token).updater(None)
                   .base_url(self.settings.bot_api_base_url).base_file_url(self.settings.bot_api_file_url)
                   .post_init(self._post_init).post_stop(self._post_stop))
        if self.settings.request_backend == "aiohttp":  # (bot/transport.py: why)
            builder = builder.request(AiohttpRequest()).get_updates_request(AiohttpRequest(connection_pool_size=1))
        if self.settings.rate_limiter:
            builder = builder.rate_limiter(RetryingRateLimiter(max_retries=3))
        app = builder.build()
        app.add_handler(TypeHandler(Update, self.only_private_users), group=-1)
        new_message = filters.UpdateType.MESSAGE
        for command in self.router.commands:
            app.add_handler(CommandHandler(command.name, self._command(command.name), filters=new_message))
        app.add_handler(MessageHandler(new_message & filters.COMMAND, self.on_unknown_command))
        for namespace in Namespace:
            app.add_handler(CallbackQueryHandler(self._press(namespace), pattern=pattern(namespace)))
        app.add_handler(CallbackQueryHandler(self._press(None)))  # anything else: refused by the router
        app.add_handler(MessageHandler(filters.UpdateType.EDITED_MESSAGE & filters.TEXT, self.on_edited))
        app.add_handler(MessageHandler(new_message & filters.TEXT & ~filters.COMMAND, self.on_text))
        app.add_handler(MessageHandler(new_message & (filters.Document.ALL | filters.PHOTO), self.on_document))
        app.add_handler(MessageHandler(filters.ALL, self.on_other))
        app.add_error_handler(self.on_error)
        return app

    async def _post_init(self, app: Application) -> None:
        for lang, code in (("zh", None), ("zh", "zh"), ("en", "en")):
            await app.bot.set_my_commands(self._menu_commands(Menu.USER, lang), language_code=code)
        self.runtime.officers.bot_username = app.bot.username
        for admin_id in self.settings.admin_ids:
            await self._set_menu(app.bot, admin_id, Menu.ADMIN)
        await desk_buttons(app.bot, self.runtime)  # the members' menu button opens the desk (bot/web/desk.py)
        if self.processes:
            self.flows = FlowProcesses(self.settings, app.bot.username)
            self.flows.start()
        # the outbox sender and the reminder scheduler run in one process of all (bot/services.py)

    async def _post_stop(self, app: Application) -> None:
        if self.flows is not None:
            self.flows.shutdown()
        self.pool.shutdown(wait=True)
        self.quick_pool.shutdown(wait=True)

    def _menu_commands(self, menu: Menu, lang: str) -> list[BotCommand]:
        return [BotCommand(c.name, t(c.description, lang)) for c in self.router.commands.menu(menu)]

    async def _set_menu(self, bot: Any, chat_id: int, menu: Menu) -> None:
        """Each role sees its own commands: staff and admins get theirs in their own chat only, and the
        desk's menu button with them (none without DESK_URL)."""
        lang = await self._call(self.runtime.actions.language_of, Who(chat_id))
        scope = BotCommandScopeChat(chat_id)
        try:
            if menu is Menu.USER:
                await bot.delete_my_commands(scope=scope)
            else:
                await bot.set_my_commands(self._menu_commands(menu, lang), scope=scope)
            await set_desk_button(bot, chat_id, menu is not Menu.USER, self.settings, lang)
        except Exception:  # noqa: BLE001 - a menu is a convenience; never fail the action for it
            log.exception("could not set the command menu of chat %s", chat_id)

    # -- handlers -------------------------------------------------------------------------------
    async def only_private_users(self, update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        """Runs before every handler: the assistant talks to people in private chats only. A channel post,
        a group message or an update with no user would otherwise reach handlers that need a user; a
        user blocking the bot (my_chat_member → kicked) is recorded instead."""
        member = update.my_chat_member
        if member is not None:  # only in a private chat is "kicked" the user blocking the bot; in a group
            # or channel it names whoever removed the bot there, who may still want to hear from it
            if member.chat.type == "private" and member.new_chat_member.status == "kicked" and update.effective_user:
                await self._call(record_blocked, self.runtime.engine, update.effective_user.id)
            raise ApplicationHandlerStop
        chat = update.effective_chat
        if update.effective_user is None or (chat is not None and chat.type != "private"):
            raise ApplicationHandlerStop

    def _command(self, name: str) -> Callable[[Update, ContextTypes.DEFAULT_TYPE], Any]:
        command = self.router.commands.get(name)
        pool = self.quick_pool if command is not None and command.quick else None

        async def handle(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
            if pool is not None:  # read-only: here, in a snapshot (bot/actions.py `look`)
                handling = current_handling.get()
                early = handling is not None and handling.early
                reply = await self._call(self.router.command, _who(update), name, list(context.args or []),
                                         update.update_id, early, pool=pool)
                if reply is None:  # taken early, and answering would change something: done from the inbox
                    raise EarlyDeclined(update.update_id)
                if handling is not None:
                    handling.early = False  # answered from here on: a failure now is this update's own
            else:
                reply = await self._flow("router.command", _who(update), name, list(context.args or []),
                                         update.update_id)
            await self.deliver(update, context, reply)
        return handle

    async def on_unknown_command(self, update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        message = update.effective_message
        assert message is not None
        name, args = split_command(message.text or "") or ("", [])
        await self.deliver(update, context,
                           await self._flow("router.command", _who(update), name, args, update.update_id))

    def _press(self, namespace: Namespace | None) -> Callable[[Update, ContextTypes.DEFAULT_TYPE], Any]:
        async def handle(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
            query = update.callback_query
            assert query is not None
            reply = await self._flow("router.press", _who(update), query.data or "", update.update_id, namespace)
            await self.deliver(update, context, reply)
        return handle

    async def on_text(self, update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        message = update.effective_message
        assert message is not None
        reply = await self._flow("router.text", _who(update), message.text or "", update.update_id,
                                 message.message_id)
        await self.deliver(update, context, reply)

    async def on_edited(self, update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        message = update.effective_message
        assert message is not None
        reply = await self._flow("router.edited", _who(update), message.text or "", message.message_id,
                                 update.update_id)
        await self.deliver(update, context, reply)

    async def on_document(self, update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        message = update.effective_message
        assert message is not None
        if message.document is not None:
            doc = message.document
            upload = UploadInfo("", doc.file_name or "", doc.file_size or 0, doc.file_id, doc.file_unique_id,
                                doc.mime_type)
        else:
            photo = message.photo[-1]
            upload = UploadInfo("", f"photo-{photo.file_unique_id}.jpg", photo.file_size or 0, photo.file_id,
                                photo.file_unique_id, "image/jpeg")
        await self.deliver(update, context,
                           await self._flow("router.document", _who(update), upload, update.update_id))

    async def on_other(self, update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        if update.effective_user is None or update.effective_chat is None:
            return
        lang = await self._call(self.runtime.actions.language_of, _who(update))
        await context.bot.send_message(update.effective_chat.id, t("err.unsupported", lang))

    async def on_error(self, update: object, context: ContextTypes.DEFAULT_TYPE) -> None:
        """Whatever broke, the user hears it in their language and nothing saved is touched: every
        flow call is one transaction, so a failure rolls back as a whole."""
        handling = current_handling.get()
        if handling is not None and handling.early:  # nothing was shown or changed: the inbox handles it
            handling.declined = True
            if not isinstance(context.error, EarlyDeclined):
                log.info("update %s taken early failed (%s); handled from the inbox", handling.update_id,
                         type(context.error).__name__)
            return
        if isinstance(context.error, Forbidden) and isinstance(update, Update) and update.effective_user:
            log.info("user %s blocked the bot: %s", update.effective_user.id, context.error)
            await self._call(record_blocked, self.runtime.engine, update.effective_user.id)
            return  # telling them about it would be refused the same way
        # not the user's doing (database away, lock timeout): the inbox keeps the update and retries it
        retried = report_failure(context.error)
        if retried:
            log.warning("update delayed, will be retried: %s: %s", type(context.error).__name__, context.error)
        else:
            log.error("update failed", exc_info=context.error)
        if not isinstance(update, Update) or update.effective_user is None or update.effective_chat is None:
            return
        if retried and not first_attempt():
            return  # told once already
        try:  # a database that is away would keep us waiting here: the user's own Telegram language then
            lang = (normalise_language(update.effective_user.language_code or self.settings.default_language)
                    if retried else await self._call(self.runtime.actions.language_of, _who(update)))
        except Exception:  # noqa: BLE001 - the database itself may be what failed
            lang = self.settings.default_language
        text = t("ops.retrying", lang) if retried else t("err.internal", lang)
        try:
            query = update.callback_query
            if query is not None and query.id not in self._answered:
                await query.answer(text, show_alert=True)
            else:
                await context.bot.send_message(update.effective_chat.id, text)
        except Exception:  # noqa: BLE001
            log.exception("could not tell the user about the failure")
        finally:
            if update.callback_query is not None:
                self._answered.discard(update.callback_query.id)

    # -- output ---------------------------------------------------------------------------------
    async def deliver(self, update: Update, context: ContextTypes.DEFAULT_TYPE, reply: Reply) -> None:
        await self._deliver(update, context, reply)
        if update.callback_query is not None:  # (when it raised, on_error forgets it after telling the user)
            self._answered.discard(update.callback_query.id)

    async def _deliver(self, update: Update, context: ContextTypes.DEFAULT_TYPE, reply: Reply) -> None:
        query = update.callback_query
        if query is not None:
            toast = clip(reply.toast, TOAST_LIMIT) if reply.toast else None
            try:
                await query.answer(toast, show_alert=reply.alert if toast else False)
            except BadRequest as exc:  # "query is too old" after a restart with a backlog: show the screen anyway
                log.info("could not answer callback query %s: %s", query.id, exc)
            self._answered.add(query.id)  # a failure after this is told in a message: a query is answered once
        chat = update.effective_chat
        assert chat is not None
        if reply.document:
            await context.bot.send_document(chat.id, reply.document)
        if reply.menu is not None:
            await self._set_menu(context.bot, reply.menu.chat_id or chat.id, reply.menu.menu)
        if reply.view is None:
            await self._send_files(context, chat.id, reply.files)
            return
        view = reply.view
        markup = _markup(view.buttons)
        text = clip(view.text, TEXT_LIMIT)
        shown: Message | bool | None = None
        if view.preface:  # a screen in several messages is always sent anew, in order
            for part in view.preface:
                await context.bot.send_message(chat.id, clip(part, TEXT_LIMIT))
            shown = await context.bot.send_message(chat.id, text, reply_markup=markup)
            message_id = shown.message_id
        elif reply.edit and query is not None and query.message is not None:
            try:
                shown = await query.edit_message_text(text, reply_markup=markup)
                message_id = query.message.message_id
            except BadRequest as exc:
                if "not modified" in str(exc).lower():
                    message_id = query.message.message_id
                else:  # deleted, too old to edit, or not ours: show the screen as a new message
                    log.info("could not edit message %s (%s); sending anew", query.message.message_id, exc)
                    shown = await context.bot.send_message(chat.id, text, reply_markup=markup)
                    message_id = shown.message_id
        else:
            message_id = await self._edit_screen(context, chat.id, reply.screen_message_id, text, markup)
            if message_id is None:
                shown = await context.bot.send_message(chat.id, text, reply_markup=markup)
                message_id = shown.message_id
        if reply.draft_id is not None and message_id != reply.shown_message_id:
            await self._flow("flow.remember_message", reply.draft_id, message_id)
        await self._send_files(context, chat.id, reply.files)

    @staticmethod
    async def _edit_screen(context: ContextTypes.DEFAULT_TYPE, chat_id: int, message_id: int | None, text: str,
                           markup: InlineKeyboardMarkup | None) -> int | None:
        """A typed answer updates the draft's screen in place (one message per draft, not one per answer);
        None when there is no such screen or it can no longer be edited, and a new one must be sent."""
        if message_id is None:
            return None
        try:
            await context.bot.edit_message_text(text, chat_id=chat_id, message_id=message_id, reply_markup=markup)
        except BadRequest as exc:
            if "not modified" in str(exc).lower():
                return message_id
            log.info("could not edit screen %s (%s); sending anew", message_id, exc)
            return None
        return message_id

    async def _send_files(self, context: ContextTypes.DEFAULT_TYPE, chat_id: int, files: list[OutFile]) -> None:
        """Files go after the screen, so the buttons stay on the message the user was looking at. A file
        built on demand (the .docx) is built here, in the pool, after its update's transaction committed."""
        for f in files:
            content = f.content if f.built else await self._call(lambda f=f: f.content)
            if f.kind == "photo":
                await context.bot.send_photo(chat_id, InputFile(content, filename=f.name), caption=f.caption)
            else:
                await context.bot.send_document(chat_id, InputFile(content, filename=f.name), caption=f.caption)

"""The Telegram edge: updates in, flow calls, messages out. No dialog logic lives here."""

from __future__ import annotations

import asyncio
import logging

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

from bot.alerts import ReminderService
from bot.config import Settings
from bot.document_flow import COMMANDS as DOC_COMMANDS
from bot.document_flow import OutFile
from bot.flow import Flow, Reply, Who
from bot.i18n import t
from bot.officer_flow import CaseReply
from bot.outbox import OutboxWorker
from bot.register_flow import RegisterFlow
from bot.resilience import RetryingRateLimiter, record_blocked
from bot.web.desk import set_desk_button, start_desk
from bot.web.server import WebServer
from dialogs.wizard import UploadInfo

log = logging.getLogger(__name__)
COMMANDS = ["new", "drafts", "language", "help"]
STAFF_COMMANDS = ["queue", "case", "status", "new", "drafts", "language", "help"]
ADMIN_COMMANDS = [*STAFF_COMMANDS, "invite", "officers"]
OFFICER_COMMAND_TEXTS = {"queue", "case", "status", "invite", "officers"}  # described in officer.po


def _who(update: Update) -> Who:
    user = update.effective_user
    assert user is not None
    return Who(user.id, user.first_name or "", user.username, user.language_code)


def _markup(buttons: list[list[tuple[str, str]]]) -> InlineKeyboardMarkup | None:
    if not buttons:
        return None
    return InlineKeyboardMarkup([[InlineKeyboardButton(label, callback_data=data) for label, data in row]
                                 for row in buttons])


class TelegramBot:
    def __init__(self, flow: Flow, settings: Settings) -> None:
        self.flow = flow
        self.settings = settings
        self.outbox_task: asyncio.Task[None] | None = None
        self.reminders: ReminderService | None = None
        # desk and register (bot/web/, bot/register_flow.py)
        self.web: WebServer | None = None
        self.register = RegisterFlow.from_casework(flow.casework) if flow.casework is not None else None

    def build(self) -> Application:
        builder = (ApplicationBuilder().token(self.settings.bot_token)
                   .base_url(self.settings.bot_api_base_url).base_file_url(self.settings.bot_api_file_url)
                   .post_init(self._post_init).post_stop(self._post_stop))
        if self.settings.rate_limiter:
            builder = builder.rate_limiter(RetryingRateLimiter(max_retries=3))
        app = builder.build()
        app.add_handler(TypeHandler(Update, self.only_private_users), group=-1)
        app.add_handler(CommandHandler("start", self.on_start))
        app.add_handler(CommandHandler("new", self.on_new))
        app.add_handler(CommandHandler("drafts", self.on_drafts))
        app.add_handler(CommandHandler("language", self.on_language))
        app.add_handler(CommandHandler("help", self.on_help))
        app.add_handler(CommandHandler("timeline", self.on_timeline))
        app.add_handler(CommandHandler("ics", self.on_ics))
        app.add_handler(CommandHandler("queue", self.on_queue))
        app.add_handler(CommandHandler("case", self.on_case))
        app.add_handler(CommandHandler("status", self.on_status))
        app.add_handler(CommandHandler("invite", self.on_invite))
        app.add_handler(CommandHandler("officers", self.on_officers))
        app.add_handler(CommandHandler("register", self.on_register))  # desk and register
        app.add_handler(CallbackQueryHandler(self.on_press))
        app.add_handler(MessageHandler(filters.TEXT & ~filters.COMMAND, self.on_text))
        app.add_handler(MessageHandler(filters.Document.ALL | filters.PHOTO, self.on_document))
        app.add_handler(MessageHandler(filters.ALL, self.on_other))
        app.add_error_handler(self.on_error)
        return app

    async def _post_init(self, app: Application) -> None:
        for lang, code in (("zh", None), ("zh", "zh"), ("en", "en")):
            commands = [BotCommand(c, t(f"cmd.{c}", lang)) for c in COMMANDS]
            commands += [BotCommand(c, t(f"doc.cmd.{c}", lang)) for c in DOC_COMMANDS]
            commands.append(BotCommand("status", t("off.cmd.status", lang)))  # an applicant's cases
            await app.bot.set_my_commands(commands, language_code=code)
        casework = self.flow.casework
        if casework is not None:
            casework.bot_username = app.bot.username
            for admin_id in self.settings.admin_ids:
                await self._set_menu(app.bot, admin_id, "admin")
            # the outbox is delivered for as long as the bot runs; rows survive restarts in the database
            self.outbox_task = asyncio.get_running_loop().create_task(OutboxWorker(self.flow.engine).run(app.bot))
        # statutory reminders and officer alerts: a scan of the clocks table, woken by APScheduler
        self.reminders = ReminderService(self.flow.engine, self.flow.policies, self.flow.wizard.calendar,
                                         self.settings, self.flow.casework)
        self.reminders.start()
        # -- desk and register: the bot's own web server (bot/web/server.py), started only with DESK_URL --
        if self.settings.desk_url and self.flow.casework is not None:
            self.web = WebServer(self.settings.desk_listen, self.settings.desk_port)
            await start_desk(self.web, self.flow.casework, app.bot, self.settings)
            await self.web.start()

    async def _post_stop(self, app: Application) -> None:
        if self.web is not None:  # desk and register
            await self.web.stop()
        if self.outbox_task is not None:
            self.outbox_task.cancel()
        if self.reminders is not None:
            self.reminders.stop()

    async def _set_menu(self, bot: object, chat_id: int, menu: str) -> None:
        """Each role sees its own commands: staff and admins get theirs in their own chat only."""
        names = ADMIN_COMMANDS if menu == "admin" else STAFF_COMMANDS if menu == "staff" else None
        lang = self.flow.language_of(Who(chat_id))
        scope = BotCommandScopeChat(chat_id)
        try:
            if names is None:
                await bot.delete_my_commands(scope=scope)  # type: ignore[attr-defined]
            else:
                commands = [BotCommand(c, t(f"off.cmd.{c}" if c in OFFICER_COMMAND_TEXTS else f"cmd.{c}", lang))
                            for c in names]
                commands += [BotCommand(c, t(f"doc.cmd.{c}", lang)) for c in DOC_COMMANDS]
                commands.append(BotCommand("register", t("desk.cmd.register", lang)))  # desk and register
                await bot.set_my_commands(commands, scope=scope)  # type: ignore[attr-defined]
            await set_desk_button(bot, chat_id, names is not None, self.settings, lang)  # desk and register
        except Exception:  # noqa: BLE001 - a menu is a convenience; never fail the action for it
            log.exception("could not set the command menu of chat %s", chat_id)

    # -- handlers -------------------------------------------------------------------------------
    async def only_private_users(self, update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        """Runs before every handler: the assistant talks to people in private chats only. A channel post,
        a group message or an update with no user would otherwise reach handlers that need a user; a
        user blocking the bot (my_chat_member → kicked) is recorded instead."""
        member = update.my_chat_member
        if member is not None and member.new_chat_member.status == "kicked" and update.effective_user:
            record_blocked(self.flow.engine, update.effective_user.id)
            raise ApplicationHandlerStop
        chat = update.effective_chat
        if update.effective_user is None or (chat is not None and chat.type != "private"):
            raise ApplicationHandlerStop

    async def on_start(self, update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        payload = context.args[0] if context.args else None
        await self.deliver(update, context, self.flow.start(_who(update), update.update_id, payload))

    def _casework(self):  # noqa: ANN202 - OfficerFlow; always wired by bot.runtime
        assert self.flow.casework is not None
        return self.flow.casework

    async def on_queue(self, update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        await self.deliver(update, context, self._casework().queue(_who(update), update.update_id))

    async def on_case(self, update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        ref = " ".join(context.args or [])
        await self.deliver(update, context, self._casework().case(_who(update), ref, update.update_id))

    async def on_status(self, update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        await self.deliver(update, context, self._casework().status(_who(update), update.update_id))

    async def on_invite(self, update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        await self.deliver(update, context,
                           self._casework().invite(_who(update), list(context.args or []), update.update_id))

    async def on_officers(self, update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        await self.deliver(update, context, self._casework().members(_who(update), update.update_id))

    async def on_register(self, update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:  # desk and register
        assert self.register is not None
        await self.deliver(update, context, self.register.register(_who(update), list(context.args or []),
                                                                   update.update_id))

    async def on_new(self, update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        await self.deliver(update, context, self.flow.new_draft(_who(update), update.update_id))

    async def on_drafts(self, update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        await self.deliver(update, context, self.flow.drafts(_who(update), update.update_id))

    async def on_language(self, update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        await self.deliver(update, context, self.flow.set_language(_who(update), None, update.update_id))

    async def on_help(self, update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        await self.deliver(update, context, self.flow.help(_who(update), update.update_id))

    async def on_timeline(self, update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        assert self.flow.documents is not None
        await self.deliver(update, context, self.flow.documents.timeline(_who(update), list(context.args or []),
                                                                         update.update_id))

    async def on_ics(self, update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        assert self.flow.documents is not None
        await self.deliver(update, context, self.flow.documents.ics(_who(update), list(context.args or []),
                                                                    update.update_id))

    async def on_press(self, update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        query = update.callback_query
        assert query is not None
        await self.deliver(update, context, self.flow.press(_who(update), query.data or "", update.update_id))

    async def on_text(self, update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        message = update.effective_message
        assert message is not None
        await self.deliver(update, context, self.flow.text(_who(update), message.text or "", update.update_id))

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
        await self.deliver(update, context, self.flow.document(_who(update), upload, update.update_id))

    async def on_other(self, update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        if update.effective_user is None or update.effective_chat is None:
            return
        lang = self.flow.language_of(_who(update))
        await context.bot.send_message(update.effective_chat.id, t("err.unsupported", lang))

    async def on_error(self, update: object, context: ContextTypes.DEFAULT_TYPE) -> None:
        """Whatever broke, the user hears it in their language and nothing saved is touched: every
        flow call is one transaction, so a failure rolls back as a whole."""
        if isinstance(context.error, Forbidden) and isinstance(update, Update) and update.effective_user:
            log.info("user %s blocked the bot: %s", update.effective_user.id, context.error)
            record_blocked(self.flow.engine, update.effective_user.id)
            return  # telling them about it would be refused the same way
        log.error("update failed", exc_info=context.error)
        if not isinstance(update, Update) or update.effective_user is None or update.effective_chat is None:
            return
        try:
            lang = self.flow.language_of(_who(update))
        except Exception:  # noqa: BLE001 - the database itself may be what failed
            lang = self.settings.default_language
        try:
            if update.callback_query is not None:
                await update.callback_query.answer(t("err.internal", lang), show_alert=True)
            else:
                await context.bot.send_message(update.effective_chat.id, t("err.internal", lang))
        except Exception:  # noqa: BLE001
            log.exception("could not tell the user about the failure")

    # -- output ---------------------------------------------------------------------------------
    async def deliver(self, update: Update, context: ContextTypes.DEFAULT_TYPE, reply: Reply) -> None:
        query = update.callback_query
        if query is not None:
            try:
                await query.answer(reply.toast, show_alert=reply.alert if reply.toast else False)
            except BadRequest as exc:  # "query is too old" after a restart with a backlog: show the screen anyway
                log.info("could not answer callback query %s: %s", query.id, exc)
        chat = update.effective_chat
        if isinstance(reply, CaseReply) and not reply.duplicate and chat is not None:
            if reply.document:
                await context.bot.send_document(chat.id, reply.document)
            if reply.menu:
                target, _, other = reply.menu.partition(":")
                await self._set_menu(context.bot, int(other) if other else chat.id,
                                     "user" if target == "reset" else target)
        if reply.duplicate:
            return
        assert chat is not None
        if reply.view is None:
            await self._send_files(context, chat.id, getattr(reply, "files", []))
            return
        markup = _markup(reply.view.buttons)
        shown: Message | bool | None = None
        if reply.edit and query is not None and query.message is not None:
            try:
                shown = await query.edit_message_text(reply.view.text, reply_markup=markup)
                message_id = query.message.message_id
            except BadRequest as exc:
                if "not modified" in str(exc).lower():
                    message_id = query.message.message_id
                else:  # deleted, too old to edit, or not ours: show the screen as a new message
                    log.info("could not edit message %s (%s); sending anew", query.message.message_id, exc)
                    shown = await context.bot.send_message(chat.id, reply.view.text, reply_markup=markup)
                    message_id = shown.message_id
        else:
            message_id = await self._edit_screen(context, chat.id, reply.screen_message_id, reply.view.text, markup)
            if message_id is None:
                shown = await context.bot.send_message(chat.id, reply.view.text, reply_markup=markup)
                message_id = shown.message_id
        if reply.draft_id is not None and message_id != reply.shown_message_id:
            self.flow.remember_message(reply.draft_id, message_id)
        await self._send_files(context, chat.id, getattr(reply, "files", []))

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

    @staticmethod
    async def _send_files(context: ContextTypes.DEFAULT_TYPE, chat_id: int, files: list[OutFile]) -> None:
        """Files go after the screen, so the buttons stay on the message the user was looking at."""
        for f in files:
            if f.kind == "photo":
                await context.bot.send_photo(chat_id, InputFile(f.content, filename=f.name), caption=f.caption)
            else:
                await context.bot.send_document(chat_id, InputFile(f.content, filename=f.name), caption=f.caption)

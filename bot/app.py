"""The Telegram edge: updates in, flow calls, messages out. No dialog logic lives here."""

from __future__ import annotations

import logging

from telegram import BotCommand, InlineKeyboardButton, InlineKeyboardMarkup, Message, Update
from telegram.error import BadRequest
from telegram.ext import (
    AIORateLimiter,
    Application,
    ApplicationBuilder,
    CallbackQueryHandler,
    CommandHandler,
    ContextTypes,
    MessageHandler,
    filters,
)

from bot.config import Settings
from bot.flow import Flow, Reply, Who
from bot.i18n import t
from dialogs.wizard import UploadInfo

log = logging.getLogger(__name__)
COMMANDS = ["new", "drafts", "language", "help"]


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

    def build(self) -> Application:
        app = (ApplicationBuilder().token(self.settings.bot_token)
               .base_url(self.settings.bot_api_base_url).base_file_url(self.settings.bot_api_file_url)
               .rate_limiter(AIORateLimiter(max_retries=3)).post_init(self._post_init).build())
        app.add_handler(CommandHandler("start", self.on_start))
        app.add_handler(CommandHandler("new", self.on_new))
        app.add_handler(CommandHandler("drafts", self.on_drafts))
        app.add_handler(CommandHandler("language", self.on_language))
        app.add_handler(CommandHandler("help", self.on_help))
        app.add_handler(CallbackQueryHandler(self.on_press))
        app.add_handler(MessageHandler(filters.TEXT & ~filters.COMMAND, self.on_text))
        app.add_handler(MessageHandler(filters.Document.ALL | filters.PHOTO, self.on_document))
        app.add_handler(MessageHandler(filters.ALL, self.on_other))
        app.add_error_handler(self.on_error)
        return app

    async def _post_init(self, app: Application) -> None:
        for lang, code in (("zh", None), ("zh", "zh"), ("en", "en")):
            commands = [BotCommand(c, t(f"cmd.{c}", lang)) for c in COMMANDS]
            await app.bot.set_my_commands(commands, language_code=code)

    # -- handlers -------------------------------------------------------------------------------
    async def on_start(self, update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        await self.deliver(update, context, self.flow.start(_who(update), update.update_id))

    async def on_new(self, update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        await self.deliver(update, context, self.flow.new_draft(_who(update), update.update_id))

    async def on_drafts(self, update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        await self.deliver(update, context, self.flow.drafts(_who(update), update.update_id))

    async def on_language(self, update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        await self.deliver(update, context, self.flow.set_language(_who(update), None, update.update_id))

    async def on_help(self, update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        await self.deliver(update, context, self.flow.help(_who(update), update.update_id))

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
            await query.answer(reply.toast, show_alert=reply.alert if reply.toast else False)
        if reply.duplicate or reply.view is None:
            return
        chat = update.effective_chat
        assert chat is not None
        markup = _markup(reply.view.buttons)
        shown: Message | bool | None = None
        if reply.edit and query is not None and query.message is not None:
            try:
                shown = await query.edit_message_text(reply.view.text, reply_markup=markup)
            except BadRequest as exc:
                if "not modified" not in str(exc).lower():
                    raise
            message_id = query.message.message_id
        else:
            if reply.strip_message_id:
                try:
                    await context.bot.edit_message_reply_markup(chat.id, reply.strip_message_id, reply_markup=None)
                except BadRequest:
                    pass  # already without buttons, or deleted by the user
            shown = await context.bot.send_message(chat.id, reply.view.text, reply_markup=markup)
            message_id = shown.message_id
        if reply.draft_id is not None:
            self.flow.remember_message(reply.draft_id, message_id)

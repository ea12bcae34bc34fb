"""The baseline of the dialog benchmark: a bare PTB bot with no application logic.

It echoes each text (or file) as a new message with one inline button, and answers and edits the message
on each button press: the same Telegram calls per update our bot makes, with nothing behind them, so
the ratio of the two throughputs is the cost of our dialog logic and database. It runs as its own
process with the same transport settings as `python -m bot` (`ECHO_RATE_LIMITER=0` drops PTB's
AIORateLimiter, as `RATE_LIMITER=0` does for ours; `ECHO_CONCURRENT=1` handles every update in a task of its
own, as PTB's `concurrent_updates(True)` does, instead of one after another).
"""

from __future__ import annotations

import itertools
import os

from telegram import InlineKeyboardButton, InlineKeyboardMarkup, Update
from telegram.ext import (
    AIORateLimiter,
    ApplicationBuilder,
    CallbackQueryHandler,
    ContextTypes,
    MessageHandler,
    filters,
)

_counter = itertools.count(1)
MARKUP = InlineKeyboardMarkup([[InlineKeyboardButton("again", callback_data="echo")]])


async def on_message(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    message = update.effective_message
    assert message is not None and update.effective_chat is not None
    await context.bot.send_message(update.effective_chat.id, message.text or "file", reply_markup=MARKUP)


async def on_press(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    query = update.callback_query
    assert query is not None
    await query.answer()
    # a new text each time, or Telegram refuses the edit as "not modified"
    await query.edit_message_text(f"pressed {query.data} #{next(_counter)}", reply_markup=MARKUP)


def main() -> None:
    builder = (ApplicationBuilder().token(os.environ["BOT_TOKEN"]).base_url(os.environ["BOT_API_BASE_URL"])
               .base_file_url(os.environ.get("BOT_API_FILE_URL", "")))
    if os.environ.get("ECHO_RATE_LIMITER", "1") not in ("0", "false", "False"):
        builder = builder.rate_limiter(AIORateLimiter(max_retries=3))
    if os.environ.get("ECHO_CONCURRENT", "0") not in ("0", "false", "False"):  # every update its own task
        builder = builder.concurrent_updates(True)
    app = builder.build()
    app.add_handler(CallbackQueryHandler(on_press))
    app.add_handler(MessageHandler(filters.ALL, on_message))
    app.run_polling(allowed_updates=Update.ALL_TYPES, timeout=int(os.environ.get("POLL_TIMEOUT", "5")),
                    poll_interval=0.0)


if __name__ == "__main__":
    main()

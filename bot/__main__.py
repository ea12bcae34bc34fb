"""`python -m bot` runs the bot with long polling, `python -m bot --webhook` behind a webhook URL;
`python -m bot console` runs the same dialogs in a terminal. See bot/services.py for what one process runs."""

from __future__ import annotations

import argparse
import logging
import sys

from bot.config import Settings
from bot.i18n import t


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bot")
    parser.add_argument("mode", nargs="?", choices=["polling", "console"], default="polling")
    parser.add_argument("--user-id", type=int, default=1, help="console only: the user id to act as")
    parser.add_argument("--webhook", action="store_true",
                        help="serve updates on a webhook (WEBHOOK_URL, WEBHOOK_SECRET) instead of long polling")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    logging.getLogger("httpx").setLevel(logging.WARNING)
    logging.getLogger("apscheduler").setLevel(logging.WARNING)
    settings = Settings()

    from bot.runtime import build_runtime as _build_runtime
    from storage.migrate import SchemaError

    def build_runtime(settings: Settings):  # noqa: ANN202 - the runtime, or a clear refusal
        try:
            return _build_runtime(settings)
        except SchemaError as exc:
            print(f"{t('bot.schema_refused', settings.default_language)}\n{exc}", file=sys.stderr)
            raise SystemExit(2) from None

    if args.mode == "console":
        from bot.console import quiet_logging, run_console

        quiet_logging()  # log lines (migrations, machines) go to data/console.log, not into the dialog
        return run_console(build_runtime(settings), args.user_id)
    if not settings.bot_token:
        print(t("bot.no_token", settings.default_language), file=sys.stderr)
        return 2
    if args.webhook and not settings.webhook_ready():
        print(t("doc.webhook.incomplete", settings.default_language), file=sys.stderr)
        return 2
    from bot.app import TelegramBot
    from bot.services import run

    runtime = build_runtime(settings)
    app = TelegramBot(runtime, processes=True).build()
    return run(app, runtime, webhook=args.webhook)


if __name__ == "__main__":
    sys.exit(main())

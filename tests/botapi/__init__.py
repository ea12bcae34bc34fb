"""A faithful local Telegram Bot API server for end-to-end tests with real python-telegram-bot.

Usage::

    with BotApiServer() as server:
        app = server.application_builder(DEFAULT_TOKEN).build()   # or ApplicationBuilder()...
        user = server.user(42, first_name="张三")
        user.send_text("/start")
        reply = user.wait_for()

See ``server.py`` for the HTTP side, ``user.py`` for the simulated user and ``community.py`` for
groups and channels (``server.group(...)``, ``server.channel(...)``).
"""

from ._markup import DeepLink, parse_deep_link
from .community import Channel, Group
from .runner import ApplicationThread
from .server import DEFAULT_TOKEN, ApiError, BotApiServer, Call, Upload
from .user import ReceivedDocument, ReceivedPhoto, User

__all__ = [
    "ApplicationThread",
    "Channel",
    "DeepLink",
    "Group",
    "parse_deep_link",
    "DEFAULT_TOKEN",
    "ApiError",
    "BotApiServer",
    "Call",
    "ReceivedDocument",
    "ReceivedPhoto",
    "Upload",
    "User",
]

"""Pytest fixture for the fake Bot API server.

Why a separate module: conftest files import just this (``from tests.botapi.fixtures import
botapi``) so every test gets a fresh, isolated server and it is always stopped afterwards.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from .server import BotApiServer

__all__ = ["botapi"]


@pytest.fixture
def botapi() -> Iterator[BotApiServer]:
    """A started ``BotApiServer`` on a free port, stopped at teardown."""
    with BotApiServer() as server:
        yield server

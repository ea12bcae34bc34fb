"""Shared fixtures. Every database test runs on SQLite, and on PostgreSQL when TEST_POSTGRES_URL names
a server (test.sh starts one and runs the suite a second time against it)."""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

PG_SERVER = os.environ.get("TEST_POSTGRES_URL")


def _pg_admin(sql: str) -> None:
    import psycopg

    with psycopg.connect(PG_SERVER, autocommit=True) as conn:  # type: ignore[arg-type]
        conn.execute(sql)


@contextmanager
def fresh_database(directory: Path) -> Iterator[str]:
    """A fresh, empty database: a SQLite file in `directory`, or a new PostgreSQL database."""
    if not PG_SERVER:
        yield f"sqlite:///{directory}/bot.db"
        return
    name = f"t_{uuid.uuid4().hex[:12]}"
    _pg_admin(f'CREATE DATABASE "{name}"')
    base = PG_SERVER.rsplit("/", 1)[0]
    try:
        yield f"{base}/{name}"
    finally:
        _pg_admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@pytest.fixture()
def database_url(tmp_path) -> Iterator[str]:
    with fresh_database(tmp_path) as url:
        yield url


def pytest_report_header(config) -> str:
    return f"database: {'PostgreSQL ' + PG_SERVER if PG_SERVER else 'SQLite'}"


from tests.botapi.fixtures import botapi  # noqa: E402,F401  (the local Bot API server fixture)

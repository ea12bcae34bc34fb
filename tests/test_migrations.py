"""Schema changes go through Alembic: the migrations build exactly the models' schema, and the bot
refuses a database it cannot safely use, with a message saying why."""

from __future__ import annotations

import subprocess
import sys

import pytest
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import text
from sqlmodel import SQLModel

from storage.db import create_schema, make_engine
from storage.migrate import SchemaError, current_revision, head_revision, upgrade


def test_migrations_build_the_models_schema(database_url):
    engine = make_engine(database_url)
    create_schema(engine)
    assert current_revision(engine) == head_revision()
    with engine.connect() as conn:
        diff = compare_metadata(MigrationContext.configure(conn, opts={"compare_type": True}), SQLModel.metadata)
    assert diff == [], f"models changed without a migration (python -m storage.migrate revision): {diff}"
    create_schema(engine)  # idempotent on restart
    assert current_revision(engine) == head_revision()


def test_a_database_without_history_is_refused(database_url):
    engine = make_engine(database_url)
    with engine.begin() as conn:
        conn.execute(text("CREATE TABLE legacy (id INTEGER PRIMARY KEY)"))
    with pytest.raises(SchemaError, match="no migration history"):
        upgrade(engine)


def test_a_database_from_a_newer_version_is_refused_by_the_bot(database_url, tmp_path):
    engine = make_engine(database_url)
    create_schema(engine)
    with engine.begin() as conn:
        conn.execute(text("UPDATE alembic_version SET version_num = 'ffff_future'"))
    env = {"DATABASE_URL": database_url, "BOT_TOKEN": "1:x", "PATH": "/usr/bin:/bin"}
    out = subprocess.run([sys.executable, "-m", "bot"], capture_output=True, text=True, env=env, cwd=tmp_path,
                         timeout=60)
    assert out.returncode == 2
    assert "ffff_future" in out.stderr and "数据库结构" in out.stderr and "Traceback" not in out.stderr


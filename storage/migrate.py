"""Schema changes go through Alembic; the bot upgrades the database on start, or refuses clearly.

`python -m storage.migrate` upgrades to the newest revision; `python -m storage.migrate revision -m
"what changed"` writes a new migration from the difference between the models and the database.
"""

from __future__ import annotations

import sys
from pathlib import Path

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from alembic.util.exc import CommandError
from sqlalchemy import inspect
from sqlalchemy.engine import Engine

MIGRATIONS = Path(__file__).parent / "migrations"


class SchemaError(RuntimeError):
    """The database cannot be brought to the schema this code expects; the message says what to do."""


def _config(engine: Engine) -> Config:
    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS))
    cfg.set_main_option("sqlalchemy.url", engine.url.render_as_string(hide_password=False))
    return cfg


def head_revision() -> str:
    return ScriptDirectory(str(MIGRATIONS)).get_current_head() or ""


def current_revision(engine: Engine) -> str | None:
    with engine.connect() as conn:
        return MigrationContext.configure(conn).get_current_revision()


def _known(script: ScriptDirectory, revision: str) -> bool:
    try:
        return script.get_revision(revision) is not None
    except CommandError:
        return False


def upgrade(engine: Engine) -> None:
    """Bring the database to the newest schema; refuse a database this code cannot safely use."""
    script = ScriptDirectory(str(MIGRATIONS))
    current = current_revision(engine)
    if current is None and inspect(engine).get_table_names():
        raise SchemaError(
            "The database has tables but no migration history (it predates migrations, or belongs to another "
            "program). Point DATABASE_URL at a new database, or stamp it once with "
            "`python -m storage.migrate stamp` if its schema is the current one.")
    if current is not None and not _known(script, current):
        raise SchemaError(
            f"The database is at schema revision {current}, which this version of the bot does not know "
            "(it was upgraded by a newer version). Run the newer version, or restore a backup.")
    cfg = _config(engine)
    with engine.begin() as conn:
        cfg.attributes["connection"] = conn
        command.upgrade(cfg, "head")


def main(argv: list[str] | None = None) -> int:
    from bot.config import Settings
    from storage.db import make_engine

    args = argv if argv is not None else sys.argv[1:]
    engine = make_engine(Settings().database_url)
    cfg = _config(engine)
    if not args or args[0] == "upgrade":
        try:
            upgrade(engine)
        except SchemaError as exc:
            print(f"refused: {exc}", file=sys.stderr)
            return 2
        print(f"database at revision {current_revision(engine)}")
        return 0
    if args[0] == "stamp":
        command.stamp(cfg, "head")
        return 0
    if args[0] == "revision":
        message = args[args.index("-m") + 1] if "-m" in args else "schema change"
        command.revision(cfg, message=message, autogenerate=True)
        return 0
    if args[0] == "check":
        command.check(cfg)
        return 0
    print("usage: python -m storage.migrate [upgrade|stamp|revision -m MESSAGE|check]", file=sys.stderr)
    return 2


if __name__ == "__main__":
    sys.exit(main())

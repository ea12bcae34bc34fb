"""Schema changes go through Alembic; the bot upgrades the database on start, or refuses clearly.

`python -m storage.migrate [--url URL]` upgrades to the newest revision; `python -m storage.migrate revision
-m "what changed"` writes a new migration from the difference between the models and the database. The URL
defaults to DATABASE_URL: this module knows nothing of the bot's settings, and it never imports storage.db
(storage.db imports it), so the two cannot form a cycle.

Alembic's Config goes through configparser, where `%` starts an interpolation: a URL-encoded password
(`p%40ss`) written there breaks every command. The URL is therefore never written into the Config; every
command gets an open connection through `Config.attributes["connection"]` instead.
"""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Callable
from pathlib import Path

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from alembic.util.exc import CommandError
from sqlalchemy import create_engine, inspect, pool
from sqlalchemy.engine import Engine, make_url

MIGRATIONS = Path(__file__).parent / "migrations"


class SchemaError(RuntimeError):
    """The database cannot be brought to the schema this code expects; the message says what to do."""


def _config() -> Config:
    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS))
    return cfg


def _with_connection(engine: Engine, run: Callable[[Config], None]) -> None:
    cfg = _config()
    with engine.begin() as conn:
        cfg.attributes["connection"] = conn
        run(cfg)


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
    _with_connection(engine, lambda cfg: command.upgrade(cfg, "head"))


def engine_for(url: str) -> Engine:
    """A plain engine for the command line (`postgresql://` means psycopg 3, as in storage.db)."""
    parsed = make_url(url)
    if parsed.drivername == "postgresql":
        parsed = parsed.set(drivername="postgresql+psycopg")
    return create_engine(parsed, poolclass=pool.NullPool)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m storage.migrate")
    parser.add_argument("command", nargs="?", default="upgrade", choices=["upgrade", "stamp", "revision", "check"])
    parser.add_argument("-m", "--message", default="schema change", help="revision only: what changed")
    parser.add_argument("--url", default=os.environ.get("DATABASE_URL", "sqlite:///data/bot.db"),
                        help="the database (default: DATABASE_URL, else sqlite:///data/bot.db)")
    args = parser.parse_args(argv)
    engine = engine_for(args.url)
    if args.command == "upgrade":
        try:
            upgrade(engine)
        except SchemaError as exc:
            print(f"refused: {exc}", file=sys.stderr)
            return 2
        print(f"database at revision {current_revision(engine)}")
        return 0
    if args.command == "stamp":
        _with_connection(engine, lambda cfg: command.stamp(cfg, "head"))
        return 0
    if args.command == "revision":
        _with_connection(engine, lambda cfg: command.revision(cfg, message=args.message, autogenerate=True))
        return 0
    _with_connection(engine, lambda cfg: command.check(cfg))
    return 0


if __name__ == "__main__":
    sys.exit(main())

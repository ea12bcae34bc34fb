"""Alembic environment: the target is the SQLModel metadata of every table the project defines.

storage.migrate always hands over an open connection (`config.attributes["connection"]`): the URL never
goes through Alembic's configparser, where a `%` of a URL-encoded password would break it.
"""

from __future__ import annotations

from alembic import context
from sqlmodel import SQLModel

import storage.db  # noqa: F401  (registers every table on SQLModel.metadata)

config = context.config
target_metadata = SQLModel.metadata


def run() -> None:
    connection = config.attributes.get("connection")
    if connection is None:
        raise RuntimeError("run migrations through `python -m storage.migrate` (it passes the connection)")
    context.configure(connection=connection, target_metadata=target_metadata, render_as_batch=True,
                      compare_type=True)
    with context.begin_transaction():
        context.run_migrations()


run()

"""inbox.priority: a quick command of one chat is claimed before the long work of other chats

Revision ID: inbox_priority_1
Revises: publicity_1
Create Date: 2026-12-02

Rows already in the inbox get priority 0, the order they had.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "inbox_priority_1"
down_revision = "publicity_1"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("inbox", schema=None) as batch_op:
        batch_op.add_column(sa.Column("priority", sa.SmallInteger(), nullable=False, server_default="0"))


def downgrade() -> None:
    with op.batch_alter_table("inbox", schema=None) as batch_op:
        batch_op.drop_column("priority")

"""inbox, version columns, outbox leases, scheduler state without high-water marks

Revision ID: concurrency_1
Revises: 0001
Create Date: 2026-12-01

- `inbox` replaces `processedupdate`: every update is written before it is acknowledged and handled from
  there, and an id is a duplicate only within a window (storage/inbox.py). Processed ids are not carried
  over: an update confirmed to Telegram before the upgrade is never delivered again.
- `case.version` (and the existing `draft.revision`) are version columns checked in every UPDATE.
- `outbox.lease_owner/lease_until`: a message is claimed by one sender at a time.
- `schedulermark` becomes `schedulerstate`; its high-water marks (`last_event_id`, `last_draft_change`)
  are dropped, because clock rows are now refreshed in the transaction that changes them.
"""

from __future__ import annotations

import sqlalchemy as sa
import sqlmodel
from alembic import op

revision = "concurrency_1"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "inbox",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("update_id", sa.BigInteger(), nullable=False),
        sa.Column("lane", sa.BigInteger(), nullable=False),
        sa.Column("payload", sa.JSON(), nullable=False),
        sa.Column("fingerprint", sqlmodel.sql.sqltypes.AutoString(), nullable=False),
        sa.Column("status", sqlmodel.sql.sqltypes.AutoString(), nullable=False),
        sa.Column("received_at", sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("not_before", sqlmodel.sql.sqltypes.UTCDateTime(), nullable=True),
        sa.Column("lease_owner", sa.BigInteger(), nullable=True),
        sa.Column("lease_until", sqlmodel.sql.sqltypes.UTCDateTime(), nullable=True),
        sa.Column("applied_at", sqlmodel.sql.sqltypes.UTCDateTime(), nullable=True),
        sa.Column("finished_at", sqlmodel.sql.sqltypes.UTCDateTime(), nullable=True),
        sa.Column("error", sqlmodel.sql.sqltypes.AutoString(), nullable=True),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("update_id"),
    )
    with op.batch_alter_table("inbox", schema=None) as batch_op:
        batch_op.create_index("ix_inbox_lane_id", ["lane", "id"], unique=False)
        batch_op.create_index(batch_op.f("ix_inbox_received_at"), ["received_at"], unique=False)
        batch_op.create_index("ix_inbox_status_id", ["status", "id"], unique=False)
    op.drop_table("processedupdate")

    op.rename_table("schedulermark", "schedulerstate")
    op.execute("DELETE FROM schedulerstate WHERE name IN ('last_event_id', 'last_draft_change')")

    with op.batch_alter_table("case", schema=None) as batch_op:
        batch_op.add_column(sa.Column("version", sa.Integer(), server_default="0", nullable=False))
    with op.batch_alter_table("outbox", schema=None) as batch_op:
        batch_op.add_column(sa.Column("lease_owner", sa.BigInteger(), nullable=True))
        batch_op.add_column(sa.Column("lease_until", sqlmodel.sql.sqltypes.UTCDateTime(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("outbox", schema=None) as batch_op:
        batch_op.drop_column("lease_until")
        batch_op.drop_column("lease_owner")
    with op.batch_alter_table("case", schema=None) as batch_op:
        batch_op.drop_column("version")
    op.rename_table("schedulerstate", "schedulermark")
    op.create_table(
        "processedupdate",
        sa.Column("update_id", sa.BigInteger(), autoincrement=False, nullable=False),
        sa.Column("processed_at", sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("update_id"),
    )
    with op.batch_alter_table("inbox", schema=None) as batch_op:
        batch_op.drop_index("ix_inbox_status_id")
        batch_op.drop_index(batch_op.f("ix_inbox_received_at"))
        batch_op.drop_index("ix_inbox_lane_id")
    op.drop_table("inbox")

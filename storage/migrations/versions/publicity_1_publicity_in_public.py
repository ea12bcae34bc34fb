"""publicity in public: the publicity record of a case, followers, objections from the public

Revision ID: publicity_1
Revises: officer_1 (the brief names 0001; chained on the integration base's head so that it has one head, and
the coordinator re-chains at merge)
Create Date: 2026-12-01

- `publicity`: one row per case whose decision is publicised: its deep-link payload, where and when the
  notice was published, the channel post (the outbox row that posts it), how it ended.
- `publicity_follower`: who receives each notice and outcome of a policy (/follow).
- `publicity_objection`: objections from the public, with the objector's name and contact, kept apart from
  the case's audit trail; one per person and case.
- `publicity_objection_draft`: an objection being written.
"""

from __future__ import annotations

import sqlalchemy as sa
import sqlmodel
from alembic import op

revision = 'publicity_1'
down_revision = 'officer_1'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('publicity',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('case_id', sa.Integer(), nullable=False),
    sa.Column('policy_key', sqlmodel.sql.sqltypes.AutoString(), nullable=False),
    sa.Column('payload', sqlmodel.sql.sqltypes.AutoString(), nullable=False),
    sa.Column('created_at', sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
    sa.Column('published_url', sqlmodel.sql.sqltypes.AutoString(), nullable=True),
    sa.Column('published_on', sa.Date(), nullable=True),
    sa.Column('recorded_at', sqlmodel.sql.sqltypes.UTCDateTime(), nullable=True),
    sa.Column('recorded_by', sa.BigInteger(), nullable=True),
    sa.Column('channel', sqlmodel.sql.sqltypes.AutoString(), nullable=True),
    sa.Column('post_outbox_id', sa.Integer(), nullable=True),
    sa.Column('ended_at', sqlmodel.sql.sqltypes.UTCDateTime(), nullable=True),
    sa.Column('outcome', sqlmodel.sql.sqltypes.AutoString(), nullable=True),
    sa.Column('objections_at_end', sa.Integer(), nullable=True),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('payload')
    )
    with op.batch_alter_table('publicity', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_publicity_case_id'), ['case_id'], unique=True)
        batch_op.create_index(batch_op.f('ix_publicity_policy_key'), ['policy_key'], unique=False)

    op.create_table('publicity_follower',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('user_id', sa.BigInteger(), nullable=False),
    sa.Column('policy_key', sqlmodel.sql.sqltypes.AutoString(), nullable=False),
    sa.Column('created_at', sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('user_id', 'policy_key')
    )
    with op.batch_alter_table('publicity_follower', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_publicity_follower_policy_key'), ['policy_key'], unique=False)
        batch_op.create_index(batch_op.f('ix_publicity_follower_user_id'), ['user_id'], unique=False)

    op.create_table('publicity_objection',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('case_id', sa.Integer(), nullable=False),
    sa.Column('publicity_id', sa.Integer(), nullable=False),
    sa.Column('reference', sqlmodel.sql.sqltypes.AutoString(), nullable=False),
    sa.Column('number', sa.Integer(), nullable=False),
    sa.Column('objector_id', sa.BigInteger(), nullable=False),
    sa.Column('name', sqlmodel.sql.sqltypes.AutoString(), nullable=False),
    sa.Column('contact', sqlmodel.sql.sqltypes.AutoString(), nullable=False),
    sa.Column('grounds', sa.Text(), nullable=False),
    sa.Column('evidence', sa.JSON(), nullable=False),
    sa.Column('supplements', sa.JSON(), nullable=False),
    sa.Column('status', sqlmodel.sql.sqltypes.AutoString(), nullable=False),
    sa.Column('verification', sa.Text(), nullable=True),
    sa.Column('opinion', sa.Text(), nullable=True),
    sa.Column('answered_at', sqlmodel.sql.sqltypes.UTCDateTime(), nullable=True),
    sa.Column('answered_by', sa.BigInteger(), nullable=True),
    sa.Column('created_at', sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
    sa.Column('updated_at', sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('case_id', 'objector_id'),
    sa.UniqueConstraint('reference')
    )
    with op.batch_alter_table('publicity_objection', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_publicity_objection_case_id'), ['case_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_publicity_objection_objector_id'), ['objector_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_publicity_objection_publicity_id'), ['publicity_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_publicity_objection_status'), ['status'], unique=False)

    op.create_table('publicity_objection_draft',
    sa.Column('user_id', sa.BigInteger(), autoincrement=False, nullable=False),
    sa.Column('publicity_id', sa.Integer(), nullable=False),
    sa.Column('step', sqlmodel.sql.sqltypes.AutoString(), nullable=False),
    sa.Column('values', sa.JSON(), nullable=False),
    sa.Column('evidence', sa.JSON(), nullable=False),
    sa.Column('created_at', sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
    sa.Column('updated_at', sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
    sa.PrimaryKeyConstraint('user_id')
    )


def downgrade() -> None:
    op.drop_table('publicity_objection_draft')
    with op.batch_alter_table('publicity_objection', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_publicity_objection_status'))
        batch_op.drop_index(batch_op.f('ix_publicity_objection_publicity_id'))
        batch_op.drop_index(batch_op.f('ix_publicity_objection_objector_id'))
        batch_op.drop_index(batch_op.f('ix_publicity_objection_case_id'))

    op.drop_table('publicity_objection')
    with op.batch_alter_table('publicity_follower', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_publicity_follower_user_id'))
        batch_op.drop_index(batch_op.f('ix_publicity_follower_policy_key'))

    op.drop_table('publicity_follower')
    with op.batch_alter_table('publicity', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_publicity_policy_key'))
        batch_op.drop_index(batch_op.f('ix_publicity_case_id'))

    op.drop_table('publicity')

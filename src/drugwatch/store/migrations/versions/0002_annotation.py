"""annotation app: users, sessions, assignments, annotations, adjudications, hashtag weights

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-23
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None

_JSON = sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql")
_SEQ = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    op.create_table(
        "annotate_users",
        sa.Column("id", _SEQ, autoincrement=True, nullable=False),
        sa.Column("username", sa.String(length=64), nullable=False),
        sa.Column("password_hash", sa.String(length=255), nullable=False),
        sa.Column("role", sa.String(length=16), nullable=False),
        sa.Column("active", sa.Boolean(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("username"),
    )
    op.create_table(
        "annotate_sessions",
        sa.Column("id", sa.String(length=64), nullable=False),
        sa.Column("user_id", _SEQ, nullable=False),
        sa.Column("csrf_token", sa.String(length=64), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["user_id"], ["annotate_users.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("annotate_sessions", schema=None) as batch_op:
        batch_op.create_index("ix_annotate_sessions_user", ["user_id"], unique=False)

    op.create_table(
        "annotate_assignments",
        sa.Column("id", _SEQ, autoincrement=True, nullable=False),
        sa.Column("event_key", sa.String(length=330), nullable=False),
        sa.Column("user_id", _SEQ, nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("priority", sa.Float(), nullable=False),
        sa.Column("note", sa.Text(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("completed_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(["event_key"], ["events.key"], ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["user_id"], ["annotate_users.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("event_key", "user_id", name="uq_annotate_assignment"),
    )
    with op.batch_alter_table("annotate_assignments", schema=None) as batch_op:
        batch_op.create_index("ix_annotate_assignments_queue", ["user_id", "status", "priority"], unique=False)

    op.create_table(
        "annotate_annotations",
        sa.Column("id", _SEQ, autoincrement=True, nullable=False),
        sa.Column("event_key", sa.String(length=330), nullable=False),
        sa.Column("user_id", _SEQ, nullable=False),
        sa.Column("level", sa.String(length=16), nullable=False),
        sa.Column("labels", _JSON, nullable=True),
        sa.Column("selling", sa.Boolean(), nullable=True),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["event_key"], ["events.key"], ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["user_id"], ["annotate_users.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("event_key", "user_id", "level", name="uq_annotate_annotation"),
    )
    with op.batch_alter_table("annotate_annotations", schema=None) as batch_op:
        batch_op.create_index("ix_annotate_annotations_event", ["event_key"], unique=False)

    op.create_table(
        "annotate_adjudications",
        sa.Column("id", _SEQ, autoincrement=True, nullable=False),
        sa.Column("event_key", sa.String(length=330), nullable=False),
        sa.Column("user_id", _SEQ, nullable=False),
        sa.Column("levels", _JSON, nullable=False),
        sa.Column("labels", _JSON, nullable=False),
        sa.Column("selling", sa.Boolean(), nullable=False),
        sa.Column("note", sa.Text(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["event_key"], ["events.key"], ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["user_id"], ["annotate_users.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("event_key"),
    )
    op.create_table(
        "annotate_hashtag_weights",
        sa.Column("tag", sa.String(length=256), nullable=False),
        sa.Column("weight", sa.Float(), nullable=False),
        sa.Column("n_events", sa.Integer(), nullable=False),
        sa.Column("n_drug", sa.Integer(), nullable=False),
        sa.Column("n_selling", sa.Integer(), nullable=False),
        sa.Column("label_counts", _JSON, nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("tag"),
    )


def downgrade() -> None:
    op.drop_table("annotate_hashtag_weights")
    op.drop_table("annotate_adjudications")
    with op.batch_alter_table("annotate_annotations", schema=None) as batch_op:
        batch_op.drop_index("ix_annotate_annotations_event")
    op.drop_table("annotate_annotations")
    with op.batch_alter_table("annotate_assignments", schema=None) as batch_op:
        batch_op.drop_index("ix_annotate_assignments_queue")
    op.drop_table("annotate_assignments")
    with op.batch_alter_table("annotate_sessions", schema=None) as batch_op:
        batch_op.drop_index("ix_annotate_sessions_user")
    op.drop_table("annotate_sessions")
    op.drop_table("annotate_users")

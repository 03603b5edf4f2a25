"""annotation app: slang terms proposed by discovery, and the reviewers' decisions

Revision ID: 0007_annotate_slang
Revises: 0006_annotate_suggestions
Create Date: 2026-12-07
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision = "0007_annotate_slang"
down_revision = "0006_annotate_suggestions"
branch_labels = None
depends_on = None

_JSON = sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql")
_SEQ = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    op.create_table(
        "annotate_slang_terms",
        sa.Column("term", sa.String(length=64), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("score", sa.Float(), nullable=False),
        sa.Column("in_context", sa.Integer(), nullable=False),
        sa.Column("total", sa.Integer(), nullable=False),
        sa.Column("next_to_drug", sa.Integer(), nullable=False),
        sa.Column("label_counts", _JSON, nullable=False),
        sa.Column("examples", _JSON, nullable=False),
        sa.Column("events_read", sa.Integer(), nullable=False),
        sa.Column("proposed_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("label", sa.String(length=32), nullable=True),
        sa.Column("ambiguous", sa.Boolean(), nullable=True),
        sa.Column("decided_by", _SEQ, nullable=True),
        sa.Column("decided_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(["decided_by"], ["annotate_users.id"], ondelete="SET NULL"),
        sa.PrimaryKeyConstraint("term"),
    )
    op.create_index("ix_annotate_slang_status", "annotate_slang_terms", ["status", "score"], unique=False)


def downgrade() -> None:
    op.drop_index("ix_annotate_slang_status", table_name="annotate_slang_terms")
    op.drop_table("annotate_slang_terms")

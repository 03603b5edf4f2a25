"""scan results: scan_runs, scan_results

Revision ID: 0004_scan
Revises: 0003_accounts
Create Date: 2026-11-23
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision = "0004_scan"
down_revision = "0003_accounts"
branch_labels = None
depends_on = None

_JSON = sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql")
_SEQ = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    op.create_table(
        "scan_runs",
        sa.Column("id", _SEQ, autoincrement=True, nullable=False),
        sa.Column("label", sa.Text(), nullable=True),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("started_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("finished_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("info", _JSON, nullable=False),
        sa.Column("counts", _JSON, nullable=False),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_table(
        "scan_results",
        sa.Column("run_id", _SEQ, nullable=False),
        sa.Column("ordinal", sa.BigInteger(), autoincrement=False, nullable=False),
        sa.Column("position", sa.BigInteger(), nullable=False),
        sa.Column("event_key", sa.String(length=330), nullable=False),
        sa.Column("author", sa.String(length=256), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("selling_probability", sa.Float(), nullable=True),
        sa.Column("selling", sa.Boolean(), nullable=True),
        sa.Column("drug_labels", _JSON, nullable=True),
        sa.Column("result", _JSON, nullable=False),
        sa.ForeignKeyConstraint(["run_id"], ["scan_runs.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("run_id", "ordinal"),
    )
    with op.batch_alter_table("scan_results", schema=None) as batch_op:
        batch_op.create_index("ix_scan_results_event", ["event_key"], unique=False)
        batch_op.create_index("ix_scan_results_author", ["run_id", "author"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("scan_results", schema=None) as batch_op:
        batch_op.drop_index("ix_scan_results_author")
        batch_op.drop_index("ix_scan_results_event")
    op.drop_table("scan_results")
    op.drop_table("scan_runs")

"""account scoring and linking: account_runs, account_scores, account_networks

Revision ID: 0003_accounts
Revises: 0002
Create Date: 2026-11-23
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision = "0003_accounts"
down_revision = "0002"
branch_labels = None
depends_on = None

_JSON = sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql")
_SEQ = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    op.create_table(
        "account_runs",
        sa.Column("id", _SEQ, autoincrement=True, nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("model", sa.Text(), nullable=True),
        sa.Column("params", _JSON, nullable=False),
        sa.Column("counts", _JSON, nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_table(
        "account_scores",
        sa.Column("id", _SEQ, autoincrement=True, nullable=False),
        sa.Column("run_id", _SEQ, nullable=False),
        sa.Column("account_key", sa.String(length=330), nullable=False),
        sa.Column("probability", sa.Float(), nullable=False),
        sa.Column("dealer", sa.Boolean(), nullable=False),
        sa.Column("threshold", sa.Float(), nullable=False),
        sa.Column("features", _JSON, nullable=False),
        sa.Column("evidence", _JSON, nullable=False),
        sa.ForeignKeyConstraint(["run_id"], ["account_runs.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("run_id", "account_key", name="uq_account_score"),
    )
    with op.batch_alter_table("account_scores", schema=None) as batch_op:
        batch_op.create_index("ix_account_scores_account", ["account_key"], unique=False)
    op.create_table(
        "account_networks",
        sa.Column("id", _SEQ, autoincrement=True, nullable=False),
        sa.Column("run_id", _SEQ, nullable=False),
        sa.Column("network_id", sa.String(length=32), nullable=False),
        sa.Column("size", sa.Integer(), nullable=False),
        sa.Column("accounts", _JSON, nullable=False),
        sa.Column("contacts", _JSON, nullable=False),
        sa.Column("evidence", _JSON, nullable=False),
        sa.Column("summary", sa.Text(), nullable=True),
        sa.ForeignKeyConstraint(["run_id"], ["account_runs.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("run_id", "network_id", name="uq_account_network"),
    )


def downgrade() -> None:
    op.drop_table("account_networks")
    with op.batch_alter_table("account_scores", schema=None) as batch_op:
        batch_op.drop_index("ix_account_scores_account")
    op.drop_table("account_scores")
    op.drop_table("account_runs")

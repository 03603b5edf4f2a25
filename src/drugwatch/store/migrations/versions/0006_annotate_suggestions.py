"""annotation app: model suggestions, what was suggested per answer, time per item, project options

Revision ID: 0006_annotate_suggestions
Revises: 0005_api
Create Date: 2026-12-07
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision = "0006_annotate_suggestions"
down_revision = "0005_api"
branch_labels = None
depends_on = None

_JSON = sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql")


def upgrade() -> None:
    with op.batch_alter_table("annotate_annotations", schema=None) as batch_op:
        batch_op.add_column(sa.Column("suggested", _JSON, nullable=True))
    with op.batch_alter_table("annotate_assignments", schema=None) as batch_op:
        batch_op.add_column(sa.Column("seconds", sa.Float(), nullable=True))
    op.create_table(
        "annotate_suggestions",
        sa.Column("event_key", sa.String(length=330), nullable=False),
        sa.Column("drug_probabilities", _JSON, nullable=True),
        sa.Column("labels", _JSON, nullable=True),
        sa.Column("selling_probability", sa.Float(), nullable=True),
        sa.Column("selling", sa.Boolean(), nullable=True),
        sa.Column("uncertainty", sa.Float(), nullable=True),
        sa.Column("models", sa.String(length=512), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["event_key"], ["events.key"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("event_key"),
    )
    op.create_table(
        "annotate_options",
        sa.Column("name", sa.String(length=64), nullable=False),
        sa.Column("value", _JSON, nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("name"),
    )


def downgrade() -> None:
    op.drop_table("annotate_options")
    op.drop_table("annotate_suggestions")
    with op.batch_alter_table("annotate_assignments", schema=None) as batch_op:
        batch_op.drop_column("seconds")
    with op.batch_alter_table("annotate_annotations", schema=None) as batch_op:
        batch_op.drop_column("suggested")

"""initial schema

Revision ID: 0001
Revises:
Create Date: 2026-11-23
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "accounts",
        sa.Column("key", sa.String(length=330), nullable=False),
        sa.Column("platform", sa.String(length=64), nullable=False),
        sa.Column("username", sa.String(length=256), nullable=False),
        sa.Column("user_id", sa.String(length=256), nullable=True),
        sa.Column("full_name", sa.Text(), nullable=True),
        sa.Column("bio", sa.Text(), nullable=False),
        sa.Column("followers", sa.BigInteger(), nullable=True),
        sa.Column("following", sa.BigInteger(), nullable=True),
        sa.Column("posts_count", sa.BigInteger(), nullable=True),
        sa.Column("is_private", sa.Boolean(), nullable=True),
        sa.Column("dealer", sa.Boolean(), nullable=True),
        sa.Column(
            "meta", sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql"), nullable=False
        ),
        sa.Column(
            "provenance", sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql"), nullable=True
        ),
        sa.Column("content_sha256", sa.String(length=64), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("key"),
    )
    op.create_table(
        "events",
        sa.Column("seq", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), autoincrement=True, nullable=False),
        sa.Column("key", sa.String(length=330), nullable=False),
        sa.Column("platform", sa.String(length=64), nullable=False),
        sa.Column("id", sa.String(length=256), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("parent_key", sa.String(length=330), nullable=True),
        sa.Column("post_key", sa.String(length=330), nullable=True),
        sa.Column("text", sa.Text(), nullable=False),
        sa.Column(
            "hashtags", sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql"), nullable=False
        ),
        sa.Column(
            "images", sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql"), nullable=False
        ),
        sa.Column("author", sa.String(length=256), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column(
            "labels", sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql"), nullable=True
        ),
        sa.Column("selling", sa.Boolean(), nullable=True),
        sa.Column(
            "meta", sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql"), nullable=False
        ),
        sa.Column(
            "provenance", sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql"), nullable=True
        ),
        sa.Column("content_sha256", sa.String(length=64), nullable=False),
        sa.Column("cluster_id", sa.BigInteger(), nullable=True),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("seq"),
        sa.UniqueConstraint("key"),
    )
    with op.batch_alter_table("events", schema=None) as batch_op:
        batch_op.create_index("ix_events_author", ["platform", "author"], unique=False)
        batch_op.create_index("ix_events_cluster", ["cluster_id"], unique=False)
        batch_op.create_index("ix_events_parent", ["parent_key"], unique=False)
        batch_op.create_index("ix_events_post", ["post_key"], unique=False)

    op.create_table(
        "import_runs",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), autoincrement=True, nullable=False),
        sa.Column("source", sa.Text(), nullable=False),
        sa.Column("format", sa.String(length=32), nullable=False),
        sa.Column("started_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("finished_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column(
            "counts", sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql"), nullable=False
        ),
        sa.Column("quarantine_path", sa.Text(), nullable=True),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_table(
        "lsh_bands",
        sa.Column("seq", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), autoincrement=False, nullable=False),
        sa.Column("band", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("key", sa.BigInteger(), nullable=False),
        sa.ForeignKeyConstraint(["seq"], ["events.seq"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("seq", "band"),
    )
    with op.batch_alter_table("lsh_bands", schema=None) as batch_op:
        batch_op.create_index("ix_lsh_bands_key", ["key", "band"], unique=False)

    op.create_table(
        "text_signatures",
        sa.Column("seq", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), autoincrement=False, nullable=False),
        sa.Column("exact", sa.String(length=40), nullable=False),
        sa.Column("hashvalues", sa.LargeBinary(), nullable=False),
        sa.ForeignKeyConstraint(["seq"], ["events.seq"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("seq"),
    )
    with op.batch_alter_table("text_signatures", schema=None) as batch_op:
        batch_op.create_index("ix_text_signatures_exact", ["exact"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("text_signatures", schema=None) as batch_op:
        batch_op.drop_index("ix_text_signatures_exact")

    op.drop_table("text_signatures")
    with op.batch_alter_table("lsh_bands", schema=None) as batch_op:
        batch_op.drop_index("ix_lsh_bands_key")

    op.drop_table("lsh_bands")
    op.drop_table("import_runs")
    with op.batch_alter_table("events", schema=None) as batch_op:
        batch_op.drop_index("ix_events_post")
        batch_op.drop_index("ix_events_parent")
        batch_op.drop_index("ix_events_cluster")
        batch_op.drop_index("ix_events_author")

    op.drop_table("events")
    op.drop_table("accounts")

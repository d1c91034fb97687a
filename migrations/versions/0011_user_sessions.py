"""user_sessions: one row per logged-in session, so a plain log-out ends it on the server

A copied session (or remember-me) cookie stops working once its session has ended (issue 12).
Sessions that predate this table carry no session key and are logged out once.

Revision ID: 0011_user_sessions
Revises: 0009_secret_votes_unordered
Create Date: 2026-12-04 02:00:00

"""
import sqlalchemy as sa
from alembic import op

import rentalcoop.db

revision = "0011_user_sessions"
down_revision = "0009_secret_votes_unordered"
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        "user_sessions",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("key_hash", sa.String(length=64), nullable=False),
        sa.Column("created_at", rentalcoop.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("ended_at", rentalcoop.db.UTCDateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["user_id"],
            ["users.id"],
            name=op.f("fk_user_sessions_user_id_users"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_user_sessions")),
        sa.UniqueConstraint("key_hash", name=op.f("uq_user_sessions_key_hash")),
    )
    with op.batch_alter_table("user_sessions", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_user_sessions_user_id"), ["user_id"], unique=False)


def downgrade():
    with op.batch_alter_table("user_sessions", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_user_sessions_user_id"))
    op.drop_table("user_sessions")

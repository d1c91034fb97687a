"""the cooperative's year end (issue 14): membership periods, the carried result of a close,
meeting requests, cancelled meetings, the register at the opening, matters added after the notice

Revision ID: 0014_year_end
Revises: 0009_secret_votes_unordered
Create Date: 2026-12-04 01:40:00

"""

import sqlalchemy as sa
from alembic import op

from rentalcoop.db import UTCDateTime

revision = "0014_year_end"
down_revision = "0009_secret_votes_unordered"
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        "membership_periods",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("membership_id", sa.Integer(), nullable=False),
        sa.Column("joined_on", sa.Date(), nullable=False),
        sa.Column("left_on", sa.Date(), nullable=False),
        sa.Column("approved_by_id", sa.Integer(), nullable=True),
        sa.CheckConstraint(
            "left_on >= joined_on", name=op.f("ck_membership_periods_ends_after_start")
        ),
        sa.ForeignKeyConstraint(
            ["approved_by_id"],
            ["users.id"],
            name=op.f("fk_membership_periods_approved_by_id_users"),
        ),
        sa.ForeignKeyConstraint(
            ["membership_id"],
            ["memberships.id"],
            name=op.f("fk_membership_periods_membership_id_memberships"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_membership_periods")),
    )
    with op.batch_alter_table("membership_periods", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_membership_periods_membership_id"), ["membership_id"], unique=False
        )
    with op.batch_alter_table("year_closes", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("carried_ore", sa.Integer(), server_default=sa.text("0"), nullable=False)
        )
    op.create_table(
        "meeting_requests",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("matter", sa.Text(), nullable=False),
        sa.Column("requested_by_id", sa.Integer(), nullable=False),
        sa.Column("by_auditor", sa.Boolean(), nullable=False),
        sa.Column("received_on", sa.Date(), nullable=True),
        sa.Column("created_at", UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["requested_by_id"],
            ["users.id"],
            name=op.f("fk_meeting_requests_requested_by_id_users"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_meeting_requests")),
    )
    op.create_table(
        "meeting_request_signatures",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("request_id", sa.Integer(), nullable=False),
        sa.Column("member_id", sa.Integer(), nullable=False),
        sa.Column("signed_at", UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["member_id"], ["users.id"], name=op.f("fk_meeting_request_signatures_member_id_users")
        ),
        sa.ForeignKeyConstraint(
            ["request_id"],
            ["meeting_requests.id"],
            name=op.f("fk_meeting_request_signatures_request_id_meeting_requests"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_meeting_request_signatures")),
        sa.UniqueConstraint(
            "request_id",
            "member_id",
            name=op.f("uq_meeting_request_signatures_request_id_member_id"),
        ),
    )
    with op.batch_alter_table("meeting_request_signatures", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_meeting_request_signatures_request_id"), ["request_id"], unique=False
        )
    with op.batch_alter_table("meetings", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("register_taken_at", UTCDateTime(timezone=True), nullable=True)
        )
        batch_op.add_column(sa.Column("cancelled_at", UTCDateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column("requested_by_id", sa.Integer(), nullable=True))
        batch_op.create_foreign_key(
            batch_op.f("fk_meetings_requested_by_id_meeting_requests"),
            "meeting_requests",
            ["requested_by_id"],
            ["id"],
        )
    with op.batch_alter_table("motions", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column(
                "is_discussion_only", sa.Boolean(), server_default=sa.text("false"), nullable=False
            )
        )


def downgrade():
    with op.batch_alter_table("motions", schema=None) as batch_op:
        batch_op.drop_column("is_discussion_only")
    with op.batch_alter_table("meetings", schema=None) as batch_op:
        batch_op.drop_constraint(
            batch_op.f("fk_meetings_requested_by_id_meeting_requests"), type_="foreignkey"
        )
        batch_op.drop_column("requested_by_id")
        batch_op.drop_column("cancelled_at")
        batch_op.drop_column("register_taken_at")
    with op.batch_alter_table("meeting_request_signatures", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_meeting_request_signatures_request_id"))
    op.drop_table("meeting_request_signatures")
    op.drop_table("meeting_requests")
    with op.batch_alter_table("year_closes", schema=None) as batch_op:
        batch_op.drop_column("carried_ore")
    with op.batch_alter_table("membership_periods", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_membership_periods_membership_id"))
    op.drop_table("membership_periods")

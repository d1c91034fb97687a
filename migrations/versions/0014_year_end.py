"""the cooperative's year end (issue 14): membership periods, the carried result of a close

Revision ID: 0014_year_end
Revises: 0009_secret_votes_unordered
Create Date: 2026-12-04 01:40:00

"""
import sqlalchemy as sa
from alembic import op

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


def downgrade():
    with op.batch_alter_table("year_closes", schema=None) as batch_op:
        batch_op.drop_column("carried_ore")
    with op.batch_alter_table("membership_periods", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_membership_periods_membership_id"))
    op.drop_table("membership_periods")

"""the auditor, accounts delivered before the notice, statute changes decided vs in force,
elections by office, and the hosts' details for the DAC7 seller report (issue 14)

Revision ID: 0022_auditor_dac7
Revises: 0021_disputes
Create Date: 2026-12-04 19:10:00

"""

import sqlalchemy as sa
from alembic import op

from rentalcoop.db import UTCDateTime

revision = "0022_auditor_dac7"
down_revision = "0021_disputes"
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        "auditors",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("elected_on", sa.Date(), nullable=False),
        sa.Column("ended_on", sa.Date(), nullable=True),
        sa.Column("elected_by_motion_id", sa.Integer(), nullable=True),
        sa.Column("created_at", UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["elected_by_motion_id"],
            ["motions.id"],
            name=op.f("fk_auditors_elected_by_motion_id_motions"),
        ),
        sa.ForeignKeyConstraint(["user_id"], ["users.id"], name=op.f("fk_auditors_user_id_users")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_auditors")),
    )
    with op.batch_alter_table("auditors", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_auditors_user_id"), ["user_id"], unique=False)
    op.create_table(
        "seller_details",
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(length=12), nullable=False),
        sa.Column("legal_name", sa.String(length=200), nullable=False),
        sa.Column("address", sa.Text(), nullable=False),
        sa.Column("national_id", sa.String(length=12), nullable=False),
        sa.Column("date_of_birth", sa.Date(), nullable=True),
        sa.Column("tin", sa.String(length=40), nullable=False),
        sa.Column("tin_country", sa.String(length=2), nullable=False),
        sa.Column("vat_number", sa.String(length=20), nullable=False),
        sa.Column("iban", sa.String(length=34), nullable=False),
        sa.Column("updated_at", UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["user_id"], ["users.id"], name=op.f("fk_seller_details_user_id_users")
        ),
        sa.PrimaryKeyConstraint("user_id", name=op.f("pk_seller_details")),
    )
    with op.batch_alter_table("meetings", schema=None) as batch_op:
        batch_op.add_column(sa.Column("accounts_to_auditor_on", sa.Date(), nullable=True))
        batch_op.add_column(sa.Column("accounts_auditor_user_id", sa.Integer(), nullable=True))
        batch_op.create_foreign_key(
            batch_op.f("fk_meetings_accounts_auditor_user_id_users"),
            "users",
            ["accounts_auditor_user_id"],
            ["id"],
        )
    with op.batch_alter_table("motions", schema=None) as batch_op:
        batch_op.add_column(sa.Column("office", sa.String(length=16), nullable=True))
        batch_op.add_column(sa.Column("confirms_motion_id", sa.Integer(), nullable=True))
        batch_op.add_column(
            sa.Column(
                "raises_member_duties",
                sa.Boolean(),
                server_default=sa.text("false"),
                nullable=False,
            )
        )
        batch_op.add_column(sa.Column("valid_on", sa.Date(), nullable=True))
        batch_op.add_column(sa.Column("registered_on", sa.Date(), nullable=True))
        batch_op.create_foreign_key(
            batch_op.f("fk_motions_confirms_motion_id_motions"),
            "motions",
            ["confirms_motion_id"],
            ["id"],
        )


def downgrade():
    with op.batch_alter_table("motions", schema=None) as batch_op:
        batch_op.drop_constraint(
            batch_op.f("fk_motions_confirms_motion_id_motions"), type_="foreignkey"
        )
        batch_op.drop_column("registered_on")
        batch_op.drop_column("valid_on")
        batch_op.drop_column("raises_member_duties")
        batch_op.drop_column("confirms_motion_id")
        batch_op.drop_column("office")
    with op.batch_alter_table("meetings", schema=None) as batch_op:
        batch_op.drop_constraint(
            batch_op.f("fk_meetings_accounts_auditor_user_id_users"), type_="foreignkey"
        )
        batch_op.drop_column("accounts_auditor_user_id")
        batch_op.drop_column("accounts_to_auditor_on")
    op.drop_table("seller_details")
    with op.batch_alter_table("auditors", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_auditors_user_id"))
    op.drop_table("auditors")

"""payments in any order and disputes in the books (issue 15 B): pending webhook events,
disputes, and claims of payouts and refunds being sent

Revision ID: 0021_disputes
Revises: 0020_payment_settings
Create Date: 2026-12-04 19:20:00

"""

import sqlalchemy as sa
from alembic import op

import rentalcoop.db

revision = "0021_disputes"
down_revision = "0020_payment_settings"
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table("webhook_events", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("state", sa.String(length=16), server_default="applied", nullable=False)
        )
        batch_op.add_column(
            sa.Column("is_connect", sa.Boolean(), server_default=sa.false(), nullable=False)
        )
        batch_op.add_column(sa.Column("payload", sa.Text(), nullable=True))
        batch_op.add_column(sa.Column("attempts", sa.Integer(), server_default="0", nullable=False))
        batch_op.add_column(
            sa.Column("applied_at", rentalcoop.db.UTCDateTime(timezone=True), nullable=True)
        )
        batch_op.create_index("ix_webhook_events_state", ["state"], unique=False)
    with op.batch_alter_table("payouts", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("claimed_at", rentalcoop.db.UTCDateTime(timezone=True), nullable=True)
        )
    with op.batch_alter_table("refunds", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("claimed_at", rentalcoop.db.UTCDateTime(timezone=True), nullable=True)
        )
    op.create_table(
        "disputes",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("provider_ref", sa.String(length=255), nullable=False),
        sa.Column("booking_id", sa.Integer(), nullable=False),
        sa.Column("payment_id", sa.Integer(), nullable=False),
        sa.Column("amount_ore", sa.Integer(), nullable=False),
        sa.Column("fee_ore", sa.Integer(), nullable=False),
        sa.Column("reason", sa.String(length=64), nullable=False),
        sa.Column("provider_status", sa.String(length=32), nullable=False),
        sa.Column("state", sa.String(length=16), nullable=False),
        sa.Column("reversal_ore", sa.Integer(), nullable=False),
        sa.Column("reversal_ref", sa.String(length=255), nullable=True),
        sa.Column("returned_ref", sa.String(length=255), nullable=True),
        sa.Column("claimed_at", rentalcoop.db.UTCDateTime(timezone=True), nullable=True),
        sa.Column("created_at", rentalcoop.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("closed_at", rentalcoop.db.UTCDateTime(timezone=True), nullable=True),
        sa.CheckConstraint("amount_ore > 0", name=op.f("ck_disputes_amount_positive")),
        sa.CheckConstraint(
            "fee_ore >= 0 AND reversal_ore >= 0", name=op.f("ck_disputes_money_not_negative")
        ),
        sa.ForeignKeyConstraint(
            ["booking_id"], ["bookings.id"], name=op.f("fk_disputes_booking_id_bookings")
        ),
        sa.ForeignKeyConstraint(
            ["payment_id"], ["payments.id"], name=op.f("fk_disputes_payment_id_payments")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_disputes")),
        sa.UniqueConstraint("provider_ref", name=op.f("uq_disputes_provider_ref")),
    )
    with op.batch_alter_table("disputes", schema=None) as batch_op:
        batch_op.create_index("ix_disputes_booking", ["booking_id"], unique=False)


def downgrade():
    with op.batch_alter_table("disputes", schema=None) as batch_op:
        batch_op.drop_index("ix_disputes_booking")
    op.drop_table("disputes")
    with op.batch_alter_table("refunds", schema=None) as batch_op:
        batch_op.drop_column("claimed_at")
    with op.batch_alter_table("payouts", schema=None) as batch_op:
        batch_op.drop_column("claimed_at")
    with op.batch_alter_table("webhook_events", schema=None) as batch_op:
        batch_op.drop_index("ix_webhook_events_state")
        batch_op.drop_column("applied_at")
        batch_op.drop_column("attempts")
        batch_op.drop_column("payload")
        batch_op.drop_column("is_connect")
        batch_op.drop_column("state")

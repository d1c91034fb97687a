"""The coop's Swish number, bank giro and payee as board settings, and the payment method a
guest chose for a booking (issue 15, part A)

Revision ID: 0020_payment_settings
Revises: 0019_stats_audit
Create Date: 2026-12-04 19:20:00

"""

from datetime import UTC, datetime

import sqlalchemy as sa
from alembic import op

import rentalcoop.db

revision = "0020_payment_settings"
down_revision = "0019_stats_audit"
branch_labels = None
depends_on = None


def upgrade():
    settings = op.create_table(
        "payment_settings",
        sa.Column("id", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("payee_name", sa.String(length=200), nullable=False),
        sa.Column("swish_number", sa.String(length=10), nullable=False),
        sa.Column("bankgiro_number", sa.String(length=8), nullable=False),
        sa.Column("bankgiro_hold_days", sa.Integer(), nullable=True),
        sa.Column("updated_at", rentalcoop.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("updated_by_id", sa.Integer(), nullable=True),
        sa.CheckConstraint(
            "bankgiro_hold_days IS NULL OR (bankgiro_hold_days >= 1 AND bankgiro_hold_days <= 10)",
            name=op.f("ck_payment_settings_hold_days_range"),
        ),
        sa.ForeignKeyConstraint(
            ["updated_by_id"], ["users.id"], name=op.f("fk_payment_settings_updated_by_id_users")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_payment_settings")),
    )
    op.create_table(
        "payment_choices",
        sa.Column("booking_id", sa.Integer(), nullable=False),
        sa.Column("method", sa.String(length=16), nullable=False),
        sa.Column("chosen_at", rentalcoop.db.UTCDateTime(timezone=True), nullable=False),
        sa.CheckConstraint(
            "method IN ('swish', 'bankgiro')", name=op.f("ck_payment_choices_method_known")
        ),
        sa.ForeignKeyConstraint(
            ["booking_id"],
            ["bookings.id"],
            name=op.f("fk_payment_choices_booking_id_bookings"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("booking_id", name=op.f("pk_payment_choices")),
    )
    # Empty until the board fills it in (/board/payment-details); the pay page says so.
    op.bulk_insert(
        settings,
        [
            {
                "id": 1,
                "payee_name": "",
                "swish_number": "",
                "bankgiro_number": "",
                "bankgiro_hold_days": None,
                "updated_at": datetime(2026, 12, 4, tzinfo=UTC),
            }
        ],
    )


def downgrade():
    op.drop_table("payment_choices")
    op.drop_table("payment_settings")

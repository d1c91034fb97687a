"""calendar_export_blocks: exported host blocks keep their UID when their nights change

Revision ID: 0012_calendar_export_blocks
Revises: 0011_user_sessions
Create Date: 2026-12-04 02:30:00

"""
import sqlalchemy as sa
from alembic import op

from rentalcoop.db import UTCDateTime

revision = "0012_calendar_export_blocks"
down_revision = "0011_user_sessions"
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        "calendar_export_blocks",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("listing_id", sa.Integer(), nullable=False),
        sa.Column("first_night", sa.Date(), nullable=False),
        sa.Column("end_night", sa.Date(), nullable=False),
        sa.Column("sequence", sa.Integer(), nullable=False),
        sa.Column("changed_at", UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["listing_id"],
            ["listings.id"],
            name=op.f("fk_calendar_export_blocks_listing_id_listings"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_calendar_export_blocks")),
    )
    with op.batch_alter_table("calendar_export_blocks", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_calendar_export_blocks_listing_id"), ["listing_id"], unique=False
        )


def downgrade():
    with op.batch_alter_table("calendar_export_blocks", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_calendar_export_blocks_listing_id"))
    op.drop_table("calendar_export_blocks")

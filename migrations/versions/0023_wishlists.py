"""saved homes: a person's wishlist (issue 16)

Revision ID: 0023_wishlists
Revises: 0022_auditor_dac7
Create Date: 2026-12-04 19:20:00

"""
import sqlalchemy as sa
from alembic import op

import rentalcoop.db

revision = "0023_wishlists"
down_revision = "0022_auditor_dac7"
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        "saved_homes",
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("listing_id", sa.Integer(), nullable=False),
        sa.Column("created_at", rentalcoop.db.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["listing_id"],
            ["listings.id"],
            name=op.f("fk_saved_homes_listing_id_listings"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["user_id"],
            ["users.id"],
            name=op.f("fk_saved_homes_user_id_users"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("user_id", "listing_id", name=op.f("pk_saved_homes")),
    )
    with op.batch_alter_table("saved_homes", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_saved_homes_listing_id"), ["listing_id"], unique=False
        )
        batch_op.create_index(
            "ix_saved_homes_user_created", ["user_id", "created_at"], unique=False
        )


def downgrade():
    with op.batch_alter_table("saved_homes", schema=None) as batch_op:
        batch_op.drop_index("ix_saved_homes_user_created")
        batch_op.drop_index(batch_op.f("ix_saved_homes_listing_id"))
    op.drop_table("saved_homes")

"""bookings.community_project_id refers to a community project

Revision ID: 0008_booking_project_fk
Revises: 0007_governance
Create Date: 2026-11-29 09:00:00

"""
from alembic import op

revision = "0008_booking_project_fk"
down_revision = "0007_governance"
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table("bookings", schema=None) as batch_op:
        batch_op.create_foreign_key(
            batch_op.f("fk_bookings_community_project_id_community_projects"),
            "community_projects",
            ["community_project_id"],
            ["id"],
        )


def downgrade():
    with op.batch_alter_table("bookings", schema=None) as batch_op:
        batch_op.drop_constraint(
            batch_op.f("fk_bookings_community_project_id_community_projects"), type_="foreignkey"
        )

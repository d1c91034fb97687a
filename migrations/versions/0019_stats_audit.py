"""the LP audit's result stored with each statistics release (issue 19)

Revision ID: 0019_stats_audit
Revises: 0016_coop_identity
Create Date: 2026-12-04 01:50:00

"""
import sqlalchemy as sa
from alembic import op

revision = "0019_stats_audit"
down_revision = "0016_coop_identity"
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table("stats_releases", schema=None) as batch_op:
        batch_op.add_column(sa.Column("audit", sa.JSON(), nullable=True))


def downgrade():
    with op.batch_alter_table("stats_releases", schema=None) as batch_op:
        batch_op.drop_column("audit")

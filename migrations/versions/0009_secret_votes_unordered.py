"""secret_votes kept in the order of their random keys, not the order votes came in

SQLite: the table becomes WITHOUT ROWID (a rowid numbered the choices in the order of the
receipts). PostgreSQL: the table is clustered by its key once; closing a secret vote does it
again, and casting one rewrites the motion's choices (see governance.services).

Revision ID: 0009_secret_votes_unordered
Revises: 0008_booking_project_fk
Create Date: 2026-11-29 11:00:00

"""
from alembic import op

revision = "0009_secret_votes_unordered"
down_revision = "0008_booking_project_fk"
branch_labels = None
depends_on = None


def upgrade():
    if op.get_bind().dialect.name == "sqlite":
        with op.batch_alter_table(
            "secret_votes", recreate="always", table_kwargs={"sqlite_with_rowid": False}
        ):
            pass
    else:
        op.execute("UPDATE secret_votes SET choice = choice")  # one xmin for every choice
        op.execute("CLUSTER secret_votes USING pk_secret_votes")


def downgrade():
    if op.get_bind().dialect.name == "sqlite":
        with op.batch_alter_table("secret_votes", recreate="always"):
            pass

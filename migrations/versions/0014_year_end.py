"""the cooperative's year end (issue 14)

Membership periods, the carried result of a close, meeting requests, cancelled meetings, the
register at the opening, matters added after the notice; secret ballots counted, not stored,
while open; the database guards the books (balanced transactions, closed years, decided fee
versions).

Revision ID: 0014_year_end
Revises: 0012_calendar_export_blocks
Create Date: 2026-12-04 01:40:00

"""

import sqlalchemy as sa
from alembic import op

from rentalcoop.db import UTCDateTime

revision = "0014_year_end"
down_revision = "0012_calendar_export_blocks"
branch_labels = None
depends_on = None


PG_GUARDS = [
    # Every transaction balances, checked when the database transaction commits (deferred).
    """
    CREATE OR REPLACE FUNCTION ledger_balanced() RETURNS trigger AS $$
    DECLARE
        tx integer;
        total bigint;
        legs integer;
    BEGIN
        IF TG_TABLE_NAME = 'ledger_entries' THEN
            tx := NEW.transaction_id;
        ELSE
            tx := NEW.id;
        END IF;
        SELECT COALESCE(SUM(amount_ore), 0), COUNT(*) INTO total, legs
          FROM ledger_entries WHERE transaction_id = tx;
        IF legs < 2 OR total <> 0 THEN
            RAISE EXCEPTION 'ledger transaction % is unbalanced (% legs, sum %)', tx, legs, total;
        END IF;
        RETURN NULL;
    END $$ LANGUAGE plpgsql
    """,
    "CREATE CONSTRAINT TRIGGER ledger_entries_balanced AFTER INSERT ON ledger_entries "
    "DEFERRABLE INITIALLY DEFERRED FOR EACH ROW EXECUTE FUNCTION ledger_balanced()",
    "CREATE CONSTRAINT TRIGGER ledger_transactions_balanced AFTER INSERT ON ledger_transactions "
    "DEFERRABLE INITIALLY DEFERRED FOR EACH ROW EXECUTE FUNCTION ledger_balanced()",
    # Nothing posts into a closed fiscal year.
    """
    CREATE OR REPLACE FUNCTION ledger_year_open() RETURNS trigger AS $$
    DECLARE
        y integer;
    BEGIN
        IF TG_TABLE_NAME = 'ledger_entries' THEN
            SELECT fiscal_year INTO y FROM ledger_transactions WHERE id = NEW.transaction_id;
        ELSE
            y := NEW.fiscal_year;
        END IF;
        IF EXISTS (SELECT 1 FROM fiscal_years WHERE year = y AND closed_at IS NOT NULL) THEN
            RAISE EXCEPTION 'the fiscal year % is closed', y;
        END IF;
        RETURN NEW;
    END $$ LANGUAGE plpgsql
    """,
    "CREATE TRIGGER ledger_transactions_year_open BEFORE INSERT ON ledger_transactions "
    "FOR EACH ROW EXECUTE FUNCTION ledger_year_open()",
    "CREATE TRIGGER ledger_entries_year_open BEFORE INSERT ON ledger_entries "
    "FOR EACH ROW EXECUTE FUNCTION ledger_year_open()",
    # A closed year stays closed.
    """
    CREATE OR REPLACE FUNCTION fiscal_year_stays_closed() RETURNS trigger AS $$
    BEGIN
        IF OLD.closed_at IS NOT NULL AND (TG_OP = 'DELETE'
                OR NEW.closed_at IS DISTINCT FROM OLD.closed_at
                OR NEW.year <> OLD.year) THEN
            RAISE EXCEPTION 'the fiscal year % is closed and cannot be re-opened', OLD.year;
        END IF;
        IF TG_OP = 'DELETE' THEN RETURN OLD; END IF;
        RETURN NEW;
    END $$ LANGUAGE plpgsql
    """,
    "CREATE TRIGGER fiscal_years_stay_closed BEFORE UPDATE OR DELETE ON fiscal_years "
    "FOR EACH ROW EXECUTE FUNCTION fiscal_year_stays_closed()",
    # A decided fee version never changes (bookings point to it; DESIGN §5).
    """
    CREATE OR REPLACE FUNCTION fee_version_unchanged() RETURNS trigger AS $$
    BEGIN
        RAISE EXCEPTION 'fee schedule versions are decided and never change (% on %)',
            TG_OP, OLD.id;
    END $$ LANGUAGE plpgsql
    """,
    "CREATE TRIGGER fee_schedule_versions_unchanged BEFORE UPDATE OR DELETE "
    "ON fee_schedule_versions FOR EACH ROW EXECUTE FUNCTION fee_version_unchanged()",
]

PG_DROP = [
    "DROP TRIGGER IF EXISTS fee_schedule_versions_unchanged ON fee_schedule_versions",
    "DROP FUNCTION IF EXISTS fee_version_unchanged()",
    "DROP TRIGGER IF EXISTS fiscal_years_stay_closed ON fiscal_years",
    "DROP FUNCTION IF EXISTS fiscal_year_stays_closed()",
    "DROP TRIGGER IF EXISTS ledger_entries_year_open ON ledger_entries",
    "DROP TRIGGER IF EXISTS ledger_transactions_year_open ON ledger_transactions",
    "DROP FUNCTION IF EXISTS ledger_year_open()",
    "DROP TRIGGER IF EXISTS ledger_transactions_balanced ON ledger_transactions",
    "DROP TRIGGER IF EXISTS ledger_entries_balanced ON ledger_entries",
    "DROP FUNCTION IF EXISTS ledger_balanced()",
]

# SQLite has no deferred triggers, and the ORM writes a flush's transactions before their legs,
# so no row trigger can tell an unbalanced transaction from one whose legs are still coming:
# balance is checked at commit by the application (rentalcoop.ledger.guards). The other guards
# are triggers.
SQLITE_GUARDS = [
    """
    CREATE TRIGGER ledger_transactions_year_open BEFORE INSERT ON ledger_transactions
    WHEN EXISTS (SELECT 1 FROM fiscal_years WHERE year = NEW.fiscal_year
                 AND closed_at IS NOT NULL)
    BEGIN SELECT RAISE(ABORT, 'the fiscal year is closed'); END
    """,
    """
    CREATE TRIGGER ledger_entries_year_open BEFORE INSERT ON ledger_entries
    WHEN EXISTS (SELECT 1 FROM ledger_transactions t JOIN fiscal_years y ON y.year = t.fiscal_year
                 WHERE t.id = NEW.transaction_id AND y.closed_at IS NOT NULL)
    BEGIN SELECT RAISE(ABORT, 'the fiscal year is closed'); END
    """,
    """
    CREATE TRIGGER fiscal_years_stay_closed BEFORE UPDATE ON fiscal_years
    WHEN OLD.closed_at IS NOT NULL AND (NEW.closed_at IS NULL OR NEW.closed_at <> OLD.closed_at
                                        OR NEW.year <> OLD.year)
    BEGIN SELECT RAISE(ABORT, 'the fiscal year is closed and cannot be re-opened'); END
    """,
    """
    CREATE TRIGGER fiscal_years_closed_kept BEFORE DELETE ON fiscal_years
    WHEN OLD.closed_at IS NOT NULL
    BEGIN SELECT RAISE(ABORT, 'the fiscal year is closed and cannot be re-opened'); END
    """,
    """
    CREATE TRIGGER fee_schedule_versions_no_update BEFORE UPDATE ON fee_schedule_versions
    BEGIN SELECT RAISE(ABORT, 'fee schedule versions are decided and never change'); END
    """,
    """
    CREATE TRIGGER fee_schedule_versions_no_delete BEFORE DELETE ON fee_schedule_versions
    BEGIN SELECT RAISE(ABORT, 'fee schedule versions are decided and never change'); END
    """,
]

SQLITE_DROP = [
    "DROP TRIGGER IF EXISTS " + name
    for name in (
        "ledger_transactions_year_open",
        "ledger_entries_year_open",
        "fiscal_years_stay_closed",
        "fiscal_years_closed_kept",
        "fee_schedule_versions_no_update",
        "fee_schedule_versions_no_delete",
    )
]


def _guards(statements_pg, statements_sqlite):
    dialect = op.get_bind().dialect.name
    for statement in statements_pg if dialect == "postgresql" else statements_sqlite:
        op.execute(statement)


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
    op.create_table(
        "secret_tallies",
        sa.Column("motion_id", sa.Integer(), nullable=False),
        sa.Column("choice", sa.String(length=40), nullable=False),
        sa.Column("votes", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["motion_id"], ["motions.id"], name=op.f("fk_secret_tallies_motion_id_motions")
        ),
        sa.PrimaryKeyConstraint("motion_id", "choice", name=op.f("pk_secret_tallies")),
    )
    _guards(PG_GUARDS, SQLITE_GUARDS)


def downgrade():
    _guards(PG_DROP, SQLITE_DROP)
    op.drop_table("secret_tallies")
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

"""The database guards the books on both engines (issue 14, DESIGN §9): an unbalanced
transaction, a posting into a closed year, re-opening a closed year and changing a decided fee
version are refused whatever writes to the database."""

from __future__ import annotations

from datetime import UTC, date, datetime

import pytest
from sqlalchemy import select, text
from sqlalchemy.exc import DBAPIError

from rentalcoop.extensions import db
from rentalcoop.ledger import services
from rentalcoop.ledger.models import FiscalYear, LedgerEntry, LedgerTransaction
from rentalcoop.ledger.services import LedgerError
from rentalcoop.listings.models import FeeScheduleVersion
from tests.conftest import DIALECT

LEGS = [("operating_costs", None, 12_500), ("cash", None, -12_500)]


def _raw_transaction(key: str, year: int = 2026) -> int:
    db.session.execute(
        text(
            "INSERT INTO ledger_transactions (key, kind, booked_on, fiscal_year, memo, posted_at) "
            "VALUES (:key, 'other', :day, :year, '', :now)"
        ),
        {"key": key, "day": date(year, 3, 1), "year": year, "now": datetime.now(UTC)},
    )
    return db.session.scalar(select(LedgerTransaction.id).where(LedgerTransaction.key == key))


def _raw_leg(transaction_id: int, amount: int, account: str = "cash") -> None:
    db.session.execute(
        text(
            "INSERT INTO ledger_entries (transaction_id, account, amount_ore) "
            "VALUES (:tx, :account, :amount)"
        ),
        {"tx": transaction_id, "account": account, "amount": amount},
    )


@pytest.mark.skipif(DIALECT != "postgresql", reason="PostgreSQL's deferred constraint trigger")
def test_a_one_leg_transaction_never_commits_on_postgresql(app):
    with app.app_context():
        tx = _raw_transaction("raw:one-leg")
        _raw_leg(tx, 500)
        with pytest.raises(DBAPIError, match="unbalanced"):
            db.session.commit()
        db.session.rollback()
        assert services.find_transaction("raw:one-leg") is None


def test_the_orm_cannot_commit_an_unbalanced_transaction(app):
    with app.app_context():
        tx = LedgerTransaction(
            key="orm:unbalanced",
            kind="other",
            booked_on=date(2026, 3, 1),
            fiscal_year=2026,
            entries=[
                LedgerEntry(account="cash", amount_ore=100),
                LedgerEntry(account="operating_costs", amount_ore=-99),
            ],
        )
        db.session.add(tx)
        with pytest.raises((DBAPIError, LedgerError)):
            db.session.commit()
        db.session.rollback()
        assert services.find_transaction("orm:unbalanced") is None


def test_several_transactions_in_one_flush_still_commit(app):
    """The ORM writes a flush's transactions before their legs: still fine at commit."""
    with app.app_context():
        for n in range(3):
            db.session.add(
                LedgerTransaction(
                    key=f"orm:{n}",
                    kind="other",
                    booked_on=date(2026, 3, 1),
                    fiscal_year=2026,
                    entries=[
                        LedgerEntry(account="cash", amount_ore=100 + n),
                        LedgerEntry(account="operating_costs", amount_ore=-100 - n),
                    ],
                )
            )
        db.session.commit()
        assert services.find_transaction("orm:2") is not None


def test_balanced_postings_still_commit(app):
    with app.app_context():
        services.post_transaction("cost:ok", "operating_cost", date(2026, 3, 1), LEGS)
        db.session.commit()
        assert services.find_transaction("cost:ok") is not None


@pytest.fixture
def closed_2025(app):
    with app.app_context():
        db.session.add(FiscalYear(year=2025, closed_at=datetime(2026, 5, 20, tzinfo=UTC)))
        db.session.commit()


@pytest.mark.usefixtures("closed_2025")
def test_no_insert_into_a_closed_year(app):
    with app.app_context():
        with pytest.raises(DBAPIError, match="closed"):
            _raw_transaction("raw:closed", year=2025)
        db.session.rollback()


@pytest.mark.usefixtures("closed_2025")
@pytest.mark.parametrize(
    "statement",
    [
        "UPDATE fiscal_years SET closed_at = NULL WHERE year = 2025",
        "UPDATE fiscal_years SET closed_at = '2027-01-01 00:00:00+00:00' WHERE year = 2025",
        "DELETE FROM fiscal_years WHERE year = 2025",
    ],
)
def test_a_closed_year_cannot_be_reopened(app, statement):
    with app.app_context():
        with pytest.raises(DBAPIError, match="closed"):
            db.session.execute(text(statement))
        db.session.rollback()
        assert services.is_year_closed(2025)


@pytest.mark.parametrize(
    "statement",
    [
        "UPDATE fee_schedule_versions SET fee_bps = 1 WHERE id = :id",
        "UPDATE fee_schedule_versions SET effective_from = '2020-01-01' WHERE id = :id",
        "DELETE FROM fee_schedule_versions WHERE id = :id",
    ],
)
def test_a_decided_fee_version_cannot_change(app, statement):
    with app.app_context():
        version = db.session.scalar(select(FeeScheduleVersion).limit(1))
        before = (version.id, version.fee_bps, version.effective_from)
        with pytest.raises(DBAPIError, match="never change"):
            db.session.execute(text(statement), {"id": version.id})
        db.session.rollback()
        again = db.session.get(FeeScheduleVersion, before[0])
        assert (again.id, again.fee_bps, again.effective_from) == before

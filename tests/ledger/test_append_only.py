"""Posted rows are never changed or deleted: the database itself refuses (DESIGN §9), on
SQLite and PostgreSQL alike; and a key posted by a racing transaction is not posted twice."""

from __future__ import annotations

import threading
from datetime import date

import pytest
from sqlalchemy import func, select, text
from sqlalchemy.exc import DBAPIError

from rentalcoop.extensions import db
from rentalcoop.ledger import services
from rentalcoop.ledger.models import Account, LedgerEntry, LedgerTransaction
from tests.conftest import DIALECT

LEGS = [(Account.OPERATING_COSTS, None, 12_500), (Account.CASH, None, -12_500)]


@pytest.fixture
def posted(app):
    with app.app_context():
        tx = services.post_transaction("cost:rent", "operating_cost", date(2026, 3, 1), LEGS)
        db.session.commit()
        return tx.id


@pytest.mark.parametrize(
    "statement",
    [
        "UPDATE ledger_entries SET amount_ore = 1 WHERE transaction_id = :id",
        "UPDATE ledger_entries SET account = 'retained_result' WHERE transaction_id = :id",
        "DELETE FROM ledger_entries WHERE transaction_id = :id",
        "UPDATE ledger_transactions SET memo = 'changed' WHERE id = :id",
        "UPDATE ledger_transactions SET booked_on = '2025-12-31' WHERE id = :id",
        "DELETE FROM ledger_transactions WHERE id = :id",
    ],
)
def test_an_update_or_delete_of_a_posted_row_fails_in_the_database(app, posted, statement):
    with app.app_context():
        with pytest.raises(DBAPIError, match="append-only"):
            db.session.execute(text(statement), {"id": posted})
        db.session.rollback()
        tx = db.session.get(LedgerTransaction, posted)
        assert tx.memo == ""
        assert tx.booked_on == date(2026, 3, 1)
        assert [(e.account, e.amount_ore) for e in tx.entries] == [
            ("operating_costs", 12_500),
            ("cash", -12_500),
        ]


def test_the_orm_cannot_change_a_posted_row_either(app, posted):
    with app.app_context():
        entry = db.session.scalar(select(LedgerEntry).where(LedgerEntry.transaction_id == posted))
        entry.amount_ore = 99
        with pytest.raises(DBAPIError):
            db.session.commit()
        db.session.rollback()


@pytest.mark.skipif(DIALECT != "postgresql", reason="SQLite serialises writers")
def test_a_racing_posting_of_the_same_key_returns_the_winner(app):
    """Two transactions post one key at once: the second waits on the unique key, then finds
    the first one's row instead of failing — and its own transaction stays usable."""
    first_flushed = threading.Event()
    results = {}

    def first():
        with app.app_context():
            tx = services.post_transaction("race:1", "test", date(2026, 3, 1), LEGS, memo="first")
            results["first"] = tx.id
            first_flushed.set()
            threading.Event().wait(0.5)  # hold the row uncommitted while the second one tries
            db.session.commit()

    def second():
        with app.app_context():
            first_flushed.wait(5)
            # The first row is not visible yet, so the check finds nothing and the insert waits.
            tx = services.post_transaction("race:1", "test", date(2026, 3, 1), LEGS, memo="second")
            results["second"] = (tx.id, tx.memo)
            services.post_transaction("race:2", "test", date(2026, 3, 1), LEGS)
            db.session.commit()

    threads = [threading.Thread(target=first), threading.Thread(target=second)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(10)
    assert results["second"] == (results["first"], "first")
    with app.app_context():
        keys = db.session.scalars(select(LedgerTransaction.key).order_by(LedgerTransaction.id))
        assert list(keys) == ["race:1", "race:2"]
        assert db.session.scalar(select(func.count()).select_from(LedgerEntry)) == 4

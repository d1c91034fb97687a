"""The books guarded at commit, on both engines (DESIGN §9).

The database refuses what breaks the books whatever writes to it (migration 0014): on
PostgreSQL a deferred constraint trigger checks at commit that every transaction written has at
least two legs summing to zero; both engines refuse by trigger a posting into a closed fiscal
year, re-opening a closed year and changing a decided fee version.

SQLite has no deferred triggers, and the ORM inserts a flush's transactions before their legs,
so a row trigger cannot check balance there. This module checks it at commit for the
application's session on both engines: the transactions the session wrote since its last
commit are summed before the commit goes through, and an unbalanced one is refused. (Raw SQL
written past the session is therefore checked only by PostgreSQL.)
"""

from __future__ import annotations

from sqlalchemy import event, func, select
from sqlalchemy.orm import Session

from rentalcoop.i18n import _l
from rentalcoop.ledger.models import LedgerEntry, LedgerTransaction

TOUCHED = "ledger_touched"


@event.listens_for(Session, "after_flush")
def _remember(session: Session, _context) -> None:
    touched = session.info.setdefault(TOUCHED, set())
    for obj in session.new:
        if isinstance(obj, LedgerTransaction):
            touched.add(obj.id)
        elif isinstance(obj, LedgerEntry):
            touched.add(obj.transaction_id)


@event.listens_for(Session, "before_commit")
def _check_balanced(session: Session) -> None:
    if session.new or session.dirty or session.deleted:
        session.flush()
    touched = session.info.pop(TOUCHED, set())
    if not touched:
        return
    unbalanced = session.execute(
        select(LedgerTransaction.key, func.coalesce(func.sum(LedgerEntry.amount_ore), 0))
        .outerjoin(LedgerEntry, LedgerEntry.transaction_id == LedgerTransaction.id)
        .where(LedgerTransaction.id.in_(sorted(touched)))
        .group_by(LedgerTransaction.id, LedgerTransaction.key)
        .having(
            (func.coalesce(func.sum(LedgerEntry.amount_ore), 0) != 0)
            | (func.count(LedgerEntry.id) < 2)
        )
    ).first()
    if unbalanced is not None:
        from rentalcoop.ledger.services import LedgerError

        raise LedgerError(
            _l("The ledger transaction %(key)s does not balance; nothing was saved."),
            key=unbalanced[0],
        )


@event.listens_for(Session, "after_rollback")
def _forget(session: Session) -> None:
    session.info.pop(TOUCHED, None)

"""Operating costs the board enters (O of DESIGN §10), each posted to the ledger once."""

from __future__ import annotations

import uuid
from datetime import date

from sqlalchemy import select

from rentalcoop.accounts.models import User
from rentalcoop.extensions import db
from rentalcoop.governance.models import CostCategory, OperatingCost
from rentalcoop.ledger import services as ledger


def enter_cost(
    spent_on: date, category: str, amount_ore: int, note: str, by: User
) -> OperatingCost:
    """Record a cost and post it (operating costs debit, cash credit) in the year it was spent;
    the ledger refuses a closed year."""
    category = CostCategory(category)
    transaction = ledger.post_operating_cost(
        f"cost:{uuid.uuid4().hex}",
        amount_ore,
        spent_on,
        memo=f"{category}: {note}"[:500],
        posted_by=by,
    )
    cost = OperatingCost(
        spent_on=spent_on,
        category=category,
        amount_ore=amount_ore,
        note=note.strip(),
        transaction_id=transaction.id,
        entered_by_id=by.id,
    )
    db.session.add(cost)
    db.session.flush()
    return cost


def costs(year: int | None = None) -> list[OperatingCost]:
    query = select(OperatingCost).order_by(OperatingCost.spent_on.desc(), OperatingCost.id.desc())
    if year is not None:
        query = query.where(
            OperatingCost.spent_on >= date(year, 1, 1), OperatingCost.spent_on <= date(year, 12, 31)
        )
    return list(db.session.scalars(query))

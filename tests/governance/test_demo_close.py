"""The close of the demo town's last year (issue 6 acceptance: "Close on the demo year"): its
posted figures are the ledger's, the shares add up to D exactly, a rerun changes nothing and the
closed year takes no more postings."""

from datetime import date

import pytest
from sqlalchemy import select

from rentalcoop.demo import load_demo_data
from rentalcoop.extensions import db
from rentalcoop.governance import close
from rentalcoop.governance.models import CloseState, YearClose
from rentalcoop.ledger import services as ledger
from rentalcoop.ledger.models import Account
from rentalcoop.listings.pricing import coop_date


def test_demo_year_close(ctx, demo_town):
    assert not load_demo_data()  # loaded already (by `flask demo-data`, as `make run` does)
    year = coop_date().year - 1
    row = db.session.scalar(select(YearClose).where(YearClose.year == year))
    assert row is not None
    assert row.state == CloseState.POSTED
    # The stored figures are what the ledger says (F, C, O), and D follows DESIGN §10.
    again = close.compute(year, row.reserve_ore)
    assert (row.fees_ore, row.community_ore, row.costs_ore) == (
        again.fees_ore,
        again.community_ore,
        again.costs_ore,
    )
    assert row.surplus_ore == row.fees_ore - row.community_ore - row.costs_ore
    assert row.distributed_ore == max(0, row.surplus_ore - row.reserve_ore)
    assert sum(share.amount_ore for share in row.shares) == row.distributed_ore
    assert row.nights == sum(share.nights for share in row.shares)
    # Posted once: a rerun returns the same close and posts nothing new.
    posted = ledger.account_balance(Account.PATRONAGE_PAYABLE)
    assert close.post_close(year).transaction_id == row.transaction_id
    assert ledger.account_balance(Account.PATRONAGE_PAYABLE) == posted
    # Nothing posts into the closed year.
    with pytest.raises(ledger.LedgerError):
        ledger.post_operating_cost(f"late-cost:{year}", 1_000, date(year, 12, 30))

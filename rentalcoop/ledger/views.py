"""The board's view of the books: balances, trial balances, the journal and its CSV export."""

from __future__ import annotations

import csv
import io
from collections.abc import Iterator

from flask import Response, abort, render_template, stream_with_context

from rentalcoop.access import role_required
from rentalcoop.accounts.models import Role
from rentalcoop.input_guard import YEAR_MAX, YEAR_MIN, query_int
from rentalcoop.ledger import bp, services
from rentalcoop.ledger.models import ACCOUNT_LABELS, TRANSACTION_KIND_LABELS, Account
from rentalcoop.listings.pricing import coop_date
from rentalcoop.spreadsheet import kronor, safe_cell

JOURNAL_PER_PAGE = 50
CSV_COLUMNS = (
    "date",
    "fiscal_year",
    "transaction_id",
    "key",
    "kind",
    "account",
    "party_id",
    "party",
    "amount_ore",
    "amount_kr",
    "memo",
)


@bp.get("/board/ledger")
@role_required(Role.BOARD)
def index():
    """Balances per account and per host, guest or project, and each year's trial balance."""
    balances = services.balances()
    labels = services.party_labels((str(row.account), row.party_id) for row in balances)
    totals: dict[Account, int] = {}
    for row in balances:
        totals[row.account] = totals.get(row.account, 0) + row.balance_ore
    # Per host, guest, member or project; the fund's general part is a line of its own.
    parties = [
        row for row in balances if row.party_id is not None or row.account == Account.COMMUNITY_FUND
    ]
    return render_template(
        "ledger/index.html",
        today=coop_date(),
        totals=totals,
        parties=parties,
        labels=labels,
        trial_balances=services.trial_balances(),
        account_labels=ACCOUNT_LABELS,
    )


@bp.get("/board/ledger/journal")
@role_required(Role.BOARD)
def journal():
    """Every transaction with its lines, newest first."""
    page = services.journal(query_int("page", 1), JOURNAL_PER_PAGE)
    if page.page > page.pages:
        abort(404)
    labels = services.party_labels(
        (entry.account, entry.party_id) for tx in page.items for entry in tx.entries
    )
    return render_template(
        "ledger/journal.html",
        page=page,
        labels=labels,
        account_labels=ACCOUNT_LABELS,
        kind_labels=TRANSACTION_KIND_LABELS,
        memo_text=services.memo_text,
    )


@bp.get("/board/ledger/journal.csv")
@role_required(Role.BOARD)
def journal_csv():
    """The journal for a spreadsheet: one line per entry, `;`-separated UTF-8 with a BOM so
    Excel in Swedish opens it as it is; `?year=` limits it to one fiscal year."""
    year = query_int("year", low=YEAR_MIN, high=YEAR_MAX)
    name = f"ledger-{year}.csv" if year else "ledger.csv"
    return Response(
        stream_with_context(_csv_chunks(year)),
        mimetype="text/csv",
        headers={"Content-Disposition": f'attachment; filename="{name}"'},
    )


def _csv_chunks(year: int | None) -> Iterator[str]:
    buffer = io.StringIO()
    writer = csv.writer(buffer, delimiter=";")
    buffer.write("\ufeff")
    writer.writerow(CSV_COLUMNS)
    for n, line in enumerate(services.journal_lines(year), start=1):
        writer.writerow(
            (
                line.booked_on.isoformat(),
                line.fiscal_year,
                line.transaction_id,
                safe_cell(line.key),
                line.kind,
                line.account,
                "" if line.party_id is None else line.party_id,
                safe_cell(line.party),
                line.amount_ore,
                kronor(line.amount_ore),
                safe_cell(line.memo),
            )
        )
        if n % 500 == 0:
            yield _drain(buffer)
    yield _drain(buffer)


def _drain(buffer: io.StringIO) -> str:
    text = buffer.getvalue()
    buffer.seek(0)
    buffer.truncate()
    return text

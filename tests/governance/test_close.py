"""The fiscal-year close on a hand-checked fixture (DESIGN §10).

Three hosts, one listing each at 1 000 kr a night, no cleaning fee, 2025's founding rates:
a 2-night stay costs a 300 kr fee incl. 60 kr VAT, 240 kr net of which 120 kr is the community
share (3 nights: 360 / 180; 4 nights: 480 / 240).

    host A: three 2-night stays          6 nights   F 720 kr   C 360 kr
    host B: one 3-night stay             3 nights   F 360 kr   C 180 kr
    host C: one 4-night stay, 2 of them before C joined (2 member nights)
                                                               F 480 kr   C 240 kr
    F = 1 560 kr, C = 780 kr, O = 100 kr  →  S = 680 kr;  R = 10 kr  →  D = 670 kr = 67 000 öre
    N = 11.  A: 67 000·6/11 = 36 545 r 5;  B: 18 272 r 8;  C: 12 181 r 9;  2 öre left over →
    C and B.  A 36 545, B 18 273, C 12 182; Σ = 67 000.
"""

from __future__ import annotations

import io
import json
import zipfile
from datetime import UTC, date, datetime, time

import pytest
from sqlalchemy import func, select

from rentalcoop.extensions import db
from rentalcoop.governance import close, costs, services
from rentalcoop.governance.models import CloseState, MeetingKind
from rentalcoop.ledger import services as ledger
from rentalcoop.ledger.models import Account, LedgerTransaction
from tests import factories
from tests.governance.conftest import convened
from tests.helpers import login, text_of

MEETING_DAY = date(2026, 5, 20)


def _stays(host, *stays: tuple[date, int]):
    """Completed stays at one 1 000 kr listing of `host`, booked in January 2025."""
    home = factories.listing(host=host, nightly_price_ore=100_000)
    for check_in, nights in stays:
        stay = factories.booking(
            listing=home,
            check_in=check_in,
            nights=nights,
            state="completed",
            created_at=datetime(2025, 1, 2, 9, tzinfo=UTC),
        )
        ledger.post_stay_completed(stay)


@pytest.fixture
def year_2025(ctx):
    board = factories.user(board=True)
    a, b, c = factories.host(), factories.host(), factories.host()
    c.membership.joined_on = date(2025, 6, 10)
    _stays(a, (date(2025, 2, 1), 2), (date(2025, 3, 1), 2), (date(2025, 4, 1), 2))
    _stays(b, (date(2025, 5, 1), 3))
    _stays(c, (date(2025, 6, 8), 4))
    costs.enter_cost(date(2025, 3, 15), "it", 10_000, "Server", board)
    return board, a, b, c


def _approve_disposition(board, reserve_ore: int, year: int = 2025):
    meeting, chair = convened(
        kind=MeetingKind.ORDINARY, held_on=MEETING_DAY, board=board, fiscal_year=year
    )
    at = services.meeting_start(MEETING_DAY, time(19))
    close.save_draft(year, reserve_ore)  # the board's proposal reaches the motion
    accounts = next(m for m in meeting.motions if m.kind == "accounts")
    services.open_vote(accounts, chair, at=at)
    services.cast_vote(accounts, chair, "yes")
    services.close_vote(accounts, chair, at=at)
    motion = next(m for m in meeting.motions if m.kind == "disposition")
    assert motion.reserve_ore == reserve_ore
    services.open_vote(motion, chair, at=at)
    services.cast_vote(motion, chair, "yes")
    services.close_vote(motion, chair, at=at)
    return motion


def test_figures_match_the_hand_checked_fixture(year_2025):
    _board, a, b, c = year_2025
    figures = close.compute(2025, reserve_ore=1_000)
    assert (figures.fees_ore, figures.community_ore, figures.costs_ore) == (156_000, 78_000, 10_000)
    assert figures.surplus_ore == 68_000
    assert figures.distributed_ore == 67_000
    assert figures.nights == {a.id: 6, b.id: 3, c.id: 2}
    assert figures.shares == {a.id: 36_545, b.id: 18_273, c.id: 12_182}
    assert sum(figures.shares.values()) == figures.distributed_ore


def test_draft_until_the_meeting_approves_then_posted_once(year_2025):
    board, a, b, c = year_2025
    draft = close.save_draft(2025, reserve_ore=1_000)
    assert draft.state == CloseState.DRAFT
    with pytest.raises(close.CloseError):
        close.post_close(2025, by=board)
    assert not ledger.is_year_closed(2025)

    _approve_disposition(board, reserve_ore=1_000)  # passing the motion posts the close
    row = close.year_close(2025)
    assert row.state == CloseState.POSTED
    assert sum(share.amount_ore for share in row.shares) == row.distributed_ore == 67_000
    assert ledger.account_balance(Account.PATRONAGE_PAYABLE, a.id) == -36_545
    assert ledger.account_balance(Account.PATRONAGE_PAYABLE, c.id) == -12_182
    assert ledger.account_balance(Account.RETAINED_RESULT) == 67_000
    assert ledger.is_year_closed(2025)
    patronage = ledger.find_transaction("close:2025:patronage")
    assert patronage.booked_on == MEETING_DAY

    # A rerun changes nothing.
    count = db.session.scalar(select(func.count()).select_from(LedgerTransaction))
    assert close.post_close(2025, by=board) is row
    assert close.save_draft(2025, reserve_ore=0).distributed_ore == 67_000
    assert db.session.scalar(select(func.count()).select_from(LedgerTransaction)) == count
    # F and C still read from the ledger after the close.
    assert ledger.fee_figures(2025).fees_ore == 156_000


def test_nothing_posts_into_the_closed_year(year_2025):
    board = year_2025[0]
    _approve_disposition(board, reserve_ore=0)
    with pytest.raises(ledger.LedgerError):
        ledger.post_operating_cost("late-cost", 500, date(2025, 12, 31))
    with pytest.raises(ledger.LedgerError):
        costs.enter_cost(date(2025, 6, 1), "other", 500, "Late invoice", board)


def test_a_loss_year_distributes_nothing(year_2025):
    board = year_2025[0]
    costs.enter_cost(date(2025, 9, 1), "accounting", 100_000, "Revision", board)
    figures = close.compute(2025, reserve_ore=0)
    assert figures.surplus_ore == -32_000
    assert figures.distributed_ore == 0
    assert set(figures.shares.values()) == {0}
    _approve_disposition(board, reserve_ore=0)
    assert close.year_close(2025).state == CloseState.POSTED
    assert ledger.find_transaction("close:2025:patronage") is None
    assert ledger.account_balance(Account.PATRONAGE_PAYABLE) == 0
    assert ledger.is_year_closed(2025)


def test_cli_prints_draft_then_posted(year_2025, app):
    board = year_2025[0]
    db.session.commit()
    runner = app.test_cli_runner()
    result = runner.invoke(args=["coop", "close-year", "2025", "--reserve", "1000", "--dry-run"])
    assert result.exit_code == 0, result.output
    assert "dry run" in result.output
    assert "670.00" in result.output
    assert close.year_close(2025) is None
    result = runner.invoke(args=["coop", "close-year", "2025", "--reserve", "1000"])
    assert "draft" in result.output
    db.session.expire_all()
    assert close.year_close(2025).state == CloseState.DRAFT
    _approve_disposition(db.session.merge(board), reserve_ore=1_000)
    db.session.commit()
    result = runner.invoke(args=["coop", "close-year", "2025"])
    assert result.exit_code == 0, result.output
    assert "was closed and posted" in result.output


def test_the_close_page_and_csv_name_the_members_and_keep_formulas_inert(year_2025, app):
    board, a, b, c = year_2025
    a.name = '=HYPERLINK("https://evil.example","A")'
    b.name = "Berit Bok"
    close.save_draft(2025, reserve_ore=1_000)
    db.session.commit()
    client = app.test_client()
    login(client, board.email)
    page = text_of(client.get("/board/close/2025"))
    assert "Berit Bok" in page
    body = client.get("/board/close/2025.csv").get_data(as_text=True)
    assert f'{a.id};"\'=HYPERLINK(""https://evil.example"",""A"")";6;' in body
    assert f"{b.id};Berit Bok;3;" in body


def test_a_members_export_holds_their_posted_patronage_share(year_2025, app):
    board, a, _b, _c = year_2025
    close.save_draft(2025, reserve_ore=1_000)
    db.session.commit()
    client = app.test_client()
    login(client, a.email)

    def shares() -> list[dict]:
        archive = zipfile.ZipFile(io.BytesIO(client.get("/account/export.zip").data))
        return json.loads(archive.read("money/patronage_statements.json"))

    assert shares() == []  # a draft is the board's proposal, not the member's share yet
    _approve_disposition(board, reserve_ore=1_000)
    db.session.commit()
    assert [(s["year"], s["nights"], s["amount_ore"]) for s in shares()] == [(2025, 6, 36_545)]

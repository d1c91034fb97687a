"""`flask check invariants`: each kind of broken row is found, and a clean database has none."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import delete, insert, select, text, update

from rentalcoop import invariants
from rentalcoop.bookings.models import BookedNight, Booking, BookingEvent
from rentalcoop.db import utcnow
from rentalcoop.extensions import db
from rentalcoop.ledger.models import LedgerEntry, LedgerTransaction
from rentalcoop.payments import services as payments
from rentalcoop.payments.models import Refund
from tests import factories


def _paid(state_after: str = "confirmed") -> Booking:
    """A booking paid the way the board marks it (a Payment row, the ledger, a payout)."""
    board = factories.user(board=True)
    booking = factories.booking(state="pending_payment")
    payments.record_payment_succeeded(booking, by=board)
    db.session.flush()
    assert booking.state == state_after
    return booking


def _set(booking: Booking, **values) -> None:
    db.session.execute(update(Booking).where(Booking.id == booking.id).values(**values))


def _event(booking: Booking, from_state, to_state) -> None:
    db.session.add(
        BookingEvent(
            booking_id=booking.id, from_state=from_state, to_state=to_state, actor_kind="system"
        )
    )


def unbalanced():
    """An unbalanced transaction as only a write past the guards leaves one (rows from before
    migration 0014, a restore, raw SQL): the session's commit check and PostgreSQL's deferred
    trigger both refuse it otherwise, so it is written as raw SQL with the triggers off."""
    if db.session.get_bind().dialect.name == "postgresql":
        db.session.execute(text("SET LOCAL session_replication_role = replica"))
    today = utcnow().date()
    tx_id = db.session.execute(
        insert(LedgerTransaction)
        .values(key="test:unbalanced", kind="payment", booked_on=today, fiscal_year=today.year)
        .returning(LedgerTransaction.id)
    ).scalar_one()
    db.session.execute(
        insert(LedgerEntry),
        [
            {"transaction_id": tx_id, "account": "cash", "amount_ore": 10_000},
            {
                "transaction_id": tx_id,
                "account": "host_payable",
                "party_id": 1,
                "amount_ore": -9_000,
            },
        ],
    )
    return "ledger transaction"


def refund_missing():
    booking = _paid()
    # Cancelled as the racing guest did: on a stale read, so no refund was recorded.
    _set(booking, state="cancelled_by_guest", cancelled_at=utcnow())
    _event(booking, "confirmed", "cancelled_by_guest")
    db.session.execute(delete(BookedNight).where(BookedNight.booking_id == booking.id))
    return f"booking {booking.id}"


def refund_disagrees():
    booking = _paid()
    db.session.add(Refund(booking_id=booking.id, amount_ore=12_345))
    return f"booking {booking.id}"


def nights_missing():
    booking = _paid()
    db.session.execute(
        delete(BookedNight).where(
            BookedNight.booking_id == booking.id, BookedNight.night == booking.check_in
        )
    )
    return f"booking {booking.id}"


def orphan_nights():
    booking = factories.booking(state="expired")
    db.session.add(
        BookedNight(listing_id=booking.listing_id, night=booking.check_in, booking_id=booking.id)
    )
    return f"booking {booking.id}"


def double_transition():
    booking = factories.booking(state="requested")
    # Accepted and cancelled at once: both moved on from `requested`.
    _event(booking, "requested", "cancelled_by_guest")
    _event(booking, "requested", "pending_payment")
    _set(booking, state="pending_payment")
    return f"booking {booking.id}"


def history_disagrees():
    booking = factories.booking(state="requested")
    _set(booking, state="pending_payment")
    return f"booking {booking.id}"


def payout_for_refunded():
    booking = _paid()
    _set(booking, refund_total_ore=Booking.total_ore)
    return f"booking {booking.id}"


def vote_without_proxy():
    from rentalcoop.governance.models import Channel, Proxy, Vote
    from tests.governance.conftest import convened

    meeting, chair = convened()
    motion = services_add_motion(meeting, chair)
    principal, holder = factories.host(), factories.host()
    proxy = Proxy(
        meeting_id=meeting.id,
        principal_id=principal.id,
        holder_id=holder.id,
        signed_on=meeting.held_on,
        revoked_at=utcnow() - timedelta(minutes=5),
    )
    db.session.add(proxy)
    db.session.flush()
    vote = Vote(
        motion_id=motion.id,
        member_id=principal.id,
        cast_by_id=holder.id,
        channel=Channel.PROXY,
        choice="yes",
        cast_at=utcnow(),  # after the revocation
    )
    db.session.add(vote)
    db.session.flush()
    return f"vote {vote.id}"


def services_add_motion(meeting, chair):
    from rentalcoop.governance import services

    return services.add_motion(
        meeting, kind="other", title="Cykelställ", proposer=chair, by_board=True
    )


def _dispute(booking: Booking, **values):
    from rentalcoop.payments.models import Dispute

    dispute = Dispute(
        provider_ref=f"dp_test_{booking.id}",
        booking_id=booking.id,
        payment_id=payments.succeeded_payment(booking).id,
        amount_ore=booking.total_ore,
        **values,
    )
    db.session.add(dispute)
    db.session.flush()
    return dispute


def payout_during_dispute():
    """A dispute recorded past the services: the payout stays scheduled, to be released."""
    booking = _paid()
    _dispute(booking)
    return f"booking {booking.id}"


def held_without_dispute():
    from rentalcoop.payments.models import Payout, PayoutState

    booking = _paid()
    db.session.execute(
        update(Payout).where(Payout.booking_id == booking.id).values(state=PayoutState.HELD)
    )
    return f"booking {booking.id}"


def dispute_not_booked():
    from rentalcoop.payments.models import DisputeState

    booking = _paid()
    _dispute(booking, state=DisputeState.LOST, closed_at=utcnow())
    return f"booking {booking.id}"


CASES = {
    invariants.UNBALANCED: unbalanced,
    invariants.REFUND_MISSING: refund_missing,
    invariants.REFUND_DISAGREES: refund_disagrees,
    invariants.NIGHTS_MISSING: nights_missing,
    invariants.ORPHAN_NIGHTS: orphan_nights,
    invariants.DOUBLE_TRANSITION: double_transition,
    invariants.HISTORY_DISAGREES: history_disagrees,
    invariants.PAYOUT_FOR_REFUNDED: payout_for_refunded,
    invariants.VOTE_WITHOUT_PROXY: vote_without_proxy,
    invariants.PAYOUT_DURING_DISPUTE: payout_during_dispute,
    invariants.HELD_WITHOUT_DISPUTE: held_without_dispute,
    invariants.DISPUTE_NOT_BOOKED: dispute_not_booked,
}


def test_every_kind_has_a_case():
    assert set(CASES) == set(invariants.KINDS)


@pytest.mark.parametrize("kind", list(CASES))
def test_each_broken_row_is_reported(app, runner, kind):
    with app.app_context():
        assert invariants.violations() == []
        subject = CASES[kind]()
        db.session.commit()
        found = invariants.violations()
    assert [v for v in found if v.kind == kind and v.subject.startswith(subject)], found
    result = runner.invoke(args=["check", "invariants"])
    assert result.exit_code == 1, result.output
    assert kind in result.output


def test_a_cancellation_through_the_services_is_consistent(app):
    """The checks agree with the services: a refunded cancellation is no violation."""
    from rentalcoop.bookings import services
    from rentalcoop.bookings.cancellation import CancelledBy

    with app.app_context():
        booking = _paid()
        services.cancel_booking(booking, CancelledBy.HOST, booking.host, reason="Burst pipe")
        db.session.commit()
        assert db.session.scalar(select(Refund.amount_ore)) == booking.total_ore
        assert invariants.violations() == []


@pytest.mark.sqlite_only
def test_an_unmigrated_database_is_a_clear_message_not_a_traceback(make_app, tmp_path):
    empty = make_app(SQLALCHEMY_DATABASE_URI=f"sqlite:///{tmp_path / 'empty.sqlite'}")
    result = empty.test_cli_runner().invoke(args=["check", "invariants"])
    assert result.exit_code == 2
    assert "flask db upgrade" in result.output

"""Issue 15 (B), offline through the fake Stripe transport: the methods a Swedish guest pays
with (card, Swish, Klarna), delayed methods, webhooks in any order, disputes in the books, and
payouts that fail one at a time. The invariants are checked after every scenario."""

from __future__ import annotations

import threading
from datetime import timedelta

import pytest
from sqlalchemy import select, text

from rentalcoop import invariants
from rentalcoop.accounts.models import User
from rentalcoop.bookings import services as bookings
from rentalcoop.bookings.models import Booking, BookingEvent, BookingState
from rentalcoop.db import utcnow
from rentalcoop.extensions import db
from rentalcoop.ledger import services as ledger
from rentalcoop.ledger.models import Account
from rentalcoop.payments import services, webhooks
from rentalcoop.payments.models import (
    Dispute,
    DisputeState,
    HostPaymentAccount,
    Payment,
    PaymentState,
    Payout,
    PayoutState,
    Refund,
    RefundState,
    WebhookEvent,
    WebhookState,
)
from rentalcoop.payments.providers import get_provider
from tests.helpers import login, text_of
from tests.payments.conftest import CONNECT_SECRET
from tests.payments.fake_stripe import event
from tests.payments.test_stripe import _booking, _connect_host, _open_checkout, _pay, _post


def _clean(application) -> None:
    with application.app_context():
        assert invariants.violations() == []


def _deliver(application, event_type, obj, event_id, **kwargs):
    response = _post(application.test_client(), event(event_type, obj, event_id=event_id), **kwargs)
    assert response.status_code == 200, text_of(response)
    return response.get_json()


def _state_of(event_id: str) -> str:
    return db.session.get(WebhookEvent, event_id).state


# --- payment methods ---------------------------------------------------------------------------


def test_checkout_offers_card_klarna_and_swish_in_sek_in_the_guests_language(
    stripe_app, fake_stripe, stripe_people
):
    with stripe_app.app_context():
        db.session.get(User, stripe_people["guest"]).locale = "sv"
        db.session.commit()
    booking_id = _booking(stripe_app, stripe_people)
    _open_checkout(stripe_app, booking_id)
    [call] = fake_stripe.calls("POST", "/v1/checkout/sessions")
    with stripe_app.app_context():
        code = db.session.get(Booking, booking_id).code
    assert [call.params[f"allowed_payment_method_types[{i}]"] for i in range(3)] == [
        "card",
        "klarna",
        "swish",
    ]
    assert "payment_method_types[0]" not in call.params  # a filter, not a fixed list
    assert call.params["line_items[0][price_data][currency]"] == "sek"
    assert call.params["locale"] == "sv"
    assert call.params["payment_method_options[swish][reference]"] == code


def test_the_methods_are_configurable(make_app, fake_stripe, stripe_people, stripe_app):
    stripe_app.config["STRIPE_PAYMENT_METHODS"] = "card"
    stripe_app.extensions.pop("rentalcoop_payment_provider", None)
    booking_id = _booking(stripe_app, stripe_people)
    _open_checkout(stripe_app, booking_id)
    [call] = fake_stripe.calls("POST", "/v1/checkout/sessions")
    assert call.params["allowed_payment_method_types[0]"] == "card"
    assert "allowed_payment_method_types[1]" not in call.params


def test_a_swish_checkout_confirms_the_stay(stripe_app, fake_stripe, stripe_people):
    booking_id = _booking(stripe_app, stripe_people)
    session_id = _open_checkout(stripe_app, booking_id)
    session = fake_stripe.pay_session(session_id, method="swish")
    assert "swish" in session["payment_method_types"]
    _deliver(stripe_app, "checkout.session.completed", session, "evt_swish")
    with stripe_app.app_context():
        booking = db.session.get(Booking, booking_id)
        assert booking.state == BookingState.CONFIRMED
        assert db.session.scalar(select(Payment.state)) == PaymentState.SUCCEEDED
        assert db.session.scalar(select(Payout.state)) == PayoutState.SCHEDULED
        assert ledger.account_balance(Account.CASH) == booking.total_ore
    assert fake_stripe.calls("POST", "/v1/refunds") == []
    _clean(stripe_app)


# --- delayed methods ---------------------------------------------------------------------------


def _processing(application, fake_stripe, people, **kwargs):
    """A booking whose guest completed Checkout with a delayed method (money on its way)."""
    booking_id = _booking(application, people, **kwargs)
    session_id = _open_checkout(application, booking_id)
    session = fake_stripe.pay_session(session_id, method="sepa_debit", delayed=True)
    assert session["payment_status"] == "unpaid"
    _deliver(application, "checkout.session.completed", session, f"evt_done_{booking_id}")
    return booking_id, session_id


def test_a_delayed_payment_keeps_the_hold_and_shows_it_is_processing(
    stripe_app, fake_stripe, stripe_people
):
    booking_id, _session = _processing(stripe_app, fake_stripe, stripe_people)
    with stripe_app.app_context():
        booking = db.session.get(Booking, booking_id)
        assert booking.state == BookingState.PENDING_PAYMENT
        assert db.session.scalar(select(Payment.state)) == PaymentState.PROCESSING
        # Held until Stripe's outcome: 14 days at most, never past check-in (30 days ahead).
        assert booking.expires_at > utcnow() + timedelta(days=13)
        assert booking.expires_at <= bookings.check_in_instant(booking)
        # The card hold (31 minutes) would have lapsed by now: the expiry job leaves it.
        assert bookings.expire_due(at=utcnow() + timedelta(hours=2)) == 0
    guest = stripe_app.test_client()
    login(guest, "guest@example.org")
    page = text_of(guest.get(f"/bookings/{booking_id}?lang=en"))
    assert 'id="payment-processing"' in page
    assert "Payment processing" in page
    assert 'id="pay-processing-delayed"' in text_of(guest.get(f"/bookings/{booking_id}/pay"))
    with stripe_app.app_context(), pytest.raises(services.PaymentError):
        services.start_checkout(db.session.get(Booking, booking_id))  # no second charge
    _clean(stripe_app)


def test_a_delayed_hold_never_outlasts_check_in(stripe_app, fake_stripe, stripe_people):
    booking_id, _session = _processing(stripe_app, fake_stripe, stripe_people, days_ahead=3)
    with stripe_app.app_context():
        booking = db.session.get(Booking, booking_id)
        assert booking.expires_at == bookings.check_in_instant(booking)


def test_a_delayed_payment_succeeding_after_the_card_hold_confirms_without_refund(
    stripe_app, fake_stripe, stripe_people
):
    booking_id, session_id = _processing(stripe_app, fake_stripe, stripe_people)
    with stripe_app.app_context():
        assert bookings.expire_due(at=utcnow() + timedelta(days=3)) == 0
    session = fake_stripe.settle_delayed(session_id, succeeded=True)
    _deliver(stripe_app, "checkout.session.async_payment_succeeded", session, "evt_async_ok")
    with stripe_app.app_context():
        booking = db.session.get(Booking, booking_id)
        assert booking.state == BookingState.CONFIRMED
        assert booking.refund_total_ore == 0
        assert db.session.scalar(select(Payment.state)) == PaymentState.SUCCEEDED
        assert db.session.scalar(select(Refund.id)) is None
        assert db.session.scalar(select(Payout.state)) == PayoutState.SCHEDULED
    assert fake_stripe.calls("POST", "/v1/refunds") == []
    _clean(stripe_app)


def test_a_failed_delayed_payment_releases_the_nights(stripe_app, fake_stripe, stripe_people):
    booking_id, session_id = _processing(stripe_app, fake_stripe, stripe_people)
    session = fake_stripe.settle_delayed(session_id, succeeded=False)
    _deliver(stripe_app, "checkout.session.async_payment_failed", session, "evt_async_failed")
    with stripe_app.app_context():
        booking = db.session.get(Booking, booking_id)
        assert booking.state == BookingState.EXPIRED
        assert db.session.scalar(select(Payment.state)) == PaymentState.FAILED
        assert not bookings._only_own_nights(booking)  # no nights held any more
        assert ledger.account_balance(Account.CASH) == 0
    _clean(stripe_app)


# --- webhooks in any order ---------------------------------------------------------------------


def test_charge_refunded_before_checkout_completed_waits_then_applies(
    stripe_app, fake_stripe, stripe_people
):
    booking_id = _booking(stripe_app, stripe_people)
    session_id = _open_checkout(stripe_app, booking_id)
    session = fake_stripe.pay_session(session_id)
    charge = dict(fake_stripe.charge_of_session(session_id), amount_refunded=379_500)
    _deliver(stripe_app, "charge.refunded", charge, "evt_refunded_early")
    with stripe_app.app_context():
        assert _state_of("evt_refunded_early") == WebhookState.PENDING
        row = db.session.get(WebhookEvent, "evt_refunded_early")
        assert row.payload
        assert "evt_refunded_early" in row.payload
        assert db.session.get(Booking, booking_id).state == BookingState.PENDING_PAYMENT
    _deliver(stripe_app, "checkout.session.completed", session, "evt_completed_late")
    with stripe_app.app_context():
        assert _state_of("evt_refunded_early") == WebhookState.APPLIED
        assert db.session.get(WebhookEvent, "evt_refunded_early").payload is None
        note = db.session.scalar(
            select(BookingEvent.note).where(BookingEvent.note.contains("refunded in Stripe"))
        )
        assert charge["id"] in note
        payment = db.session.scalar(select(Payment))
        assert payment.charge_ref == charge["id"]
    _clean(stripe_app)


def test_the_jobs_apply_a_kept_event_once_it_can_be(stripe_app, fake_stripe, stripe_people):
    """The payment arrived some other way (the board, a lost delivery): `flask jobs run`."""
    booking_id = _booking(stripe_app, stripe_people)
    session_id = _open_checkout(stripe_app, booking_id)
    session = fake_stripe.pay_session(session_id)
    dispute = fake_stripe.dispute(session_id)
    _deliver(stripe_app, "charge.dispute.created", dispute, "evt_dispute_early")
    with stripe_app.app_context():
        assert webhooks.retry_pending() == 0  # still nothing to apply it to
        assert db.session.get(WebhookEvent, "evt_dispute_early").attempts == 2
        booking = db.session.get(Booking, booking_id)
        services.record_payment_succeeded(
            booking, checkout_ref=session["id"], provider_ref=session["payment_intent"]
        )
        db.session.commit()
    result = stripe_app.test_cli_runner().invoke(args=["jobs", "run", "--only", "retry-webhooks"])
    assert "retry-webhooks: 1" in result.output
    with stripe_app.app_context():
        assert _state_of("evt_dispute_early") == WebhookState.APPLIED
        assert db.session.scalar(select(Dispute.state)) == DisputeState.OPEN
        assert db.session.scalar(select(Payout.state)) == PayoutState.HELD
    _clean(stripe_app)


def test_dispute_created_before_checkout_completed(stripe_app, fake_stripe, stripe_people):
    booking_id = _booking(stripe_app, stripe_people)
    session_id = _open_checkout(stripe_app, booking_id)
    session = fake_stripe.pay_session(session_id)
    _deliver(stripe_app, "charge.dispute.created", fake_stripe.dispute(session_id), "evt_dp")
    with stripe_app.app_context():
        assert _state_of("evt_dp") == WebhookState.PENDING
    _deliver(stripe_app, "checkout.session.completed", session, "evt_paid_after_dp")
    with stripe_app.app_context():
        assert _state_of("evt_dp") == WebhookState.APPLIED
        assert db.session.scalar(select(Payout.state)) == PayoutState.HELD
        assert services.release_due_payouts(utcnow() + timedelta(days=90)) == 0
    _clean(stripe_app)


def test_dispute_closed_before_created(stripe_app, fake_stripe, stripe_people):
    booking_id = _booking(stripe_app, stripe_people)
    session = _pay(stripe_app, fake_stripe, booking_id)
    lost = fake_stripe.dispute(session["id"], status="lost")
    _deliver(stripe_app, "charge.dispute.closed", lost, "evt_closed_first")
    opened = fake_stripe.dispute(session["id"], status="needs_response")
    _deliver(stripe_app, "charge.dispute.created", opened, "evt_created_second")
    with stripe_app.app_context():
        dispute = db.session.scalar(select(Dispute))
        assert dispute.state == DisputeState.LOST  # the older event does not reopen it
        assert dispute.provider_status == "lost"
        # Lost before any payout: the host's payout shrank by the chargeback (all of it).
        assert db.session.scalar(select(Payout.state)) == PayoutState.CANCELLED
    _clean(stripe_app)


def test_async_succeeded_before_completed(stripe_app, fake_stripe, stripe_people):
    booking_id = _booking(stripe_app, stripe_people)
    session_id = _open_checkout(stripe_app, booking_id)
    unpaid = fake_stripe.pay_session(session_id, method="sepa_debit", delayed=True)
    paid = fake_stripe.settle_delayed(session_id, succeeded=True)
    _deliver(stripe_app, "checkout.session.async_payment_succeeded", paid, "evt_ok_first")
    _deliver(stripe_app, "checkout.session.completed", unpaid, "evt_completed_second")
    with stripe_app.app_context():
        assert db.session.get(Booking, booking_id).state == BookingState.CONFIRMED
        assert db.session.scalar(select(Payment.state)) == PaymentState.SUCCEEDED
    _clean(stripe_app)


def test_async_failed_before_completed(stripe_app, fake_stripe, stripe_people):
    booking_id = _booking(stripe_app, stripe_people)
    session_id = _open_checkout(stripe_app, booking_id)
    unpaid = fake_stripe.pay_session(session_id, method="sepa_debit", delayed=True)
    failed = fake_stripe.settle_delayed(session_id, succeeded=False)
    _deliver(stripe_app, "checkout.session.async_payment_failed", failed, "evt_failed_first")
    _deliver(stripe_app, "checkout.session.completed", unpaid, "evt_completed_after")
    with stripe_app.app_context():
        booking = db.session.get(Booking, booking_id)
        assert booking.state == BookingState.EXPIRED
        assert db.session.scalar(select(Payment.state)) == PaymentState.FAILED
    _clean(stripe_app)


def _pending_refund(application, fake_stripe, people) -> tuple[int, str, str]:
    fake_stripe.refund_status = "pending"
    booking_id = _booking(application, people)
    session = _pay(application, fake_stripe, booking_id)
    with application.app_context():
        booking = db.session.get(Booking, booking_id)
        host = db.session.get(User, people["host"])
        bookings.cancel_booking(booking, "host", host, reason="Vattenskada")
        db.session.commit()
        services.send_pending()
        refund = db.session.scalar(select(Refund))
    return refund.id, refund.provider_ref, session["id"]


def test_refund_failed_before_charge_refunded(stripe_app, fake_stripe, stripe_people, monkeypatch):
    refund_id, refund_ref, session_id = _pending_refund(stripe_app, fake_stripe, stripe_people)
    locked = []
    real_lock = webhooks.lock_for_change

    def recording(session, obj):
        locked.append(type(obj).__name__)
        return real_lock(session, obj)

    monkeypatch.setattr(webhooks, "lock_for_change", recording)
    failed = dict(fake_stripe.public(refund_ref), status="failed")
    _deliver(stripe_app, "refund.failed", failed, "evt_refund_failed_first")
    assert locked == ["Refund"]  # set to failed under the refund's row lock
    charge = fake_stripe.charge_of_session(session_id)  # a snapshot from before the failure
    _deliver(stripe_app, "charge.refunded", charge, "evt_charge_refunded_late")
    with stripe_app.app_context():
        assert db.session.get(Refund, refund_id).state == RefundState.FAILED
    _clean(stripe_app)


def test_refund_updated_succeeded_marks_the_refund_done(stripe_app, fake_stripe, stripe_people):
    refund_id, refund_ref, _session = _pending_refund(stripe_app, fake_stripe, stripe_people)
    done = dict(fake_stripe.public(refund_ref), status="succeeded")
    _deliver(stripe_app, "refund.updated", done, "evt_refund_done")
    with stripe_app.app_context():
        assert db.session.get(Refund, refund_id).state == RefundState.DONE
        assert ledger.account_balance(Account.GUEST_REFUND_PAYABLE) == 0
    _clean(stripe_app)


def test_account_updated_before_onboarding_committed(stripe_app, fake_stripe, stripe_people):
    ready = {
        "id": "acct_test_early",
        "object": "account",
        "details_submitted": True,
        "charges_enabled": False,
        "payouts_enabled": True,
    }
    _deliver(
        stripe_app,
        "account.updated",
        ready,
        "evt_acct_early",
        secret=CONNECT_SECRET,
        path="/webhooks/stripe-connect",
    )
    with stripe_app.app_context():
        assert _state_of("evt_acct_early") == WebhookState.PENDING
        db.session.add(
            HostPaymentAccount(user_id=stripe_people["host"], stripe_account_id="acct_test_early")
        )
        db.session.commit()
        assert webhooks.retry_pending() == 1
        assert db.session.get(HostPaymentAccount, stripe_people["host"]).payouts_enabled


# --- disputes ----------------------------------------------------------------------------------


def _paid_out(application, fake_stripe, people, **kwargs) -> tuple[int, dict]:
    """A stay paid, and its host paid 24 h after check-in."""
    _connect_host(application, people)
    booking_id = _booking(application, people, days_ahead=-2, nights=5, **kwargs)
    session = _pay(application, fake_stripe, booking_id)
    with application.app_context():
        assert services.release_due_payouts(utcnow()) == 1
        assert db.session.scalar(select(Payout.state)) == PayoutState.PAID
    return booking_id, session


def test_a_dispute_lost_after_the_payout(stripe_app, fake_stripe, stripe_people):
    booking_id, session = _paid_out(stripe_app, fake_stripe, stripe_people)
    with stripe_app.app_context():
        booking = db.session.get(Booking, booking_id)
        total, payout_ore = booking.total_ore, booking.host_payout_ore
        transfer_ref = db.session.scalar(select(Payout.provider_ref))
    opened = fake_stripe.dispute(session["id"])
    _deliver(stripe_app, "charge.dispute.created", opened, "evt_dp_open")
    # The host's share at stake was taken back from the connected account (after the commit).
    [reversal] = fake_stripe.calls("POST", f"/v1/transfers/{transfer_ref}/reversals")
    assert reversal.params["amount"] == str(payout_ore)
    assert reversal.idempotency_key == f"dispute-reversal-{opened['id']}"
    with stripe_app.app_context():
        dispute = db.session.scalar(select(Dispute))
        assert dispute.reversal_ref.startswith("trr_test_")
        assert ledger.account_balance(Account.HOST_PAYABLE, stripe_people["host"]) == -payout_ore
    _clean(stripe_app)

    lost = fake_stripe.dispute(session["id"], status="lost", fee=20_000)
    _deliver(stripe_app, "charge.dispute.closed", lost, "evt_dp_lost")
    with stripe_app.app_context():
        dispute = db.session.scalar(select(Dispute))
        assert dispute.state == DisputeState.LOST
        assert dispute.fee_ore == 20_000
        # The host bore the chargeback up to their payout; the coop the rest and the fee.
        assert ledger.account_balance(Account.HOST_PAYABLE, stripe_people["host"]) == 0
        assert ledger.account_balance(Account.OPERATING_COSTS) == total - payout_ore + 20_000
        # In: the payment and the host's share taken back; out: the payout, the chargeback
        # and the fee. The coop is down exactly the fee, its own fee revenue went back too.
        cash = total - payout_ore + payout_ore - (total + 20_000)
        assert ledger.account_balance(Account.CASH) == cash == -20_000
        closed = ledger.find_transaction(f"booking:{booking_id}:dispute:{lost['id']}:closed")
        assert closed is not None
        assert sum(e.amount_ore for e in closed.entries) == 0
        assert db.session.scalar(select(Payout.state)) == PayoutState.PAID
    # Nothing more is sent: the reversal stays, no transfer back.
    with stripe_app.app_context():
        assert services.send_pending() == 0
    assert [r.path for r in fake_stripe.calls("POST", "/v1/transfers")] == [
        "/v1/transfers",
        f"/v1/transfers/{transfer_ref}/reversals",
    ]
    _clean(stripe_app)
    board = stripe_app.test_client()
    login(board, "board@example.org")
    assert lost["id"] in text_of(board.get("/board/payments"))


def test_a_dispute_won_after_the_payout_gives_the_host_their_money_back(
    stripe_app, fake_stripe, stripe_people
):
    booking_id, session = _paid_out(stripe_app, fake_stripe, stripe_people)
    _deliver(stripe_app, "charge.dispute.created", fake_stripe.dispute(session["id"]), "evt_o")
    won = fake_stripe.dispute(session["id"], status="won")
    _deliver(stripe_app, "charge.dispute.closed", won, "evt_won")
    transfers = fake_stripe.calls("POST", "/v1/transfers")
    returned = [t for t in transfers if t.idempotency_key == f"dispute-return-{won['id']}"]
    assert len(returned) == 1
    with stripe_app.app_context():
        booking = db.session.get(Booking, booking_id)
        assert returned[0].params["amount"] == str(booking.host_payout_ore)
        dispute = db.session.scalar(select(Dispute))
        assert dispute.state == DisputeState.WON
        assert dispute.returned_ref.startswith("tr_test_")
        assert ledger.account_balance(Account.HOST_PAYABLE, stripe_people["host"]) == 0
        assert ledger.account_balance(Account.OPERATING_COSTS) == 0  # the fee came back
        assert ledger.account_balance(Account.CASH) == booking.total_ore - booking.host_payout_ore
    _clean(stripe_app)


def test_a_dispute_before_the_payout_holds_it_until_won(stripe_app, fake_stripe, stripe_people):
    _connect_host(stripe_app, stripe_people)
    booking_id = _booking(stripe_app, stripe_people, days_ahead=-2, nights=5)
    session = _pay(stripe_app, fake_stripe, booking_id)
    _deliver(stripe_app, "charge.dispute.created", fake_stripe.dispute(session["id"]), "evt_h")
    with stripe_app.app_context():
        assert db.session.scalar(select(Payout.state)) == PayoutState.HELD
        assert services.release_due_payouts(utcnow()) == 0
    assert fake_stripe.calls("POST", "/v1/transfers") == []
    _clean(stripe_app)
    won = fake_stripe.dispute(session["id"], status="won")
    _deliver(stripe_app, "charge.dispute.closed", won, "evt_h_won")
    with stripe_app.app_context():
        assert db.session.scalar(select(Payout.state)) == PayoutState.SCHEDULED
        assert services.release_due_payouts(utcnow()) == 1
        assert db.session.scalar(select(Payout.state)) == PayoutState.PAID
    _clean(stripe_app)


def test_a_partial_dispute_lost_before_the_payout(stripe_app, fake_stripe, stripe_people):
    """100 kr disputed of a stay not yet paid out: the host is paid 100 kr less."""
    _connect_host(stripe_app, stripe_people)
    booking_id = _booking(stripe_app, stripe_people, days_ahead=-2, nights=5)
    session = _pay(stripe_app, fake_stripe, booking_id)
    lost = fake_stripe.dispute(session["id"], status="lost", amount=10_000, fee=0)
    _deliver(stripe_app, "charge.dispute.closed", lost, "evt_partial")
    with stripe_app.app_context():
        booking = db.session.get(Booking, booking_id)
        payout = db.session.scalar(select(Payout))
        assert payout.state == PayoutState.SCHEDULED
        assert payout.amount_ore == booking.host_payout_ore - 10_000
        expected = str(payout.amount_ore)
        assert services.release_due_payouts(utcnow()) == 1
        assert ledger.account_balance(Account.HOST_PAYABLE, stripe_people["host"]) == 0
        assert ledger.account_balance(Account.OPERATING_COSTS) == 0
    [transfer] = fake_stripe.calls("POST", "/v1/transfers")
    assert transfer.params["amount"] == expected
    _clean(stripe_app)


# --- release-payouts ---------------------------------------------------------------------------


def _three_due(application, fake_stripe, people) -> list[int]:
    _connect_host(application, people)
    ids = []
    for n in range(3):
        booking_id = _booking(application, people, days_ahead=-10 + 3 * n, nights=2)
        _pay(application, fake_stripe, booking_id, event_id=f"evt_paid_{n}")
        ids.append(booking_id)
    return ids


def test_one_payout_failing_in_any_way_does_not_stop_the_others(
    stripe_app, fake_stripe, stripe_people, monkeypatch, caplog
):
    ids = _three_due(stripe_app, fake_stripe, stripe_people)
    with stripe_app.app_context():
        provider = get_provider()
        real = provider.transfer_payout

        def broken(payout, payment, account_id):
            if payout.booking_id == ids[1]:
                raise KeyError("a bug, not a provider error")
            return real(payout, payment, account_id)

        monkeypatch.setattr(provider, "transfer_payout", broken)
    result = stripe_app.test_cli_runner().invoke(args=["jobs", "run", "--only", "release-payouts"])
    with stripe_app.app_context():
        failed = db.session.scalar(select(Payout).where(Payout.booking_id == ids[1]))
        assert f"release-payouts: 2 (1 failed, retried next run: payout {failed.id})" in (
            result.output
        )
        states = dict(db.session.execute(select(Payout.booking_id, Payout.state)).all())
        assert states == {ids[0]: "paid", ids[1]: "owed", ids[2]: "paid"}
    assert "guest@example.org" not in caplog.text
    monkeypatch.setattr(provider, "transfer_payout", real)
    result = stripe_app.test_cli_runner().invoke(args=["jobs", "run", "--only", "release-payouts"])
    assert "release-payouts: 1\n" in result.output
    with stripe_app.app_context():
        assert db.session.scalar(select(Payout.state).where(Payout.booking_id == ids[1])) == "paid"
    _clean(stripe_app)


def test_no_lock_is_held_while_stripe_answers_a_transfer(stripe_app, fake_stripe, stripe_people):
    """The payout is claimed and committed before the call: another connection sees it being
    sent, and could write meanwhile (on SQLite the write lock is free)."""
    booking_id = _three_due(stripe_app, fake_stripe, stripe_people)[0]
    seen = []
    answer = fake_stripe._answer

    def watching(req):
        if req.path == "/v1/transfers":
            with db.engine.connect() as other:
                if other.dialect.name == "sqlite":
                    other.exec_driver_sql("PRAGMA busy_timeout = 0")
                state = other.execute(
                    text("SELECT state FROM payouts WHERE booking_id = :b"), {"b": booking_id}
                ).scalar()
                other.execute(text("UPDATE users SET name = name WHERE id = 0"))  # a writer
                other.commit()
                seen.append(state)
        return answer(req)

    fake_stripe._answer = watching
    with stripe_app.app_context():
        services.release_due_payouts(utcnow())
    assert seen[0] == PayoutState.SENDING
    _clean(stripe_app)


def test_a_stale_claim_is_sent_again_with_the_same_key(stripe_app, fake_stripe, stripe_people):
    """A runner died after claiming: after the timeout the next run sends it (Stripe replays
    a transfer that was made)."""
    booking_id = _three_due(stripe_app, fake_stripe, stripe_people)[0]
    with stripe_app.app_context():
        db.session.execute(
            Payout.__table__.update()
            .where(Payout.booking_id == booking_id)
            .values(state=PayoutState.SENDING, claimed_at=utcnow() - timedelta(minutes=11))
        )
        db.session.commit()
        services.release_due_payouts(utcnow())
        assert db.session.scalar(select(Payout.state).where(Payout.booking_id == booking_id)) == (
            PayoutState.PAID
        )
    _clean(stripe_app)


def _during_transfer(fake_stripe, action):
    """Run `action` while Stripe is answering the (first) transfer request, from another
    thread (another request, with its own session and connection, as in production)."""
    answer = fake_stripe._answer
    done = []

    def hooked(req):
        if req.path == "/v1/transfers" and not done:
            worker = threading.Thread(target=lambda: done.append(action()))
            worker.start()
            worker.join(30)
        return answer(req)

    fake_stripe._answer = hooked
    return done


def test_a_cancellation_while_the_payout_is_being_sent(stripe_app, fake_stripe, stripe_people):
    """The guest leaves early while the transfer is on its way: the refund leaves the payout
    to its sender, who then takes the refunded nights back."""
    _connect_host(stripe_app, stripe_people)
    booking_id = _booking(stripe_app, stripe_people, days_ahead=-2, nights=5)
    _pay(stripe_app, fake_stripe, booking_id)
    guest = stripe_app.test_client()
    login(guest, "guest@example.org")

    def cancel():
        from tests.helpers import post_form

        return post_form(guest, f"/bookings/{booking_id}/cancel", {}).status_code

    done = _during_transfer(fake_stripe, cancel)
    with stripe_app.app_context():
        assert services.release_due_payouts(utcnow()) == 1
        services.send_pending()
        db.session.commit()
        booking = db.session.get(Booking, booking_id)
        payout = db.session.scalar(select(Payout))
        host_part = booking.refund_nights_ore + booking.refund_cleaning_ore
        assert host_part > 0
        assert payout.state == PayoutState.REVERSED
        assert payout.amount_ore == booking.host_payout_ore - host_part
        assert payout.reversal_ref is not None
        assert db.session.scalar(select(Refund.state)) == RefundState.DONE
        assert ledger.account_balance(Account.HOST_PAYABLE, stripe_people["host"]) == 0
    assert done == [303]
    _clean(stripe_app)


def test_a_dispute_while_the_payout_is_being_sent(stripe_app, fake_stripe, stripe_people):
    _connect_host(stripe_app, stripe_people)
    booking_id = _booking(stripe_app, stripe_people, days_ahead=-2, nights=5)
    session = _pay(stripe_app, fake_stripe, booking_id)
    opened = fake_stripe.dispute(session["id"])
    done = _during_transfer(
        fake_stripe,
        lambda: _deliver(stripe_app, "charge.dispute.created", opened, "evt_dp_sending"),
    )
    with stripe_app.app_context():
        assert services.release_due_payouts(utcnow()) == 1
        services.send_pending()
        db.session.commit()
        payout = db.session.scalar(select(Payout))
        dispute = db.session.scalar(select(Dispute))
        assert payout.state == PayoutState.PAID
        assert dispute.reversal_ore == payout.amount_ore
        assert dispute.reversal_ref is not None
    assert done
    _clean(stripe_app)


def test_a_refund_is_claimed_and_committed_before_stripe_is_called(
    stripe_app, fake_stripe, stripe_people
):
    booking_id = _booking(stripe_app, stripe_people)
    _pay(stripe_app, fake_stripe, booking_id)
    seen = []
    answer = fake_stripe._answer

    def watching(req):
        if req.path == "/v1/refunds":
            with db.engine.connect() as other:
                seen.append(
                    other.execute(
                        text("SELECT claimed_at IS NOT NULL FROM refunds WHERE booking_id = :b"),
                        {"b": booking_id},
                    ).scalar()
                )
        return answer(req)

    fake_stripe._answer = watching
    with stripe_app.app_context():
        booking = db.session.get(Booking, booking_id)
        host = db.session.get(User, stripe_people["host"])
        bookings.cancel_booking(booking, "host", host, reason="Stormskada")
        db.session.commit()
        services.send_pending()
        refund = db.session.scalar(select(Refund))
        assert refund.state == RefundState.DONE
        assert refund.claimed_at is None
    assert seen in ([True], [1])
    _clean(stripe_app)

"""Stripe, offline: the real `stripe` library over a fake HTTP transport (DESIGN §7).

Checkout parameters, signed webhooks (bad signature, duplicates, out-of-order events), payouts
24 h after check-in, and refunds that reverse a transfer already paid.
"""

from __future__ import annotations

import json
import time
from datetime import timedelta

import pytest
import stripe
from sqlalchemy import func, select

from rentalcoop.accounts.models import User
from rentalcoop.bookings import services as bookings
from rentalcoop.bookings.cancellation import CancelledBy
from rentalcoop.bookings.models import Booking, BookingEvent, BookingState
from rentalcoop.db import utcnow
from rentalcoop.extensions import db
from rentalcoop.ledger import services as ledger
from rentalcoop.ledger.models import Account, LedgerTransaction
from rentalcoop.listings.models import Listing
from rentalcoop.payments import services
from rentalcoop.payments.models import (
    HostPaymentAccount,
    Payment,
    PaymentState,
    Payout,
    PayoutState,
    Refund,
    RefundState,
    WebhookEvent,
)
from tests import factories
from tests.helpers import login, post_form, text_of
from tests.payments.conftest import CONNECT_SECRET, WEBHOOK_SECRET
from tests.payments.fake_stripe import event, signature

# --- helpers ---------------------------------------------------------------------------------------


def _booking(application, people, *, days_ahead=30, nights=3, state="pending_payment"):
    with application.app_context():
        booking = factories.booking(
            listing=db.session.get(Listing, people["listing"]),
            guest=db.session.get(User, people["guest"]),
            check_in=utcnow().date() + timedelta(days=days_ahead),
            nights=nights,
            state=state,
        )
        db.session.commit()
        return booking.id


def _open_checkout(application, booking_id) -> str:
    """What the pay button does: a Checkout Session for the booking (its id is returned)."""
    with application.app_context():
        booking = db.session.get(Booking, booking_id)
        services.start_checkout(booking)
        db.session.commit()
        return db.session.scalar(
            select(Payment.checkout_ref)
            .where(Payment.booking_id == booking_id)
            .order_by(Payment.id.desc())
        )


def _post(client, payload: str, *, secret=WEBHOOK_SECRET, path="/webhooks/stripe", header=None):
    return client.post(
        path,
        data=payload.encode(),
        headers={
            "Stripe-Signature": header if header is not None else signature(payload, secret),
            "Content-Type": "application/json",
        },
    )


def _pay(application, fake_stripe, booking_id, *, event_id="evt_paid"):
    """Open a checkout, let the guest pay it, and deliver `checkout.session.completed`."""
    session_id = _open_checkout(application, booking_id)
    session = fake_stripe.pay_session(session_id)
    payload = event(
        "checkout.session.completed", fake_stripe.public(session["id"]), event_id=event_id
    )
    response = _post(application.test_client(), payload)
    assert response.status_code == 200, text_of(response)
    return session


def _connect_host(application, people, *, ready=True) -> str:
    with application.app_context():
        db.session.add(
            HostPaymentAccount(
                user_id=people["host"],
                stripe_account_id="acct_test_host",
                details_submitted=ready,
                charges_enabled=ready,
                payouts_enabled=ready,
            )
        )
        db.session.commit()
    return "acct_test_host"


def _count(model, *conditions) -> int:
    return db.session.scalar(select(func.count()).select_from(model).where(*conditions))


# --- Checkout ----------------------------------------------------------------------------------------


def test_checkout_session_parameters(stripe_app, fake_stripe, stripe_people):
    booking_id = _booking(stripe_app, stripe_people)
    client = stripe_app.test_client()
    login(client, "guest@example.org")
    before = utcnow()

    page = client.get(f"/bookings/{booking_id}/pay")
    assert page.status_code == 200
    assert 'id="pay-card"' in text_of(page)
    response = post_form(client, f"/bookings/{booking_id}/pay", {})

    assert response.status_code == 303
    [call] = fake_stripe.calls("POST", "/v1/checkout/sessions")
    with stripe_app.app_context():
        booking = db.session.get(Booking, booking_id)
        payment = db.session.scalar(select(Payment).where(Payment.booking_id == booking_id))
        params = call.params
        assert params["mode"] == "payment"
        assert params["line_items[0][price_data][currency]"] == "sek"
        assert params["line_items[0][price_data][unit_amount]"] == str(booking.total_ore)
        assert params["line_items[0][quantity]"] == "1"
        assert params["payment_intent_data[transfer_group]"] == f"booking-{booking_id}"
        assert params["payment_intent_data[metadata][booking_id]"] == str(booking_id)
        assert params["metadata[booking_id]"] == str(booking_id)
        assert params["client_reference_id"] == str(booking_id)
        assert params["success_url"].endswith(f"/bookings/{booking_id}/pay?checkout=done")
        assert params["cancel_url"].endswith(f"/bookings/{booking_id}/pay")
        # Stripe's minimum is 30 minutes after it creates the session: a minute of margin.
        lifetime = int(params["expires_at"]) - before.timestamp()
        assert 30 * 60 < lifetime <= 32 * 60
        assert call.idempotency_key == f"checkout-booking-{booking_id}-{payment.id}"
        assert call.headers["Authorization"] == "Bearer sk_test_rentalcoop"
        assert "Stripe-Version" in call.headers
        # The session is recorded and the guest goes to Stripe's page.
        assert payment.state == PaymentState.PENDING
        assert payment.amount_ore == booking.total_ore
        assert response.location == payment.checkout_url
        assert payment.checkout_ref.startswith("cs_test_")
        # The hold lasts as long as the session can be paid.
        assert booking.expires_at.timestamp() == int(params["expires_at"])

    # Back on the pay page a second time: the open session is reused, Stripe is not asked again.
    again = post_form(client, f"/bookings/{booking_id}/pay", {})
    assert again.status_code == 303
    assert again.location == response.location
    assert len(fake_stripe.calls("POST", "/v1/checkout/sessions")) == 1


def test_checkout_amount_is_total_in_ore(stripe_app, fake_stripe, stripe_people):
    """1 000 kr a night × 3 + 300 kr cleaning + 15 % fee = 3 795,00 kr = 379 500 öre."""
    booking_id = _booking(stripe_app, stripe_people)
    _open_checkout(stripe_app, booking_id)
    [call] = fake_stripe.calls("POST", "/v1/checkout/sessions")
    assert call.params["line_items[0][price_data][unit_amount]"] == "379500"


def test_stripe_outage_sends_the_guest_back_with_the_reason(stripe_app, fake_stripe, stripe_people):
    fake_stripe.fail_paths.add("/v1/checkout/sessions")
    booking_id = _booking(stripe_app, stripe_people)
    client = stripe_app.test_client()
    login(client, "guest@example.org")
    client.get("/?lang=en")
    response = post_form(client, f"/bookings/{booking_id}/pay", {})
    assert response.status_code == 303
    assert response.location.endswith(f"/bookings/{booking_id}")
    assert "could not be reached" in text_of(client.get(response.location))
    with stripe_app.app_context():
        [payment] = db.session.scalars(select(Payment)).all()
        assert payment.state == PaymentState.FAILED  # the next click starts a new attempt
        assert db.session.get(Booking, booking_id).state == BookingState.PENDING_PAYMENT


def test_no_new_session_once_the_hold_has_lapsed(stripe_app, fake_stripe, stripe_people):
    booking_id = _booking(stripe_app, stripe_people)
    with stripe_app.app_context():
        booking = db.session.get(Booking, booking_id)
        booking.expires_at = utcnow() - timedelta(seconds=1)
        db.session.commit()
        with pytest.raises(services.PaymentError):
            services.start_checkout(booking)
    assert fake_stripe.requests == []


def test_an_accepted_request_keeps_its_day_when_one_session_expires(
    stripe_app, fake_stripe, stripe_people
):
    """A request the host accepted may be paid within 24 h, longer than a session lives."""
    booking_id = _booking(stripe_app, stripe_people)
    with stripe_app.app_context():
        booking = db.session.get(Booking, booking_id)
        booking.expires_at = utcnow() + timedelta(hours=20)
        db.session.commit()
    session_id = _open_checkout(stripe_app, booking_id)
    expired = dict(fake_stripe.public(session_id), status="expired")
    payload = event("checkout.session.expired", expired, event_id="evt_one_session")
    assert _post(stripe_app.test_client(), payload).status_code == 200
    with stripe_app.app_context():
        assert db.session.get(Booking, booking_id).state == BookingState.PENDING_PAYMENT
        assert db.session.scalar(select(Payment.state)) == PaymentState.EXPIRED
    # Paying again opens a fresh session.
    second = _open_checkout(stripe_app, booking_id)
    assert second != session_id
    keys = [r.idempotency_key for r in fake_stripe.calls("POST", "/v1/checkout/sessions")]
    assert keys == [f"checkout-booking-{booking_id}-1", f"checkout-booking-{booking_id}-2"]


# --- Webhooks ------------------------------------------------------------------------------------


def test_completed_checkout_confirms_and_schedules_the_payout(
    stripe_app, fake_stripe, stripe_people
):
    booking_id = _booking(stripe_app, stripe_people)
    session = _pay(stripe_app, fake_stripe, booking_id)
    with stripe_app.app_context():
        booking = db.session.get(Booking, booking_id)
        assert booking.state == BookingState.CONFIRMED
        payment = db.session.scalar(select(Payment).where(Payment.booking_id == booking_id))
        assert payment.state == PaymentState.SUCCEEDED
        assert payment.payment_ref == session["payment_intent"]
        payout = db.session.scalar(select(Payout).where(Payout.booking_id == booking_id))
        assert payout.state == PayoutState.SCHEDULED
        assert payout.amount_ore == booking.host_payout_ore
        check_in = bookings.check_in_instant(booking)
        assert payout.due_at == check_in + timedelta(hours=24)
        assert ledger.find_transaction(f"booking:{booking_id}:payment") is not None
        [event_row] = db.session.scalars(select(WebhookEvent)).all()
        assert (event_row.event_id, event_row.type) == ("evt_paid", "checkout.session.completed")


@pytest.mark.parametrize(
    "header",
    [
        "",
        "t=1,v1=deadbeef",
        "garbage",
    ],
)
def test_bad_signature_is_400_and_changes_nothing(stripe_app, fake_stripe, stripe_people, header):
    booking_id = _booking(stripe_app, stripe_people)
    session_id = _open_checkout(stripe_app, booking_id)
    payload = event(
        "checkout.session.completed", fake_stripe.pay_session(session_id), event_id="evt_forged"
    )
    response = _post(stripe_app.test_client(), payload, header=header)
    assert response.status_code == 400
    with stripe_app.app_context():
        assert db.session.get(Booking, booking_id).state == BookingState.PENDING_PAYMENT
        assert _count(WebhookEvent) == 0


def test_a_stale_signature_is_400(stripe_app, fake_stripe, stripe_people):
    """A replayed delivery: correctly signed, but more than five minutes old."""
    booking_id = _booking(stripe_app, stripe_people)
    payload = event("checkout.session.completed", {"id": "cs_old"}, event_id="evt_old")
    old = stripe.WebhookSignature.generate_signature_header(
        payload, WEBHOOK_SECRET, timestamp=int(time.time()) - 3600
    )
    assert _post(stripe_app.test_client(), payload, header=old).status_code == 400
    with stripe_app.app_context():
        assert db.session.get(Booking, booking_id).state == BookingState.PENDING_PAYMENT
        assert _count(WebhookEvent) == 0


def test_signed_with_another_secret_or_tampered_is_400(stripe_app, fake_stripe, stripe_people):
    booking_id = _booking(stripe_app, stripe_people)
    session_id = _open_checkout(stripe_app, booking_id)
    payload = event("checkout.session.completed", fake_stripe.pay_session(session_id))
    client = stripe_app.test_client()
    # The Connect endpoint's secret does not open the account endpoint.
    assert _post(client, payload, secret=CONNECT_SECRET).status_code == 400
    # A body changed after signing (e.g. re-serialised) no longer matches.
    header = signature(payload, WEBHOOK_SECRET)
    tampered = json.dumps(json.loads(payload), indent=1)
    assert _post(client, tampered, header=header).status_code == 400
    with stripe_app.app_context():
        assert db.session.get(Booking, booking_id).state == BookingState.PENDING_PAYMENT


def test_the_same_event_twice_is_applied_once(stripe_app, fake_stripe, stripe_people):
    booking_id = _booking(stripe_app, stripe_people)
    session_id = _open_checkout(stripe_app, booking_id)
    payload = event(
        "checkout.session.completed", fake_stripe.pay_session(session_id), event_id="evt_twice"
    )
    client = stripe_app.test_client()
    first = _post(client, payload)
    second = _post(client, payload)
    assert first.status_code == second.status_code == 200
    assert first.get_json() == {"received": True, "duplicate": False}
    assert second.get_json() == {"received": True, "duplicate": True}
    with stripe_app.app_context():
        assert _count(WebhookEvent) == 1
        assert _count(BookingEvent, BookingEvent.to_state == BookingState.CONFIRMED) == 1
        assert _count(Payout) == 1
        assert _count(LedgerTransaction, LedgerTransaction.booking_id == booking_id) == 1
        assert _count(Payment, Payment.state == PaymentState.SUCCEEDED) == 1


def test_expired_after_completed_changes_nothing(stripe_app, fake_stripe, stripe_people):
    booking_id = _booking(stripe_app, stripe_people)
    session = _pay(stripe_app, fake_stripe, booking_id)
    expired = dict(fake_stripe.public(session["id"]), status="expired")
    response = _post(
        stripe_app.test_client(),
        event("checkout.session.expired", expired, event_id="evt_late_expiry"),
    )
    assert response.status_code == 200
    with stripe_app.app_context():
        booking = db.session.get(Booking, booking_id)
        assert booking.state == BookingState.CONFIRMED
        assert db.session.scalar(select(Payment.state)) == PaymentState.SUCCEEDED
        assert _count(BookingEvent, BookingEvent.booking_id == booking_id) == 2  # made, confirmed


def test_expired_checkout_releases_the_hold(stripe_app, fake_stripe, stripe_people):
    booking_id = _booking(stripe_app, stripe_people)
    session_id = _open_checkout(stripe_app, booking_id)
    expired = dict(fake_stripe.public(session_id), status="expired")
    response = _post(
        stripe_app.test_client(), event("checkout.session.expired", expired, event_id="evt_exp")
    )
    assert response.status_code == 200
    with stripe_app.app_context():
        assert db.session.get(Booking, booking_id).state == BookingState.EXPIRED
        assert db.session.scalar(select(Payment.state)) == PaymentState.EXPIRED


def test_payment_after_the_hold_ended_is_refunded_in_full(stripe_app, fake_stripe, stripe_people):
    booking_id = _booking(stripe_app, stripe_people)
    session_id = _open_checkout(stripe_app, booking_id)
    with stripe_app.app_context():
        booking = db.session.get(Booking, booking_id)
        bookings.expire_booking(booking, actor_kind="system")
        db.session.commit()
    session = fake_stripe.pay_session(session_id)
    payload = event("checkout.session.completed", fake_stripe.public(session["id"]))
    assert _post(stripe_app.test_client(), payload).status_code == 200
    [call] = fake_stripe.calls("POST", "/v1/refunds")
    with stripe_app.app_context():
        booking = db.session.get(Booking, booking_id)
        assert booking.state == BookingState.EXPIRED
        assert call.params["payment_intent"] == session["payment_intent"]
        assert call.params["amount"] == str(booking.total_ore)
        assert call.idempotency_key == f"refund-booking-{booking_id}"
        refund = db.session.scalar(select(Refund))
        assert refund.state == RefundState.DONE
        assert _count(Payout) == 0
        assert ledger.account_balance(Account.CASH) == 0


def test_pending_refund_is_done_when_stripe_says_charge_refunded(
    stripe_app, fake_stripe, stripe_people
):
    fake_stripe.refund_status = "pending"
    booking_id = _booking(stripe_app, stripe_people)
    session = _pay(stripe_app, fake_stripe, booking_id)
    with stripe_app.app_context():
        booking = db.session.get(Booking, booking_id)
        host = db.session.get(User, stripe_people["host"])
        bookings.cancel_booking(booking, CancelledBy.HOST, host, reason="Vattenläcka")
        db.session.commit()
        services.send_pending()
        refund = db.session.scalar(select(Refund))
        assert refund.state == RefundState.OWED
        assert refund.provider_ref.startswith("re_test_")
    charge = fake_stripe.public(fake_stripe.objects[session["payment_intent"]]["latest_charge"])
    payload = event("charge.refunded", charge, event_id="evt_refunded")
    client = stripe_app.test_client()
    assert _post(client, payload).status_code == 200
    assert _post(client, payload).get_json()["duplicate"] is True
    with stripe_app.app_context():
        refund = db.session.scalar(select(Refund))
        assert refund.state == RefundState.DONE
        assert ledger.find_transaction(f"booking:{booking_id}:refund-paid") is not None
    # Sent once: the repeated job finds nothing owed.
    with stripe_app.app_context():
        assert services.send_pending() == 0
    assert len(fake_stripe.calls("POST", "/v1/refunds")) == 1


def test_dispute_is_noted_for_the_board(stripe_app, fake_stripe, stripe_people):
    booking_id = _booking(stripe_app, stripe_people)
    session = _pay(stripe_app, fake_stripe, booking_id)
    charge_id = fake_stripe.objects[session["payment_intent"]]["latest_charge"]
    dispute = {
        "id": "dp_test_1",
        "object": "dispute",
        "amount": 379_500,
        "charge": charge_id,
        "payment_intent": session["payment_intent"],
        "reason": "fraudulent",
        "status": "needs_response",
    }
    payload = event("charge.dispute.created", dispute, event_id="evt_dispute")
    assert _post(stripe_app.test_client(), payload).status_code == 200
    with stripe_app.app_context():
        note = db.session.scalar(select(BookingEvent.note).where(BookingEvent.note != ""))
        assert "dp_test_1" in note
        assert "fraudulent" in note
    board = stripe_app.test_client()
    login(board, "board@example.org")
    assert "dp_test_1" in text_of(board.get("/board/payments"))


def test_unknown_events_are_recorded_and_ignored(stripe_app, stripe_people):
    payload = event("customer.created", {"id": "cus_1", "object": "customer"}, event_id="evt_x")
    response = _post(stripe_app.test_client(), payload)
    assert response.status_code == 200
    with stripe_app.app_context():
        assert _count(WebhookEvent) == 1


def test_webhooks_are_not_found_on_the_manual_provider(client):
    assert _post(client, event("customer.created", {"id": "c"})).status_code == 404


# --- Connected accounts ------------------------------------------------------------------------


def test_host_onboards_through_account_links(stripe_app, fake_stripe, stripe_people):
    client = stripe_app.test_client()
    login(client, "host@example.org")
    page = client.get("/host/payouts")
    assert page.status_code == 200
    assert 'id="onboard"' in text_of(page)
    response = post_form(client, "/host/payouts/onboarding", {}, form_url="/host/payouts")
    assert response.status_code == 303
    [created] = fake_stripe.calls("POST", "/v1/accounts")
    assert created.params["country"] == "SE"
    assert created.params["controller[stripe_dashboard][type]"] == "express"
    assert created.params["capabilities[transfers][requested]"] == "true"
    # Transfers alone, under the recipient service agreement (README, "Connect").
    assert "capabilities[card_payments][requested]" not in created.params
    assert created.params["tos_acceptance[service_agreement]"] == "recipient"
    assert created.idempotency_key == f"account-host-{stripe_people['host']}"
    [link] = fake_stripe.calls("POST", "/v1/account_links")
    assert link.params["type"] == "account_onboarding"
    assert link.params["return_url"].endswith("/host/payouts?onboarding=done")
    assert link.params["refresh_url"].endswith("/host/payouts/onboarding/refresh")
    assert response.location.startswith("https://connect.stripe.test/setup/e/")

    with stripe_app.app_context():
        account = db.session.get(HostPaymentAccount, stripe_people["host"])
        account_id = account.stripe_account_id
        assert not account.payouts_enabled
    # A second visit continues with the same account.
    post_form(client, "/host/payouts/onboarding", {}, form_url="/host/payouts")
    assert len(fake_stripe.calls("POST", "/v1/accounts")) == 1

    # Stripe tells the Connect endpoint when the account can receive payouts.
    ready = dict(
        fake_stripe.public(account_id),
        details_submitted=True,
        charges_enabled=True,
        payouts_enabled=True,
    )
    payload = event("account.updated", ready, event_id="evt_acct", account=account_id)
    # Signed for the Connect endpoint: the account endpoint's own secret refuses it.
    assert _post(client, payload, secret=CONNECT_SECRET).status_code == 400
    response = _post(client, payload, secret=CONNECT_SECRET, path="/webhooks/stripe-connect")
    assert response.status_code == 200
    with stripe_app.app_context():
        account = db.session.get(HostPaymentAccount, stripe_people["host"])
        assert account.payouts_enabled
        assert account.details_submitted
    assert 'id="onboard"' not in text_of(client.get("/host/payouts"))


def test_return_from_onboarding_asks_stripe_for_the_flags(stripe_app, fake_stripe, stripe_people):
    client = stripe_app.test_client()
    login(client, "host@example.org")
    post_form(client, "/host/payouts/onboarding", {}, form_url="/host/payouts")
    with stripe_app.app_context():
        account_id = db.session.get(HostPaymentAccount, stripe_people["host"]).stripe_account_id
    fake_stripe.objects[account_id]["payouts_enabled"] = True
    client.get("/host/payouts?onboarding=done")
    with stripe_app.app_context():
        assert db.session.get(HostPaymentAccount, stripe_people["host"]).payouts_enabled


# --- Payouts and refunds -------------------------------------------------------------------------


def test_payout_transfers_24_hours_after_check_in(stripe_app, fake_stripe, stripe_people):
    account_id = _connect_host(stripe_app, stripe_people)
    booking_id = _booking(stripe_app, stripe_people)
    session = _pay(stripe_app, fake_stripe, booking_id)
    with stripe_app.app_context():
        payout = db.session.scalar(select(Payout))
        due = payout.due_at
        assert services.release_due_payouts(due - timedelta(seconds=1)) == 0
        assert fake_stripe.calls("POST", "/v1/transfers") == []
        assert services.release_due_payouts(due) == 1
        assert services.release_due_payouts(due + timedelta(hours=1)) == 0  # once
        booking = db.session.get(Booking, booking_id)
        [call] = fake_stripe.calls("POST", "/v1/transfers")
        charge_id = fake_stripe.objects[session["payment_intent"]]["latest_charge"]
        assert call.params == {
            "amount": str(booking.host_payout_ore),
            "currency": "sek",
            "destination": account_id,
            "transfer_group": f"booking-{booking_id}",
            "source_transaction": charge_id,
            "metadata[booking_id]": str(booking_id),
            "metadata[payout_id]": str(payout.id),
        }
        assert call.idempotency_key == f"payout-booking-{booking_id}"
        payout = db.session.scalar(select(Payout))
        assert payout.state == PayoutState.PAID
        [transfer] = [o for o in fake_stripe.objects.values() if o["object"] == "transfer"]
        assert payout.provider_ref == transfer["id"]
        assert ledger.account_balance(Account.HOST_PAYABLE, stripe_people["host"]) == 0


def test_payout_waits_for_a_host_without_payout_details(stripe_app, fake_stripe, stripe_people):
    booking_id = _booking(stripe_app, stripe_people)
    _pay(stripe_app, fake_stripe, booking_id)
    with stripe_app.app_context():
        due = db.session.scalar(select(Payout.due_at))
        assert services.release_due_payouts(due) == 1
        assert db.session.scalar(select(Payout.state)) == PayoutState.OWED
        assert fake_stripe.calls("POST", "/v1/transfers") == []
    client = stripe_app.test_client()
    login(client, "host@example.org")
    assert "Waiting for your payout details" in text_of(client.get("/host/payouts?lang=en"))
    _connect_host(stripe_app, stripe_people)
    with stripe_app.app_context():
        assert services.release_due_payouts(due) == 1
        assert db.session.scalar(select(Payout.state)) == PayoutState.PAID


def test_a_repeated_transfer_is_harmless(stripe_app, fake_stripe, stripe_people):
    """A crash after Stripe's answer but before our commit: the same key replays the transfer."""
    _connect_host(stripe_app, stripe_people)
    booking_id = _booking(stripe_app, stripe_people)
    _pay(stripe_app, fake_stripe, booking_id)
    with stripe_app.app_context():
        payout = db.session.scalar(select(Payout))
        from rentalcoop.payments.providers import get_provider

        payment = services.succeeded_payment(payout.booking)
        first = get_provider().transfer_payout(payout, payment, "acct_test_host")
        db.session.rollback()  # the "crash": nothing of it was committed
        assert services.release_due_payouts(payout.due_at) == 1
        payout = db.session.scalar(select(Payout))
        assert payout.provider_ref == first.ref
    transfers = [o for o in fake_stripe.objects.values() if o["object"] == "transfer"]
    assert len(transfers) == 1


def test_refund_after_payout_reverses_the_transfer_first(stripe_app, fake_stripe, stripe_people):
    """A guest leaves after two of five nights (flexible): the host gave back the nights that
    were refunded, so that part of the transfer is reversed before the guest is refunded."""
    _connect_host(stripe_app, stripe_people)
    booking_id = _booking(stripe_app, stripe_people, days_ahead=-2, nights=5)
    _pay(stripe_app, fake_stripe, booking_id)
    with stripe_app.app_context():
        assert services.release_due_payouts(utcnow()) == 1
        transfer_id = db.session.scalar(select(Payout.provider_ref))

    client = stripe_app.test_client()
    login(client, "guest@example.org")
    response = post_form(client, f"/bookings/{booking_id}/cancel", {})
    assert response.status_code == 303

    with stripe_app.app_context():
        booking = db.session.get(Booking, booking_id)
        assert booking.state == BookingState.CANCELLED_BY_GUEST
        host_part = booking.refund_nights_ore + booking.refund_cleaning_ore
        assert host_part == 2 * 100_000  # nights 4 and 5; night 3 is "the next night"
        reversal, refund_call = [
            r
            for r in fake_stripe.requests
            if r.path.startswith(("/v1/refunds", f"/v1/transfers/{transfer_id}/reversals"))
        ]
        assert reversal.path == f"/v1/transfers/{transfer_id}/reversals"
        assert reversal.params["amount"] == str(host_part)
        assert reversal.idempotency_key == f"payout-reversal-booking-{booking_id}"
        assert refund_call.path == "/v1/refunds"
        assert refund_call.params["amount"] == str(booking.refund_total_ore)
        assert refund_call.idempotency_key == f"refund-booking-{booking_id}"

        payout = db.session.scalar(select(Payout))
        assert payout.state == PayoutState.REVERSED
        assert payout.reversal_ref.startswith("trr_test_")
        assert payout.amount_ore == booking.host_payout_ore - host_part  # what the host keeps
        assert db.session.scalar(select(Refund.state)) == RefundState.DONE
        # Every öre accounted for: the coop holds exactly the kept fee, VAT and fund share.
        assert ledger.account_balance(Account.HOST_PAYABLE, stripe_people["host"]) == 0
        assert ledger.account_balance(Account.GUEST_REFUND_PAYABLE) == 0
        kept = booking.total_ore - booking.refund_total_ore - payout.amount_ore
        assert ledger.account_balance(Account.CASH) == kept
    assert fake_stripe.objects[transfer_id]["amount_reversed"] == host_part

    # The host sees what was taken back.
    host = stripe_app.test_client()
    login(host, "host@example.org")
    page = text_of(host.get("/host/payouts?lang=en"))
    assert "taken back" in page


def test_cancellation_before_payout_shrinks_or_cancels_it(stripe_app, fake_stripe, stripe_people):
    _connect_host(stripe_app, stripe_people)
    booking_id = _booking(stripe_app, stripe_people, days_ahead=30)
    _pay(stripe_app, fake_stripe, booking_id)
    client = stripe_app.test_client()
    login(client, "guest@example.org")
    assert post_form(client, f"/bookings/{booking_id}/cancel", {}).status_code == 303
    with stripe_app.app_context():
        payout = db.session.scalar(select(Payout))
        assert payout.state == PayoutState.CANCELLED  # flexible, 30 days ahead: all back
        assert payout.amount_ore == 0
        assert services.release_due_payouts(payout.due_at + timedelta(days=1)) == 0
    assert fake_stripe.calls("POST", "/v1/transfers") == []
    assert fake_stripe.calls("POST", "/v1/transfers/") == []
    [refund_call] = fake_stripe.calls("POST", "/v1/refunds")
    with stripe_app.app_context():
        assert refund_call.params["amount"] == str(db.session.get(Booking, booking_id).total_ore)


def test_failed_refund_call_is_retried_by_the_job(stripe_app, fake_stripe, stripe_people):
    booking_id = _booking(stripe_app, stripe_people)
    _pay(stripe_app, fake_stripe, booking_id)
    fake_stripe.fail_paths.add("/v1/refunds")
    with stripe_app.app_context():
        booking = db.session.get(Booking, booking_id)
        host = db.session.get(User, stripe_people["host"])
        bookings.cancel_booking(booking, CancelledBy.HOST, host, reason="Stängt")
        db.session.commit()
        assert services.send_pending() == 0
        assert db.session.scalar(select(Refund.state)) == RefundState.OWED
    fake_stripe.fail_paths.clear()
    runner = stripe_app.test_cli_runner()
    result = runner.invoke(args=["jobs", "run", "--only", "send-refunds"])
    assert "send-refunds: 1" in result.output
    with stripe_app.app_context():
        assert db.session.scalar(select(Refund.state)) == RefundState.DONE
    keys = {r.idempotency_key for r in fake_stripe.calls("POST", "/v1/refunds")}
    assert keys == {f"refund-booking-{booking_id}"}


# --- Edges ---------------------------------------------------------------------------------------


def test_return_from_checkout(stripe_app, fake_stripe, stripe_people):
    booking_id = _booking(stripe_app, stripe_people)
    session_id = _open_checkout(stripe_app, booking_id)
    client = stripe_app.test_client()
    login(client, "guest@example.org")
    # Back from Stripe before the webhook: the guest is told it is being confirmed.
    waiting = client.get(f"/bookings/{booking_id}/pay?checkout=done")
    assert 'id="pay-processing"' in text_of(waiting)
    session = fake_stripe.pay_session(session_id)
    payload = event("checkout.session.completed", fake_stripe.public(session["id"]))
    assert _post(stripe_app.test_client(), payload).status_code == 200
    done = client.get(f"/bookings/{booking_id}/pay?checkout=done")
    assert done.status_code == 303
    assert done.location.endswith(f"/bookings/{booking_id}")


def test_a_refund_stripe_cannot_complete_goes_to_the_board(stripe_app, fake_stripe, stripe_people):
    fake_stripe.refund_status = "pending"
    booking_id = _booking(stripe_app, stripe_people)
    _pay(stripe_app, fake_stripe, booking_id)
    with stripe_app.app_context():
        booking = db.session.get(Booking, booking_id)
        host = db.session.get(User, stripe_people["host"])
        bookings.cancel_booking(booking, CancelledBy.HOST, host, reason="Brand")
        db.session.commit()
        services.send_pending()
        refund = db.session.scalar(select(Refund))
        refund_id, refund_ref = refund.id, refund.provider_ref
    stripe_refund = dict(fake_stripe.public(refund_ref), status="failed")
    payload = event("refund.updated", stripe_refund, event_id="evt_refund_failed")
    assert _post(stripe_app.test_client(), payload).status_code == 200
    with stripe_app.app_context():
        assert db.session.get(Refund, refund_id).state == RefundState.FAILED
    board = stripe_app.test_client()
    login(board, "board@example.org")
    assert f'id="mark-refunded-{refund_id}"' in text_of(board.get("/board/payments"))
    response = post_form(board, f"/board/refunds/{refund_id}/done", {}, form_url="/board/payments")
    assert response.status_code == 303
    with stripe_app.app_context():
        assert db.session.get(Refund, refund_id).state == RefundState.DONE


def test_the_board_cannot_mark_a_stripe_refund_in_flight(stripe_app, fake_stripe, stripe_people):
    booking_id = _booking(stripe_app, stripe_people)
    _pay(stripe_app, fake_stripe, booking_id)
    fake_stripe.fail_paths.add("/v1/refunds")
    with stripe_app.app_context():
        booking = db.session.get(Booking, booking_id)
        host = db.session.get(User, stripe_people["host"])
        bookings.cancel_booking(booking, CancelledBy.HOST, host, reason="Brand")
        db.session.commit()
        refund_id = db.session.scalar(select(Refund.id))
    board = stripe_app.test_client()
    login(board, "board@example.org")
    response = post_form(board, f"/board/refunds/{refund_id}/done", {}, form_url="/board/payments")
    assert response.status_code == 403


def test_a_second_paid_session_is_recorded_and_flagged(stripe_app, fake_stripe, stripe_people):
    """Two sessions opened at once and both paid: the stay is confirmed once, the second
    payment is kept on record and noted for the board to refund."""
    booking_id = _booking(stripe_app, stripe_people)
    first = _open_checkout(stripe_app, booking_id)
    with stripe_app.app_context():
        db.session.execute(
            Payment.__table__.update().values(created_at=utcnow() - timedelta(hours=1))
        )
        db.session.commit()
    second = _open_checkout(stripe_app, booking_id)
    assert first != second
    client = stripe_app.test_client()
    for n, session_id in enumerate((first, second)):
        session = fake_stripe.pay_session(session_id)
        payload = event(
            "checkout.session.completed", fake_stripe.public(session["id"]), event_id=f"evt_{n}"
        )
        assert _post(client, payload).status_code == 200
    with stripe_app.app_context():
        assert db.session.get(Booking, booking_id).state == BookingState.CONFIRMED
        states = db.session.scalars(select(Payment.state).order_by(Payment.id)).all()
        assert states == [PaymentState.SUCCEEDED, PaymentState.SUCCEEDED]
        confirmed = (BookingEvent.from_state == BookingState.PENDING_PAYMENT) & (
            BookingEvent.to_state == BookingState.CONFIRMED
        )
        assert _count(BookingEvent, confirmed) == 1
        assert _count(LedgerTransaction, LedgerTransaction.booking_id == booking_id) == 1
        note = db.session.scalar(select(BookingEvent.note).where(BookingEvent.note != ""))
        assert second in note

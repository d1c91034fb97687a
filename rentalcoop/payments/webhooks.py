"""Stripe webhook events and their effects (DESIGN §7).

Each event is applied in one transaction together with the insert of its id into
`webhook_events`: a second delivery of the same event (Stripe delivers at least once, in any
order, and retries for three days) hits the primary key and changes nothing (DESIGN §15). Late
or out-of-order events are no-ops: `expired` after `completed`, a refund confirmed twice.
"""

from __future__ import annotations

import logging
from datetime import UTC, datetime

from sqlalchemy import or_, select

from rentalcoop.bookings.models import Booking
from rentalcoop.db import begin_write, utcnow
from rentalcoop.extensions import db
from rentalcoop.payments import services
from rentalcoop.payments.models import Payment, PaymentState, RefundState
from rentalcoop.payments.providers import account_status_of

log = logging.getLogger("rentalcoop.payments.webhooks")


def _value(obj, name: str, default=None):
    """A field of a Stripe object (they are not dicts: `.get()` does not exist on them)."""
    try:
        value = obj[name]
    except (KeyError, TypeError):
        return default
    return default if value is None else value


def _id(value) -> str | None:
    """An id field that may come expanded as an object."""
    if value is None or isinstance(value, str):
        return value
    return _value(value, "id")


def apply_event(event, *, connect: bool) -> bool:
    """Apply one verified event and commit. False when it had been applied already."""
    begin_write(db.session)
    if not services.claim_event(event.id, event.type):
        return False
    handler = (CONNECT_HANDLERS if connect else ACCOUNT_HANDLERS).get(event.type)
    if handler is None and event.type.startswith("charge.dispute.") and not connect:
        handler = dispute
    if handler is not None:
        handler(event)
    else:
        log.info("stripe event %s (%s) needs no action", event.id, event.type)
    db.session.commit()
    return True


# --- the account endpoint ------------------------------------------------------------------------


def _booking_of_session(session) -> Booking | None:
    metadata = _value(session, "metadata", {})
    raw = _value(metadata, "booking_id") or _value(session, "client_reference_id")
    try:
        booking_id = int(raw)
    except (TypeError, ValueError):
        return None
    return services.booking_for_update(booking_id)


def checkout_completed(event) -> None:
    """The guest paid (or, for a delayed method, will pay): confirm the stay."""
    session = event.data.object
    booking = _booking_of_session(session)
    if booking is None:
        log.warning("checkout %s is for no booking we know", _value(session, "id"))
        return
    if _value(session, "payment_status") != "paid":
        # Bank debits and the like: the money follows with async_payment_succeeded.
        _link_payment(booking, session)
        return
    services.record_payment_succeeded(
        booking,
        checkout_ref=_value(session, "id"),
        provider_ref=_id(_value(session, "payment_intent")),
        at=utcnow(),
    )


def checkout_async_succeeded(event) -> None:
    session = event.data.object
    booking = _booking_of_session(session)
    if booking is None:
        return
    services.record_payment_succeeded(
        booking,
        checkout_ref=_value(session, "id"),
        provider_ref=_id(_value(session, "payment_intent")),
        at=utcnow(),
    )


def checkout_async_failed(event) -> None:
    session = event.data.object
    booking = _booking_of_session(session)
    if booking is None:
        return
    payment = _payment_by_checkout(booking, _value(session, "id"))
    if payment is not None and payment.state == PaymentState.PENDING:
        payment.state = PaymentState.FAILED
    services.record_checkout_expired(booking, _value(session, "id"))


def checkout_expired(event) -> None:
    """The session lapsed unpaid: release the hold, unless the stay was paid meanwhile."""
    session = event.data.object
    booking = _booking_of_session(session)
    if booking is None:
        return
    services.record_checkout_expired(
        booking, _value(session, "id"), session_expires_at=_moment(_value(session, "expires_at"))
    )


def _moment(epoch) -> datetime | None:
    return datetime.fromtimestamp(int(epoch), UTC) if epoch else None


def _payment_by_checkout(booking: Booking, checkout_ref: str | None) -> Payment | None:
    if not checkout_ref:
        return None
    return db.session.scalar(
        select(Payment).where(
            Payment.booking_id == booking.id, Payment.checkout_ref == checkout_ref
        )
    )


def _link_payment(booking: Booking, session) -> None:
    payment = _payment_by_checkout(booking, _value(session, "id"))
    if payment is not None:
        payment.payment_ref = payment.payment_ref or _id(_value(session, "payment_intent"))


def _payment_of_charge(charge) -> Payment | None:
    intent = _id(_value(charge, "payment_intent"))
    charge_id = _id(_value(charge, "charge")) or _value(charge, "id")
    conditions = [Payment.charge_ref == charge_id]
    if intent:
        conditions.append(Payment.payment_ref == intent)
    return db.session.scalar(
        select(Payment)
        .where(or_(*conditions), Payment.state == PaymentState.SUCCEEDED)
        .order_by(Payment.id)
        .limit(1)
    )


def charge_refunded(event) -> None:
    """Stripe confirms the guest's refund: the owed refund is done."""
    charge = event.data.object
    payment = _payment_of_charge(charge)
    if payment is None:
        log.warning("refund of charge %s for no payment we know", _value(charge, "id"))
        return
    if not payment.charge_ref and _value(charge, "object") == "charge":
        payment.charge_ref = _value(charge, "id")
    refund = services.refund_of(payment.booking)
    if refund is None:
        log.warning("charge %s refunded outside rentalcoop", _value(charge, "id"))
        return
    if refund.state == RefundState.OWED and _value(charge, "amount_refunded", 0) >= (
        refund.amount_ore
    ):
        services.mark_refund_done(refund)


def refund_updated(event) -> None:
    """A refund that Stripe could not complete (a closed card account) needs the board."""
    stripe_refund = event.data.object
    if _value(stripe_refund, "status") != "failed":
        return
    payment = _payment_of_charge(stripe_refund)
    refund = services.refund_of(payment.booking) if payment is not None else None
    if refund is not None and refund.state == RefundState.OWED:
        refund.state = RefundState.FAILED
        from rentalcoop.bookings import services as bookings

        bookings.record_note(
            payment.booking, f"Stripe refund {_value(stripe_refund, 'id')} failed; pay it by hand"
        )


def dispute(event) -> None:
    """A guest disputes the charge with their bank: the board must answer it in Stripe."""
    from rentalcoop.bookings import services as bookings

    item = event.data.object
    payment = _payment_of_charge(item)
    summary = (
        f"{event.type}: {_value(item, 'id')} status {_value(item, 'status', '?')}, "
        f"reason {_value(item, 'reason', '?')}, {_value(item, 'amount', 0)} öre"
    )
    log.warning("stripe dispute %s", summary)
    if payment is not None:
        bookings.record_note(payment.booking, summary)


ACCOUNT_HANDLERS = {
    "checkout.session.completed": checkout_completed,
    "checkout.session.async_payment_succeeded": checkout_async_succeeded,
    "checkout.session.async_payment_failed": checkout_async_failed,
    "checkout.session.expired": checkout_expired,
    "charge.refunded": charge_refunded,
    "refund.updated": refund_updated,
    "refund.failed": refund_updated,
}


# --- the Connect endpoint ------------------------------------------------------------------------


def account_updated(event) -> None:
    """A host's connected account changed: whether payouts can go to it."""
    if not services.update_host_account(account_status_of(event.data.object)):
        log.info("account.updated for unknown account %s", _value(event.data.object, "id"))


CONNECT_HANDLERS = {"account.updated": account_updated}

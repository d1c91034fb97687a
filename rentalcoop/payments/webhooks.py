"""Stripe webhook events and their effects (DESIGN §7).

Each event is applied in one transaction together with the insert of its id into
`webhook_events`: a second delivery of the same event (Stripe delivers at least once, in any
order, and retries for three days) hits the primary key and changes nothing (DESIGN §15). Late
events are no-ops: `expired` after `completed`, a refund confirmed twice, an older dispute
event after the dispute closed.

**In any order.** An event whose object we do not know yet (`charge.refunded` or a dispute
before `checkout.session.completed` linked the charge, `account.updated` before the
onboarding's commit) raises `NotYet` before it changes anything. It is then kept, with its
verified body, as a pending `webhook_events` row, and applied as soon as it can be: after
every event applied (the one it waited for, most likely) and by `flask jobs run`
(`retry-webhooks`). It is never consumed with no effect.
"""

from __future__ import annotations

import logging
from datetime import UTC, datetime

import stripe
from sqlalchemy import or_, select

from rentalcoop.bookings.models import Booking
from rentalcoop.db import begin_write, lock_for_change, utcnow
from rentalcoop.extensions import db
from rentalcoop.jobs import JobCount, job
from rentalcoop.payments import disputes, services
from rentalcoop.payments.models import (
    Payment,
    PaymentState,
    RefundState,
    WebhookEvent,
    WebhookState,
)
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


# Kept events tried again right after an event is applied (the rest: `flask jobs run`).
IN_REQUEST_RETRIES = 20


class NotYet(Exception):  # noqa: N818 - a signal, not an error
    """The event's object is not known here yet: keep the event and apply it later."""


def _handler(event_type: str, connect: bool):
    handler = (CONNECT_HANDLERS if connect else ACCOUNT_HANDLERS).get(event_type)
    if handler is None and event_type.startswith("charge.dispute.") and not connect:
        handler = dispute
    return handler


def _run(event, connect: bool) -> bool:
    """Apply the event's effect in a savepoint; False (nothing changed) when it must wait."""
    handler = _handler(event.type, connect)
    if handler is None:
        log.info("stripe event %s (%s) needs no action", event.id, event.type)
        return True
    try:
        with db.session.begin_nested():
            handler(event)
    except NotYet as why:
        log.info("stripe event %s (%s) waits: %s", event.id, event.type, why)
        return False
    return True


def apply_event(event, *, connect: bool, payload: str | bytes | None = None) -> bool:
    """Apply one verified event and commit; one that cannot be applied yet is kept as pending
    (with `payload`, its verified body). False when it had been received already. Events kept
    earlier are tried again after it."""
    begin_write(db.session)
    if not services.claim_event(event.id, event.type):
        return False
    row = db.session.get(WebhookEvent, event.id)
    row.is_connect = connect
    if _run(event, connect):
        row.applied_at = utcnow()
    else:
        row.state = WebhookState.PENDING
        row.attempts = 1
        if isinstance(payload, bytes):
            payload = payload.decode()
        row.payload = payload if payload is not None else str(event)
    db.session.commit()
    if row.state == WebhookState.APPLIED:
        retry_pending(limit=IN_REQUEST_RETRIES)
    return True


@job("retry-webhooks")
def retry_pending(limit: int = 200) -> int:
    """Apply the kept events that can be applied now, oldest first, each in its own
    transaction (the row locked, so two runners never apply one twice). Returns how many."""
    ids = list(
        db.session.scalars(
            select(WebhookEvent.event_id)
            .where(WebhookEvent.state == WebhookState.PENDING)
            .order_by(WebhookEvent.received_at, WebhookEvent.event_id)
            .limit(limit)
        )
    )
    db.session.commit()
    applied, failures = 0, []
    for event_id in ids:
        try:
            applied += _retry_one(event_id)
        except Exception as err:  # noqa: BLE001 - kept for the next run; the others proceed
            db.session.rollback()
            log.warning("stripe event %s not applied: %s", event_id, type(err).__name__)
            failures.append(f"event {event_id}")
    return JobCount(applied, failures)


def _retry_one(event_id: str) -> int:
    begin_write(db.session)
    query = select(WebhookEvent).where(WebhookEvent.event_id == event_id)
    if db.session.get_bind().dialect.name == "postgresql":
        query = query.with_for_update(skip_locked=True)
    row = db.session.scalar(query.execution_options(populate_existing=True))
    if row is None or row.state != WebhookState.PENDING:
        db.session.rollback()
        return 0
    event = stripe.Webhook.construct_event_without_verification(row.payload)
    row.attempts += 1
    if not _run(event, row.is_connect):
        db.session.commit()
        return 0
    row.state = WebhookState.APPLIED
    row.applied_at = utcnow()
    row.payload = None  # applied: the body (which may name the guest) is not kept
    db.session.commit()
    return 1


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
        # A delayed method (a bank debit): the money follows with async_payment_succeeded
        # or _failed; until then the nights stay held and the booking shows it is processing.
        services.record_payment_processing(
            booking,
            checkout_ref=_value(session, "id"),
            provider_ref=_id(_value(session, "payment_intent")),
        )
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
    services.record_payment_failed(booking, _value(session, "id"))


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


def _known_payment(item) -> Payment:
    """The paid Payment a charge, refund or dispute belongs to, with its booking locked; the
    event waits (`NotYet`) while the payment is not recorded as paid here."""
    payment = _payment_of_charge(item)
    if payment is None:
        raise NotYet(
            f"no paid payment for charge {_id(_value(item, 'charge')) or _value(item, 'id')}"
        )
    services.booking_for_update(payment.booking_id)
    return payment


def charge_refunded(event) -> None:
    """Stripe confirms the guest's refund: the owed refund is done. A refund made outside
    rentalcoop (in the dashboard) is noted for the board."""
    from rentalcoop.bookings import services as bookings

    charge = event.data.object
    payment = _known_payment(charge)
    if not payment.charge_ref and _value(charge, "object") == "charge":
        payment.charge_ref = _value(charge, "id")
    refund = services.refund_of(payment.booking)
    refunded = _value(charge, "amount_refunded", 0)
    if refund is None:
        log.warning("charge %s refunded outside rentalcoop", _value(charge, "id"))
        bookings.record_note(
            payment.booking,
            f"charge {_value(charge, 'id')} refunded in Stripe ({refunded} öre) without a "
            "cancellation here; cancel the booking or collect the money by hand",
        )
        return
    if refund.state == RefundState.OWED and refunded >= refund.amount_ore:
        services.mark_refund_done(refund)


def refund_updated(event) -> None:
    """A refund's outcome: done when Stripe completed it; when Stripe could not (a closed card
    account) it goes to the board. Under the refund's row lock (the board, the job and
    `charge.refunded` may act on it at once)."""
    from rentalcoop.bookings import services as bookings

    stripe_refund = event.data.object
    status = _value(stripe_refund, "status")
    if status not in ("failed", "succeeded"):
        return
    payment = _known_payment(stripe_refund)
    refund = services.refund_of(payment.booking)
    if refund is None:
        return
    lock_for_change(db.session, refund)
    if refund.state != RefundState.OWED:
        return  # done or failed already: a late or repeated event
    if status == "succeeded":
        services.mark_refund_done(refund, ref=_value(stripe_refund, "id"))
        return
    refund.state = RefundState.FAILED
    bookings.record_note(
        payment.booking, f"Stripe refund {_value(stripe_refund, 'id')} failed; pay it by hand"
    )


def _dispute_fee(item) -> int:
    """Stripe's net dispute fee: the fees of the dispute's balance transactions (withdrawn when
    it opened, given back with the amount when it is won, where Stripe gives it back)."""
    total = 0
    for transaction in _value(item, "balance_transactions", []) or []:
        total += int(_value(transaction, "fee", 0) or 0)
    return max(total, 0)


def dispute(event) -> None:
    """A guest disputes the charge with their bank: the board answers it in Stripe; the host's
    payout is held (or taken back) until it closes, and a lost one goes into the books
    (`rentalcoop.payments.disputes`)."""
    from rentalcoop.bookings import services as bookings

    item = event.data.object
    summary = (
        f"{event.type}: {_value(item, 'id')} status {_value(item, 'status', '?')}, "
        f"reason {_value(item, 'reason', '?')}, {_value(item, 'amount', 0)} öre"
    )
    payment = _known_payment(item)
    log.warning("stripe dispute %s", summary)
    disputes.record_dispute(
        payment,
        provider_ref=_value(item, "id"),
        amount_ore=int(_value(item, "amount", 0) or payment.amount_ore),
        status=str(_value(item, "status", "")),
        reason=str(_value(item, "reason", "")),
        fee_ore=_dispute_fee(item),
    )
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
# Not handled on purpose: `charge.dispute.funds_withdrawn` / `funds_reinstated` (the amounts
# are settled when the dispute closes) reach `dispute` too and only record its status.


# --- the Connect endpoint ------------------------------------------------------------------------


def account_updated(event) -> None:
    """A host's connected account changed: whether payouts can go to it. An account not yet
    recorded (the event beat the onboarding's commit) waits for it."""
    if not services.update_host_account(account_status_of(event.data.object)):
        raise NotYet(f"account {_value(event.data.object, 'id')} not recorded yet")


CONNECT_HANDLERS = {"account.updated": account_updated}

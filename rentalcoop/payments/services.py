"""Payment rules (DESIGN §7): a guest's payment, refunds, host payouts and their states.

Services flush; the caller commits once. Money only moves through a provider *after* the
database state that justifies it is committed, or with an idempotency key derived from the
booking so that a repeat does nothing new:

- **Checkout** (`start_checkout`): the attempt's Payment row is committed first, then the
  Checkout Session is created with the key `checkout-booking-<id>-<payment id>`.
- **Refunds and reversals** (`start_refund`): recorded as owed in the caller's transaction; the
  Stripe calls run after that commit (`send_pending`, from the request's `after_request` and from
  `flask jobs run`), keys `refund-booking-<id>` and `payout-reversal-booking-<id>`.
- **Payouts** (`release_due_payouts`, a job): one locked row per transaction, key
  `payout-booking-<id>`; a crash between Stripe's answer and our commit is repeated harmlessly.
"""

from __future__ import annotations

import logging
from datetime import UTC, datetime, timedelta

from flask import current_app, url_for
from sqlalchemy import event, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from rentalcoop.accounts.models import User
from rentalcoop.bookings.cancellation import Refund as RefundAmounts
from rentalcoop.bookings.models import CANCELLED_STATES, STAY_STATES, Booking, BookingState
from rentalcoop.db import begin_write, lock_for_change, lock_row, utcnow
from rentalcoop.errors import DomainError
from rentalcoop.extensions import db
from rentalcoop.i18n import _l
from rentalcoop.jobs import job
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
from rentalcoop.payments.providers import (
    CHECKOUT_LIFETIME,
    AccountStatus,
    PaymentProvider,
    ProviderError,
    ProviderName,
    get_provider,
)

log = logging.getLogger("rentalcoop.payments")

# A payout 24 h after check-in (DESIGN §7): the guest has arrived and seen the home.
PAYOUT_DELAY = timedelta(hours=24)
# Bookings whose host is owed money: a cancelled stay keeps the part the guest was not refunded.
PAYABLE_STATES = STAY_STATES | CANCELLED_STATES
# An open session is reused only while it has this much time left for the guest.
REUSE_MARGIN = timedelta(minutes=2)
PENDING_FLAG = "payments_pending"
COMMITTED_FLAG = "payments_committed"


class PaymentError(DomainError):
    status_code = 409


class ProviderUnavailable(PaymentError):
    status_code = 503

    def __init__(self):
        super().__init__(
            _l("The payment service could not be reached. Please try again in a moment.")
        )


# --- queries -------------------------------------------------------------------------------------


def payments_of(booking: Booking) -> list[Payment]:
    return list(
        db.session.scalars(
            select(Payment).where(Payment.booking_id == booking.id).order_by(Payment.id)
        )
    )


def succeeded_payment(booking: Booking) -> Payment | None:
    return db.session.scalar(
        select(Payment)
        .where(Payment.booking_id == booking.id, Payment.state == PaymentState.SUCCEEDED)
        .order_by(Payment.id)
        .limit(1)
    )


def payout_of(booking: Booking, *, lock: bool = False) -> Payout | None:
    query = select(Payout).where(Payout.booking_id == booking.id)
    if lock:
        # PostgreSQL waits for a payout run, then reads what it committed; SQLite ignores it.
        query = query.with_for_update(key_share=True).execution_options(populate_existing=True)
    return db.session.scalar(query)


def refund_of(booking: Booking) -> Refund | None:
    return db.session.scalar(select(Refund).where(Refund.booking_id == booking.id))


def host_account(user_id: int) -> HostPaymentAccount | None:
    return db.session.get(HostPaymentAccount, user_id)


def reversal_amount(payout: Payout) -> int:
    """What a reversed payout takes back (`Payout.reversal_ore`)."""
    return payout.reversal_ore


def pay_page_url(booking: Booking, **kwargs) -> str:
    return url_for("payments.pay_page", booking_id=booking.id, **kwargs)


# --- guest payment -------------------------------------------------------------------------------


def start_checkout(booking: Booking, provider: PaymentProvider | None = None) -> str:
    """Where to send the guest to pay: the pay page (manual) or a Stripe Checkout Session.

    An open session is reused. A new attempt's Payment row is committed *before* Stripe is
    called so its key is stable; the session's id and URL are then flushed for the caller to
    commit. The booking's hold is extended to the session's end: Stripe keeps a session open at
    least 30 minutes, and a guest must not be able to pay for nights already released.
    """
    provider = provider or get_provider()
    if booking.state != BookingState.PENDING_PAYMENT:
        raise PaymentError(_l("This booking is not waiting for payment."))
    if not provider.is_automatic:
        return pay_page_url(booking)
    now = utcnow()
    if booking.expires_at is not None and booking.expires_at <= now:
        # The hold has lapsed (the expiry job will say so); a new session must not revive it.
        raise PaymentError(_l("The time to pay for this booking has run out."))
    for payment in reversed(payments_of(booking)):
        # A session lives at least CHECKOUT_LIFETIME from just after its row was made.
        still_open = payment.created_at + CHECKOUT_LIFETIME - REUSE_MARGIN > now
        if payment.state == PaymentState.PENDING and payment.checkout_url and still_open:
            return payment.checkout_url
    booking_id = booking.id
    begin_write(db.session)
    booking = booking_for_update(booking_id)
    if booking.state != BookingState.PENDING_PAYMENT:
        db.session.rollback()
        raise PaymentError(_l("This booking is not waiting for payment."))
    payment = Payment(
        booking_id=booking.id,
        provider=provider.name,
        amount_ore=booking.total_ore,
        currency="sek",
        state=PaymentState.PENDING,
    )
    db.session.add(payment)
    db.session.commit()
    try:
        checkout = provider.create_checkout_session(
            booking,
            payment,
            attempt=payment.id,
            success_url=pay_page_url(booking, checkout="done", _external=True),
            cancel_url=pay_page_url(booking, _external=True),
        )
    except ProviderError:
        payment.state = PaymentState.FAILED
        db.session.commit()
        raise ProviderUnavailable() from None
    payment.checkout_ref = checkout.ref
    payment.checkout_url = checkout.url
    if checkout.expires_at and (
        booking.expires_at is None or booking.expires_at < checkout.expires_at
    ):
        booking.expires_at = checkout.expires_at
    db.session.flush()
    return checkout.url


def record_payment_succeeded(
    booking: Booking,
    *,
    checkout_ref: str | None = None,
    provider_ref: str | None = None,
    charge_ref: str | None = None,
    by: User | None = None,
    at: datetime | None = None,
) -> bool:
    """The guest's money arrived (a webhook, or the board marking it): record the Payment and
    confirm the stay — or, if its hold ended meanwhile, refund it in full (the bookings service
    decides). Repeats change nothing. Returns whether the stay is confirmed."""
    from rentalcoop.bookings import services as bookings

    now = at or utcnow()
    attempts = payments_of(booking)
    payment = None
    if checkout_ref:
        payment = next((p for p in attempts if p.checkout_ref == checkout_ref), None)
    already = next((p for p in attempts if p.state == PaymentState.SUCCEEDED), None)
    if already is not None and checkout_ref and already.checkout_ref != checkout_ref:
        if payment is None:
            payment = Payment(
                booking_id=booking.id,
                provider=get_provider().name,
                amount_ore=booking.total_ore,
                currency="sek",
                checkout_ref=checkout_ref,
            )
            db.session.add(payment)
        if payment.state != PaymentState.SUCCEEDED:
            # A second session paid for the same stay: keep the record; the board refunds it
            # (one Refund per booking, DESIGN §6, so it cannot be an automatic one).
            payment.state = PaymentState.SUCCEEDED
            payment.succeeded_at = now
            payment.payment_ref = provider_ref or payment.payment_ref
            log.error("booking %s was paid twice (checkout %s)", booking.id, checkout_ref)
            bookings.record_note(
                booking, f"paid a second time through {checkout_ref}; refund it by hand"
            )
        db.session.flush()
        return booking.is_stay
    if already is not None:
        payment = already
    if payment is None:
        payment = next(
            (p for p in reversed(attempts) if p.state == PaymentState.PENDING),
            None,
        )
    if payment is None:
        payment = Payment(
            booking_id=booking.id,
            provider=get_provider().name if by is None else ProviderName.MANUAL,
            amount_ore=booking.total_ore,
            currency="sek",
        )
        db.session.add(payment)
    if payment.state != PaymentState.SUCCEEDED:
        payment.state = PaymentState.SUCCEEDED
        payment.succeeded_at = now
        payment.marked_by_id = by.id if by is not None else None
    payment.checkout_ref = payment.checkout_ref or checkout_ref
    payment.payment_ref = payment.payment_ref or provider_ref
    payment.charge_ref = payment.charge_ref or charge_ref
    db.session.flush()
    return bookings.confirm_paid(
        booking, actor=by, actor_kind="board" if by is not None else "provider", at=now
    )


def record_checkout_expired(
    booking: Booking, checkout_ref: str, *, session_expires_at: datetime | None = None
) -> bool:
    """A Checkout Session lapsed unpaid: that attempt is over, and the hold with it unless the
    guest paid, is paying through another session, or still has time to pay (an accepted
    request holds its nights for a day, longer than one session). Returns whether the booking
    expired."""
    from rentalcoop.bookings import services as bookings

    attempts = payments_of(booking)
    payment = next((p for p in attempts if p.checkout_ref == checkout_ref), None)
    if payment is not None and payment.state == PaymentState.PENDING:
        payment.state = PaymentState.EXPIRED
    others_open = any(
        p is not payment
        and (
            p.state == PaymentState.SUCCEEDED
            or (p.state == PaymentState.PENDING and p.checkout_ref is not None)
        )
        for p in attempts
    )
    db.session.flush()
    if others_open or booking.paid_at is not None:
        return False
    ends = session_expires_at or utcnow()
    if booking.expires_at is not None and booking.expires_at > ends + REUSE_MARGIN:
        return False
    return bookings.expire_booking(booking, actor_kind="provider")


# --- payouts -------------------------------------------------------------------------------------


def payout_due_at(booking: Booking) -> datetime:
    """24 real hours after the check-in instant (check-in date at the listing's check-in time)."""
    from rentalcoop.bookings.services import check_in_instant

    return check_in_instant(booking).astimezone(UTC) + PAYOUT_DELAY


def schedule_payout(booking: Booking) -> Payout:
    """The host's share of a confirmed stay, paid 24 h after check-in. Idempotent."""
    payout = payout_of(booking)
    if payout is not None:
        return payout
    kept = booking.host_receives_ore
    payout = Payout(
        booking_id=booking.id,
        host_id=booking.host_id,
        amount_ore=kept,
        state=PayoutState.SCHEDULED if kept > 0 else PayoutState.CANCELLED,
        due_at=payout_due_at(booking),
    )
    db.session.add(payout)
    db.session.flush()
    return payout


def mark_payout_paid(
    payout: Payout, *, ref: str | None = None, by: User | None = None, at: datetime | None = None
) -> bool:
    """The host has been paid (Stripe transfer made, or the board's bank transfer)."""
    from rentalcoop.ledger import services as ledger

    # Locked and read afresh: a refund may have just shrunk or cancelled it (`start_refund`).
    lock_for_change(db.session, payout)
    if payout.state not in (PayoutState.SCHEDULED, PayoutState.OWED):
        return False
    payout.state = PayoutState.PAID
    payout.paid_at = at or utcnow()
    payout.provider_ref = ref or payout.provider_ref
    payout.marked_by_id = by.id if by is not None else None
    db.session.flush()
    ledger.post_payout(payout.booking, amount_ore=payout.amount_ore, posted_by=by)
    return True


def mark_reversal_done(payout: Payout, *, ref: str, by: User | None = None) -> bool:
    """Money taken back from the host after a refund (Stripe reversal, or collected by hand)."""
    from rentalcoop.ledger import services as ledger

    lock_for_change(db.session, payout)  # two board members, or the board and the job
    if payout.state != PayoutState.REVERSED or payout.reversal_ref:
        return False
    amount = reversal_amount(payout)
    payout.reversal_ref = ref
    if by is not None:
        payout.marked_by_id = by.id
    db.session.flush()
    if amount > 0:
        ledger.post_payout_reversed(payout.booking, amount, posted_by=by)
    return True


def host_can_receive(account: HostPaymentAccount | None) -> bool:
    return account is not None and account.payouts_enabled


@job("release-payouts")
def release_due_payouts(now: datetime | None = None) -> int:
    """Pay hosts whose payout is due: a Stripe transfer, or (manual) owed for the board to pay.

    A Stripe host without a ready connected account stays owed and is told on their payouts page;
    the next run tries again. Safe in two processes at once. Returns how many changed state.
    Commits per payout (a job, not a request)."""
    now = now or utcnow()
    provider = get_provider()
    waiting = [PayoutState.SCHEDULED]
    if provider.is_automatic:
        waiting.append(PayoutState.OWED)
    ids = list(
        db.session.scalars(
            select(Payout.id)
            .where(Payout.state.in_(waiting), Payout.due_at <= now, Payout.amount_ore > 0)
            .order_by(Payout.due_at, Payout.id)
            .limit(500)
        )
    )
    changed = 0
    for payout_id in ids:
        payout = lock_row(db.session, Payout, payout_id)
        if payout is None or payout.state not in waiting or payout.due_at > now:
            db.session.rollback()
            continue
        booking = payout.booking
        if booking.state not in PAYABLE_STATES:
            db.session.rollback()
            continue
        if not provider.is_automatic:
            payout.state = PayoutState.OWED
            db.session.commit()
            changed += 1
            continue
        account = host_account(payout.host_id)
        payment = succeeded_payment(booking)
        if not host_can_receive(account) or payment is None:
            if payout.state != PayoutState.OWED:
                payout.state = PayoutState.OWED
                changed += 1
            db.session.commit()
            continue
        try:
            sent = provider.transfer_payout(payout, payment, account.stripe_account_id)
        except ProviderError as err:
            log.warning("payout %s not sent: %s", payout.id, err)
            if payout.state != PayoutState.OWED:
                payout.state = PayoutState.OWED
                changed += 1
            db.session.commit()
            continue
        mark_payout_paid(payout, ref=sent.ref, at=now)
        db.session.commit()
        changed += 1
    return changed


# --- refunds -------------------------------------------------------------------------------------


def start_refund(
    booking: Booking, refund: RefundAmounts, *, by: User | None = None
) -> Refund | None:
    """Give a cancellation's refund back to the guest and settle the host's side of it.

    The host keeps what the guest was not refunded: a payout not yet paid shrinks by the
    refunded nights and cleaning (or is cancelled), a paid one is partly reversed. The refund
    is recorded as owed here; with Stripe the API calls follow the commit (`send_pending`).
    Idempotent: one refund per booking."""
    existing = refund_of(booking)
    if existing is not None:
        return existing
    host_part = refund.nights_ore + refund.cleaning_ore
    payout = payout_of(booking, lock=True)
    if payout is not None and host_part > 0:
        kept = max(booking.host_payout_ore - host_part, 0)
        if payout.state in (PayoutState.SCHEDULED, PayoutState.OWED):
            payout.amount_ore = kept
            if kept == 0:
                payout.state = PayoutState.CANCELLED
        elif payout.state == PayoutState.PAID:
            payout.state = PayoutState.REVERSED
            payout.amount_ore = kept
    payment = succeeded_payment(booking)
    if refund.total_ore <= 0 or payment is None:
        db.session.flush()
        _note_pending()
        return None
    row = Refund(
        booking_id=booking.id,
        amount_ore=min(refund.total_ore, payment.amount_ore),
        state=RefundState.OWED,
        marked_by_id=None,
    )
    db.session.add(row)
    db.session.flush()
    _note_pending()
    return row


def mark_refund_done(
    refund: Refund, *, ref: str | None = None, by: User | None = None, at: datetime | None = None
) -> bool:
    """The guest has their money back (Stripe confirmed it, or the board paid it)."""
    from rentalcoop.ledger import services as ledger

    lock_for_change(db.session, refund)  # the board, the job and Stripe's webhook may race
    if refund.state == RefundState.DONE:
        return False
    refund.state = RefundState.DONE
    refund.done_at = at or utcnow()
    refund.provider_ref = ref or refund.provider_ref
    if by is not None:
        refund.marked_by_id = by.id
    db.session.flush()
    ledger.post_refund_paid(refund.booking, posted_by=by)
    return True


def _note_pending() -> None:
    if get_provider().is_automatic:
        db.session.info[PENDING_FLAG] = True


def _payment_provider_rows(model, condition) -> list[int]:
    return list(
        db.session.scalars(
            select(model.id)
            .join(Payment, Payment.booking_id == model.booking_id)
            .where(
                condition,
                Payment.state == PaymentState.SUCCEEDED,
                Payment.provider == ProviderName.STRIPE,
            )
            .order_by(model.id)
            .limit(200)
        )
    )


@job("send-refunds")
def send_pending() -> int:
    """Send what `start_refund` recorded to Stripe: host reversals first (the money goes back
    into the platform balance), then the guests' refunds. Commits per row; returns how many
    calls succeeded. A failure is logged and retried on the next run with the same key."""
    provider = get_provider()
    if not provider.is_automatic:
        return 0
    sent = 0
    reversals = _payment_provider_rows(
        Payout,
        (Payout.state == PayoutState.REVERSED)
        & Payout.reversal_ref.is_(None)
        & Payout.provider_ref.is_not(None),
    )
    for payout_id in reversals:
        payout = lock_row(db.session, Payout, payout_id)
        if payout is None or payout.state != PayoutState.REVERSED or payout.reversal_ref:
            db.session.rollback()
            continue
        amount = reversal_amount(payout)
        if amount <= 0:
            db.session.rollback()
            continue
        try:
            result = provider.reverse_payout(payout, amount)
        except ProviderError as err:
            log.warning("reversal of payout %s not sent: %s", payout.id, err)
            db.session.rollback()
            continue
        mark_reversal_done(payout, ref=result.ref)
        db.session.commit()
        sent += 1

    refunds = _payment_provider_rows(
        Refund, (Refund.state == RefundState.OWED) & Refund.provider_ref.is_(None)
    )
    for refund_id in refunds:
        refund = lock_row(db.session, Refund, refund_id)
        if refund is None or refund.state != RefundState.OWED or refund.provider_ref:
            db.session.rollback()
            continue
        payment = succeeded_payment(refund.booking)
        try:
            result = provider.refund(refund.booking, payment, refund)
        except ProviderError as err:
            log.warning("refund %s not sent: %s", refund.id, err)
            db.session.rollback()
            continue
        if result.is_done:
            mark_refund_done(refund, ref=result.ref)
        else:
            refund.provider_ref = result.ref  # done when `charge.refunded` arrives
        db.session.commit()
        sent += 1
    return sent


# --- connected accounts --------------------------------------------------------------------------


def update_host_account(status: AccountStatus, *, user_id: int | None = None) -> bool:
    """Store a connected account's flags (from `account.updated` or after onboarding)."""
    account = db.session.scalar(
        select(HostPaymentAccount).where(HostPaymentAccount.stripe_account_id == status.account_id)
    )
    if account is None:
        if user_id is None:
            return False
        account = HostPaymentAccount(user_id=user_id, stripe_account_id=status.account_id)
        db.session.add(account)
    account.details_submitted = status.details_submitted
    account.charges_enabled = status.charges_enabled
    account.payouts_enabled = status.payouts_enabled
    account.updated_at = utcnow()
    db.session.flush()
    return True


def onboarding_link(host: User, return_url: str, refresh_url: str) -> str:
    """A Stripe-hosted page where the host enters their bank details (AccountLinks). The
    connected account is created on the first visit and remembered."""
    provider = get_provider()
    account = host_account(host.id)
    try:
        url, account_id = provider.onboarding_link(host, account, return_url, refresh_url)
    except ProviderError:
        raise ProviderUnavailable() from None
    if account is None:
        db.session.add(HostPaymentAccount(user_id=host.id, stripe_account_id=account_id))
        db.session.flush()
    return url


def refresh_host_account(host: User) -> HostPaymentAccount | None:
    """Ask Stripe for the account's flags (the return from onboarding is no proof it is done)."""
    account = host_account(host.id)
    if account is None:
        return None
    try:
        status = get_provider().account_status(account.stripe_account_id)
    except ProviderError:
        return account
    update_host_account(status)
    return account


# --- webhook bookkeeping -------------------------------------------------------------------------


def claim_event(event_id: str, event_type: str) -> bool:
    """Record a provider event in the current transaction. False when it was applied before:
    the primary key refuses the second insert (DESIGN §15), so its effect is skipped."""
    db.session.add(WebhookEvent(event_id=event_id, type=event_type[:100]))
    try:
        db.session.flush()
    except IntegrityError:
        db.session.rollback()
        return False
    return True


def booking_for_update(booking_id: int) -> Booking | None:
    """The booking, locked for the rest of the transaction (`bookings.services.lock_booking`)."""
    from rentalcoop.bookings.services import lock_booking

    booking = db.session.get(Booking, booking_id)
    if booking is None:
        return None
    return lock_booking(booking)


def send_after_commit() -> None:
    """After a request committed a refund, send it now (the job retries whatever fails)."""
    if not db.session.info.pop(COMMITTED_FLAG, False):
        return
    try:
        db.session.rollback()
        send_pending()
    except Exception:  # noqa: BLE001 - the request already succeeded; the job retries
        db.session.rollback()
        current_app.logger.warning("sending refunds failed; the jobs will retry", exc_info=True)


@event.listens_for(Session, "after_commit")
def _mark_committed(session) -> None:
    if session.info.pop(PENDING_FLAG, False):
        session.info[COMMITTED_FLAG] = True


@event.listens_for(Session, "after_rollback")
def _forget_pending(session) -> None:
    session.info.pop(PENDING_FLAG, None)

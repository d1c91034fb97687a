"""Payment rules (DESIGN §7): a guest's payment, refunds, host payouts and their states.

Services flush; the caller commits once. Money only moves through a provider *after* the
database state that justifies it is committed, or with an idempotency key derived from the
booking so that a repeat does nothing new:

- **Checkout** (`start_checkout`): the attempt's Payment row is committed first, then the
  Checkout Session is created with the key `checkout-booking-<id>-<payment id>`.
- **Refunds and reversals** (`start_refund`): recorded as owed in the caller's transaction; the
  Stripe calls run after that commit (`send_pending`, from the request's `after_request` and from
  `flask jobs run`), keys `refund-booking-<id>` and `payout-reversal-booking-<id>`.
- **Payouts** (`release_due_payouts`, a job): each payout in its own transactions, key
  `payout-booking-<id>`: claimed (`SENDING`) and committed, then Stripe is called with no lock
  held, then the answer is recorded under the row lock. Whoever meets a `SENDING` payout (a
  refund, a dispute) leaves it to the sender, who settles what happened meanwhile. A crash
  between Stripe's answer and our commit leaves a stale claim, repeated harmlessly with the
  same key. An error on one payout is logged, reported and retried; the others proceed.
- **Delayed methods** (a bank debit through Checkout): the completed session is recorded as
  `PROCESSING` and the hold extended (`DELAYED_PAYMENT_HOLD_HOURS`, never past check-in) until
  Stripe's outcome confirms the stay or releases its nights.
- **Disputes**: `rentalcoop.payments.disputes` (who bears a lost one, and when).
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
from rentalcoop.jobs import JobCount, job
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
    Sent,
    get_provider,
)

log = logging.getLogger("rentalcoop.payments")

# A payout 24 h after check-in (DESIGN §7): the guest has arrived and seen the home.
PAYOUT_DELAY = timedelta(hours=24)
# Bookings whose host is owed money: a cancelled stay keeps the part the guest was not refunded.
PAYABLE_STATES = STAY_STATES | CANCELLED_STATES
# An open session is reused only while it has this much time left for the guest.
REUSE_MARGIN = timedelta(minutes=2)
# A claim older than this was left by a sender that died: it is sent again, with the same key.
CLAIM_TIMEOUT = timedelta(minutes=10)
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
    if is_payment_processing(booking):
        # A bank debit is on its way: a second payment would charge the guest twice.
        raise PaymentError(_l("Your payment is being processed; there is nothing more to pay."))
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


def is_payment_processing(booking: Booking) -> bool:
    """Whether a delayed payment (a bank debit) for this booking waits for Stripe's outcome:
    the guest and the host see "payment processing" instead of "waiting for payment"."""
    if booking.state != BookingState.PENDING_PAYMENT:
        return False
    return (
        db.session.scalar(
            select(Payment.id)
            .where(Payment.booking_id == booking.id, Payment.state == PaymentState.PROCESSING)
            .limit(1)
        )
        is not None
    )


def delayed_hold_until(booking: Booking, now: datetime) -> datetime:
    """How long the nights stay held for a delayed method: until Stripe's outcome, bounded by
    `DELAYED_PAYMENT_HOLD_HOURS` (Stripe's bank debits take up to 14 days) and by check-in."""
    from rentalcoop.bookings.services import check_in_instant

    bound = now + timedelta(hours=current_app.config.get("DELAYED_PAYMENT_HOLD_HOURS", 336))
    return min(bound, check_in_instant(booking).astimezone(UTC))


def record_payment_processing(
    booking: Booking, *, checkout_ref: str | None, provider_ref: str | None
) -> bool:
    """Checkout completed with a delayed method (the booking is locked): the payment is on
    its way, so the hold is extended until Stripe says whether it arrived. A late or repeated
    signal (the outcome came first, the booking ended) changes nothing. Returns whether the
    hold was extended."""
    payment = next((p for p in payments_of(booking) if p.checkout_ref == checkout_ref), None)
    if payment is None or payment.state != PaymentState.PENDING:
        if payment is not None:
            payment.payment_ref = payment.payment_ref or provider_ref
            db.session.flush()
        return False
    payment.state = PaymentState.PROCESSING
    payment.payment_ref = payment.payment_ref or provider_ref
    if booking.state != BookingState.PENDING_PAYMENT or booking.paid_at is not None:
        db.session.flush()
        return False
    until = delayed_hold_until(booking, utcnow())
    if booking.expires_at is None or booking.expires_at < until:
        booking.expires_at = until
    db.session.flush()
    return True


def record_payment_failed(booking: Booking, checkout_ref: str | None) -> bool:
    """A delayed payment failed (the booking is locked): that attempt is over and the nights
    are released, unless another payment of the booking succeeded or is still on its way.
    Returns whether the booking expired."""
    from rentalcoop.bookings import services as bookings

    attempts = payments_of(booking)
    payment = next((p for p in attempts if p.checkout_ref == checkout_ref), None)
    if payment is not None and payment.state in (PaymentState.PENDING, PaymentState.PROCESSING):
        payment.state = PaymentState.FAILED
    db.session.flush()
    others = any(
        p is not payment and p.state in (PaymentState.SUCCEEDED, PaymentState.PROCESSING)
        for p in attempts
    )
    if others or booking.paid_at is not None:
        return False
    return bookings.expire_booking(booking, actor_kind="provider")


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
            p.state in (PaymentState.SUCCEEDED, PaymentState.PROCESSING)
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
    payout: Payout,
    *,
    ref: str | None = None,
    by: User | None = None,
    at: datetime | None = None,
    is_sent: bool = False,
) -> bool:
    """The host has been paid (Stripe transfer made, or the board's bank transfer); `is_sent`:
    a transfer Stripe already made is recorded whatever changed meanwhile."""
    from rentalcoop.ledger import services as ledger

    # Locked and read afresh: a refund may have just shrunk or cancelled it (`start_refund`).
    lock_for_change(db.session, payout)
    if payout.state not in (PayoutState.SCHEDULED, PayoutState.OWED, PayoutState.SENDING):
        return False
    payout.state = PayoutState.PAID
    payout.paid_at = at or utcnow()
    payout.provider_ref = ref or payout.provider_ref
    payout.marked_by_id = by.id if by is not None else None
    payout.claimed_at = None
    db.session.flush()
    ledger.post_payout(payout.booking, amount_ore=payout.amount_ore, posted_by=by, is_sent=is_sent)
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


def _lock_for_sending(model, row_id: int):
    """The row, locked until the commit and read afresh (waiting for whoever holds it: the
    answer of a call already made must be recorded)."""
    if db.session().in_transaction():
        db.session.rollback()  # only reads since the claim (a change by the call is dropped)
    begin_write(db.session)
    row = db.session.get(model, row_id, populate_existing=True)
    if row is not None:
        lock_for_change(db.session, row)
    return row


def _is_stale(claimed_at: datetime | None) -> bool:
    return claimed_at is not None and claimed_at < utcnow() - CLAIM_TIMEOUT


@job("release-payouts")
def release_due_payouts(now: datetime | None = None) -> int:
    """Pay hosts whose payout is due: a Stripe transfer, or (manual) owed for the board to pay.

    A Stripe host without a ready connected account stays owed and is told on their payouts page;
    the next run tries again. Each payout has its own transactions: an error on one (of any
    kind) is logged by id, reported in the job's count and retried next run, and the others
    proceed. Safe in two processes at once. Returns how many changed state."""
    now = now or utcnow()
    provider = get_provider()
    waiting = [PayoutState.SCHEDULED]
    if provider.is_automatic:
        waiting.append(PayoutState.OWED)
    ids = list(
        db.session.scalars(
            select(Payout.id)
            .where(
                (Payout.state.in_(waiting) & (Payout.due_at <= now) & (Payout.amount_ore > 0))
                | (
                    (Payout.state == PayoutState.SENDING)
                    & (Payout.claimed_at < utcnow() - CLAIM_TIMEOUT)
                )
            )
            .order_by(Payout.due_at, Payout.id)
            .limit(500)
        )
    )
    db.session.commit()
    changed, failures = 0, []
    for payout_id in ids:
        try:
            changed += _release_one(provider, payout_id, waiting, now)
        except Exception as err:  # noqa: BLE001 - one payout's failure must not stop the others
            db.session.rollback()
            # The id and the kind of error only: a message may carry a name or an address.
            log.error("release-payouts: payout %s failed: %s", payout_id, type(err).__name__)
            failures.append(f"payout {payout_id}")
            _give_up_sending(payout_id)
    return JobCount(changed, failures)


def _release_one(provider: PaymentProvider, payout_id: int, waiting, now: datetime) -> int:
    payout = lock_row(db.session, Payout, payout_id)
    if payout is None:
        db.session.rollback()
        return 0
    resend = payout.state == PayoutState.SENDING and _is_stale(payout.claimed_at)
    if not resend and (payout.state not in waiting or payout.due_at > now):
        db.session.rollback()
        return 0
    booking = payout.booking
    if not resend and booking.state not in PAYABLE_STATES:
        db.session.rollback()
        return 0
    if not provider.is_automatic:
        payout.state = PayoutState.OWED
        db.session.commit()
        return 1
    account = host_account(payout.host_id)
    payment = succeeded_payment(booking)
    if not host_can_receive(account) or payment is None:
        changed = int(payout.state != PayoutState.OWED)
        payout.state = PayoutState.OWED
        payout.claimed_at = None
        db.session.commit()
        return changed
    # Claimed and committed first: Stripe is called with no lock held (on SQLite, the write
    # lock would stop every other writer for as long as Stripe takes to answer).
    payout.state = PayoutState.SENDING
    payout.claimed_at = utcnow()
    account_id = account.stripe_account_id
    db.session.commit()
    try:
        sent = provider.transfer_payout(payout, payment, account_id)
    except ProviderError as err:
        log.warning("payout %s not sent: %s", payout_id, err)
        sent = None
    except Exception:
        # Owed again and retried next run: the same key replays a transfer made after all.
        db.session.rollback()
        _give_up_sending(payout_id)
        raise
    charge_ref = payment.charge_ref
    settle_sending(payout_id, sent, at=now, charge_ref=charge_ref)
    db.session.commit()
    return 1


def settle_sending(
    payout_id: int, sent: Sent | None, *, at: datetime | None = None, charge_ref=None
) -> None:
    """Record a transfer's outcome on a payout being sent, and apply what happened while
    Stripe answered: a refund of the stay (a reversal of the refunded part, or a smaller
    payout) and a dispute (held, or the host's share taken back)."""
    from rentalcoop.payments import disputes

    payout = _lock_for_sending(Payout, payout_id)
    if payout is None or payout.state != PayoutState.SENDING:
        return
    booking = payout.booking
    host_part = booking.refund_nights_ore + booking.refund_cleaning_ore
    kept = max(booking.host_payout_ore - host_part, 0) if host_part else payout.amount_ore
    if sent is not None:
        payment = succeeded_payment(booking)
        if payment is not None and charge_ref and not payment.charge_ref:
            payment.charge_ref = charge_ref
        mark_payout_paid(payout, ref=sent.ref, at=at, is_sent=True)
        if kept < payout.amount_ore:
            payout.state = PayoutState.REVERSED
            payout.amount_ore = kept
            _note_pending()
    else:
        payout.state = PayoutState.OWED
        payout.claimed_at = None
        payout.amount_ore = min(payout.amount_ore, kept)
        if payout.amount_ore == 0:
            payout.state = PayoutState.CANCELLED
    db.session.flush()
    disputes.settle_after_send(payout)
    db.session.flush()


def _give_up_sending(payout_id: int) -> None:
    """After an unexpected error: a payout claimed is owed again, so the next run retries it."""
    try:
        payout = _lock_for_sending(Payout, payout_id)
        if payout is not None and payout.state == PayoutState.SENDING:
            # Sending again is safe: the same idempotency key replays a transfer already made.
            payout.state = PayoutState.OWED
            payout.claimed_at = None
        db.session.commit()
    except Exception:  # noqa: BLE001 - the stale claim is retried by the next run
        db.session.rollback()


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
        # SENDING: the sender applies the refund once Stripe answered (`settle_sending`);
        # HELD (a dispute): the amount shrinks, and the hold stays.
        elif payout.state == PayoutState.HELD:
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


def _claim(model, row_id: int, is_due) -> bool:
    """Mark a row as being sent and commit, so Stripe is called with no lock held; False when
    it is not due any more or another sender has it (a claim goes stale after CLAIM_TIMEOUT)."""
    row = lock_row(db.session, model, row_id)
    if row is None or not is_due(row) or not (row.claimed_at is None or _is_stale(row.claimed_at)):
        db.session.rollback()
        return False
    row.claimed_at = utcnow()
    db.session.commit()
    return True


def _unclaim(model, row_id: int) -> None:
    try:
        row = _lock_for_sending(model, row_id)
        if row is not None:
            row.claimed_at = None
        db.session.commit()
    except Exception:  # noqa: BLE001 - the claim goes stale by itself
        db.session.rollback()


def _reversal_due(payout: Payout) -> bool:
    return (
        payout.state == PayoutState.REVERSED
        and not payout.reversal_ref
        and reversal_amount(payout) > 0
    )


def _refund_due(refund: Refund) -> bool:
    return refund.state == RefundState.OWED and not refund.provider_ref


@job("send-refunds")
def send_pending() -> int:
    """Send what `start_refund` and the disputes recorded to Stripe: host reversals first (the
    money goes back into the platform balance), then the guests' refunds. Each row is claimed
    and committed before its call and recorded after it, so no lock is held while Stripe
    answers. Returns how many calls succeeded; a failure of any kind is logged, reported and
    retried on the next run with the same key."""
    from rentalcoop.payments import disputes

    provider = get_provider()
    if not provider.is_automatic:
        return 0
    sent, failures = 0, []
    reversals = _payment_provider_rows(
        Payout,
        (Payout.state == PayoutState.REVERSED)
        & Payout.reversal_ref.is_(None)
        & Payout.provider_ref.is_not(None),
    )
    db.session.commit()
    for payout_id in reversals:
        try:
            if not _claim(Payout, payout_id, _reversal_due):
                continue
            payout = db.session.get(Payout, payout_id)
            result = provider.reverse_payout(payout, reversal_amount(payout))
            payout = _lock_for_sending(Payout, payout_id)
            payout.claimed_at = None
            mark_reversal_done(payout, ref=result.ref)
            db.session.commit()
            sent += 1
        except Exception as err:  # noqa: BLE001 - retried next run with the same key
            db.session.rollback()
            log.warning("reversal of payout %s not sent: %s", payout_id, type(err).__name__)
            _unclaim(Payout, payout_id)
            failures.append(f"reversal of payout {payout_id}")

    moved, failed = disputes.send_reversals(provider)
    sent += moved
    failures += failed

    refunds = _payment_provider_rows(
        Refund, (Refund.state == RefundState.OWED) & Refund.provider_ref.is_(None)
    )
    db.session.commit()
    for refund_id in refunds:
        try:
            if not _claim(Refund, refund_id, _refund_due):
                continue
            refund = db.session.get(Refund, refund_id)
            payment = succeeded_payment(refund.booking)
            result = provider.refund(refund.booking, payment, refund)
            refund = _lock_for_sending(Refund, refund_id)
            refund.claimed_at = None
            if refund.state == RefundState.OWED:
                if result.is_done:
                    mark_refund_done(refund, ref=result.ref)
                else:
                    refund.provider_ref = result.ref  # done when Stripe confirms it
            db.session.commit()
            sent += 1
        except Exception as err:  # noqa: BLE001 - retried next run with the same key
            db.session.rollback()
            log.warning("refund %s not sent: %s", refund_id, type(err).__name__)
            _unclaim(Refund, refund_id)
            failures.append(f"refund {refund_id}")
    return JobCount(sent, failures)


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

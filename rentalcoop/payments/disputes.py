"""Payment disputes (chargebacks) and who bears them (DESIGN §7, §9).

A guest may dispute their card or Klarna payment with their bank for months after the stay.
Stripe then takes the disputed amount, and its dispute fee, out of the cooperative's balance at
once, and gives the amount back only if the bank decides for the cooperative.

**Who bears a lost dispute.** The host bears the chargeback of their own stay up to what they
received (or were to receive) for it; the cooperative bears the rest of the chargeback (the
service fee the guest paid, and any part above the host's payout) and Stripe's dispute fee,
as an operating cost of the year (so it lowers the surplus, O of DESIGN §10, shared by every
member). Why: the host delivered the stay and holds the guest relationship (a dispute is
most often "not as described" or "not received"); taking back more than their payout would
make a host pay for the cooperative's payment service. The fee is the price of taking card
payments at all, like Stripe's processing fee, which the cooperative also pays.

**What happens when.**
- `charge.dispute.created` (or any dispute event seen first): the dispute is recorded. A payout
  not yet paid is held (`PayoutState.HELD`: the release job skips it). A payout already paid
  has the host's share at stake (`min(disputed, paid)`) taken back from the connected account
  by a transfer reversal, sent after the commit (`send_pending`), posted when Stripe confirms.
  A payout being sent right now is settled by its sender once Stripe answered.
- `charge.dispute.closed`, won (or an inquiry closed): the hold is released (the payout is
  scheduled again and paid by the next run) or what was taken back is transferred back to the
  host. A dispute fee Stripe did not give back is the cooperative's cost.
- `charge.dispute.closed`, lost: the chargeback and the fee are posted
  (`ledger.post_dispute_closed`): the host's share reduces what the host is owed (a held payout
  shrinks by it; a paid one keeps the reversal), the rest is the cooperative's cost.

A dispute's events may arrive in any order (closed before created): each one records the
dispute as Stripe describes it, and a closed dispute is never reopened by an older event.
"""

from __future__ import annotations

import logging
from datetime import timedelta

from sqlalchemy import select

from rentalcoop.db import lock_for_change, utcnow
from rentalcoop.extensions import db
from rentalcoop.payments.models import (
    Dispute,
    DisputeState,
    Payment,
    Payout,
    PayoutState,
)

log = logging.getLogger("rentalcoop.payments")

WON_STATUSES = frozenset({"won", "warning_closed", "prevented"})
LOST_STATUSES = frozenset({"lost"})
# A payout that was paid (or is being paid): its host's share is taken back, not held.
PAID_STATES = frozenset({PayoutState.PAID, PayoutState.REVERSED, PayoutState.SENDING})
CLAIM_TIMEOUT = timedelta(minutes=10)


def dispute_of(provider_ref: str) -> Dispute | None:
    return db.session.scalar(select(Dispute).where(Dispute.provider_ref == provider_ref))


def open_disputes(booking_id: int) -> list[Dispute]:
    return list(
        db.session.scalars(
            select(Dispute)
            .where(Dispute.booking_id == booking_id, Dispute.state == DisputeState.OPEN)
            .order_by(Dispute.id)
        )
    )


def _payout(booking_id: int) -> Payout | None:
    payout = db.session.scalar(select(Payout).where(Payout.booking_id == booking_id))
    if payout is not None:
        lock_for_change(db.session, payout)
    return payout


def record_dispute(
    payment: Payment,
    *,
    provider_ref: str,
    amount_ore: int,
    status: str,
    reason: str = "",
    fee_ore: int = 0,
) -> Dispute:
    """Record a dispute event (the booking is locked by the caller): hold or take back the
    host's payout while it is open, and settle it once it is closed. Repeats change nothing."""
    dispute = dispute_of(provider_ref)
    if dispute is None:
        dispute = Dispute(
            provider_ref=provider_ref,
            booking_id=payment.booking_id,
            payment_id=payment.id,
            amount_ore=amount_ore,
            fee_ore=0,
            reason=reason[:64],
            provider_status=status[:32],
            state=DisputeState.OPEN,
            reversal_ore=0,
        )
        db.session.add(dispute)
        db.session.flush()
        payout = _payout(payment.booking_id)
        if payout is not None:
            hold_payout(dispute, payout)
    else:
        lock_for_change(db.session, dispute)
    if dispute.state != DisputeState.OPEN:
        return dispute  # closed already: an older event changes nothing
    dispute.provider_status = status[:32]
    dispute.amount_ore = amount_ore or dispute.amount_ore
    if status in WON_STATUSES:
        _close(dispute, DisputeState.WON, fee_ore)
    elif status in LOST_STATUSES:
        _close(dispute, DisputeState.LOST, fee_ore)
    db.session.flush()
    return dispute


def hold_payout(dispute: Dispute, payout: Payout) -> None:
    """While a dispute is open the host is not paid for the stay: a payout not yet paid is held;
    of one paid, the host's share at stake is to be taken back."""
    if payout.state in (PayoutState.SCHEDULED, PayoutState.OWED):
        payout.state = PayoutState.HELD
    elif payout.state in (PayoutState.PAID, PayoutState.REVERSED) and not dispute.reversal_ore:
        dispute.reversal_ore = min(dispute.amount_ore, payout.amount_ore)
        _note_pending()
    # SENDING: the sender settles it once Stripe answered (`settle_after_send`).


def settle_after_send(payout: Payout) -> None:
    """A payout's transfer has just been recorded (paid, or back to owed after a failure): a
    dispute opened meanwhile holds it now, and one lost meanwhile (its share to be taken back
    from a transfer that then failed) shrinks the payout instead."""
    if payout.state in (PayoutState.OWED, PayoutState.CANCELLED):
        lost = db.session.scalars(
            select(Dispute).where(
                Dispute.booking_id == payout.booking_id,
                Dispute.state == DisputeState.LOST,
                Dispute.reversal_ref.is_(None),
                Dispute.reversal_ore > 0,
            )
        )
        for dispute in lost:
            payout.amount_ore = max(payout.amount_ore - dispute.reversal_ore, 0)
            dispute.reversal_ore = 0
            if payout.amount_ore == 0:
                payout.state = PayoutState.CANCELLED
    for dispute in open_disputes(payout.booking_id):
        hold_payout(dispute, payout)


def _close(dispute: Dispute, outcome: DisputeState, fee_ore: int) -> None:
    from rentalcoop.ledger import services as ledger

    booking = dispute.booking
    payout = _payout(dispute.booking_id)
    dispute.state = outcome
    dispute.fee_ore = max(fee_ore, 0)
    dispute.closed_at = utcnow()
    chargeback = dispute.amount_ore if outcome == DisputeState.LOST else 0
    host_share = 0
    others_open = [d for d in open_disputes(dispute.booking_id) if d.id != dispute.id]
    if payout is not None and payout.state == PayoutState.HELD:
        if outcome == DisputeState.LOST:
            host_share = min(chargeback, payout.amount_ore)
            payout.amount_ore -= host_share
        if not others_open:
            payout.state = PayoutState.SCHEDULED if payout.amount_ore > 0 else PayoutState.CANCELLED
    elif payout is not None and payout.state in PAID_STATES:
        if outcome == DisputeState.LOST:
            if not dispute.reversal_ore:
                dispute.reversal_ore = min(chargeback, payout.amount_ore)
            host_share = dispute.reversal_ore
            _note_pending()
        elif dispute.reversal_ref:
            _note_pending()  # won: what was taken back goes back to the host
        else:
            dispute.reversal_ore = 0  # won before the reversal was sent: nothing to take back
    db.session.flush()
    ledger.post_dispute_closed(
        booking,
        dispute.provider_ref,
        chargeback_ore=chargeback,
        fee_ore=dispute.fee_ore,
        host_share_ore=host_share,
    )
    log.warning("dispute %s closed: %s", dispute.provider_ref, outcome)


def _note_pending() -> None:
    from rentalcoop.payments import services

    services._note_pending()


# --- sending (after the commit, from `services.send_pending`) ---------------------------------


def _claimable(dispute: Dispute) -> bool:
    now = utcnow()
    return dispute.claimed_at is None or dispute.claimed_at < now - CLAIM_TIMEOUT


def send_reversals(provider) -> tuple[int, list[str]]:
    """Take the host's share of a disputed, paid payout back, and send it back once the dispute
    is won. Each row is claimed and committed before Stripe is called (no lock is held while
    it answers) and recorded afterwards. Returns (sent, failures)."""
    from rentalcoop.db import begin_write
    from rentalcoop.ledger import services as ledger

    sent, failures = 0, []
    ids = list(
        db.session.scalars(
            select(Dispute.id)
            .join(Payout, Payout.booking_id == Dispute.booking_id)
            .where(
                Dispute.reversal_ore > 0,
                Payout.provider_ref.is_not(None),
                (
                    Dispute.reversal_ref.is_(None) & (Dispute.state != DisputeState.WON)
                    | (
                        Dispute.reversal_ref.is_not(None)
                        & Dispute.returned_ref.is_(None)
                        & (Dispute.state == DisputeState.WON)
                    )
                ),
            )
            .order_by(Dispute.id)
            .limit(200)
        )
    )
    db.session.commit()
    for dispute_id in ids:
        try:
            begin_write(db.session)
            dispute = db.session.get(Dispute, dispute_id, populate_existing=True)
            lock_for_change(db.session, dispute)
            returning = dispute.reversal_ref is not None
            if not _claimable(dispute) or (returning and dispute.returned_ref):
                db.session.rollback()
                continue
            dispute.claimed_at = utcnow()
            db.session.commit()
            payout = db.session.scalar(
                select(Payout).where(Payout.booking_id == dispute.booking_id)
            )
            amount = dispute.reversal_ore
            if returning:
                from rentalcoop.payments.services import host_account

                account = host_account(payout.host_id)
                result = provider.send_transfer(
                    payout,
                    account.stripe_account_id if account else None,
                    amount,
                    key=f"dispute-return-{dispute.provider_ref}",
                )
            else:
                result = provider.reverse_payout(
                    payout, amount, key=f"dispute-reversal-{dispute.provider_ref}"
                )
            begin_write(db.session)
            dispute = lock_for_change(db.session, dispute)
            dispute.claimed_at = None
            if returning:
                dispute.returned_ref = result.ref or "manual"
                ledger.post_dispute_returned(dispute.booking, dispute.provider_ref, amount)
            else:
                dispute.reversal_ref = result.ref or "manual"
                ledger.post_dispute_held_back(dispute.booking, dispute.provider_ref, amount)
            db.session.commit()
            sent += 1
        except Exception as err:  # noqa: BLE001 - one row's failure must not stop the others
            db.session.rollback()
            log.warning("dispute %s: money not moved: %s", dispute_id, type(err).__name__)
            _release_claim(dispute_id)
            failures.append(f"dispute {dispute_id}")
    return sent, failures


def _release_claim(dispute_id: int) -> None:
    from rentalcoop.db import begin_write

    try:
        begin_write(db.session)
        dispute = db.session.get(Dispute, dispute_id, populate_existing=True)
        if dispute is not None:
            dispute.claimed_at = None
        db.session.commit()
    except Exception:  # noqa: BLE001 - the claim times out by itself
        db.session.rollback()

"""A year of demo stays for `flask demo-data`: past stays (most completed, some cancelled) and
upcoming ones (confirmed, and requests waiting for their hosts).

They go through the same services as real bookings — payment recorded by the board, refunds
under the listing's policy, completion, payouts — so the ledger, payouts and statistics of the
demo town add up. Mail those services queue about the past is marked as not to be sent.
"""

from __future__ import annotations

import random
from datetime import UTC, datetime, time, timedelta

from sqlalchemy import select, update

from rentalcoop.accounts.models import User
from rentalcoop.bookings import services
from rentalcoop.bookings.cancellation import CancelledBy
from rentalcoop.bookings.models import Booking, BookingEvent, BookingState
from rentalcoop.db import utcnow
from rentalcoop.extensions import db
from rentalcoop.listings import availability, pricing
from rentalcoop.listings.models import Listing, ListingState
from rentalcoop.outbox import OutboxMessage
from rentalcoop.payments import services as payments
from rentalcoop.payments.models import Payout, PayoutState, Refund, RefundState


def _instant(day, hour: int) -> datetime:
    return datetime.combine(day, time(hour, 0), tzinfo=UTC)


def load_demo_bookings(rng: random.Random, board: User) -> int:
    """Stays over the past year and the next two months; returns how many were made."""
    now = utcnow()
    today = pricing.coop_date(now)
    guests = list(
        db.session.scalars(
            select(User).where(User.email.like("guest%@example.org")).order_by(User.id)
        )
    )
    listings = list(
        db.session.scalars(
            select(Listing).where(Listing.state == ListingState.PUBLISHED).order_by(Listing.id)
        )
    )
    made = 0
    for listing in listings:
        taken = availability.unavailable_nights(
            listing.id, today - timedelta(days=365), today + timedelta(days=90)
        )
        day = today - timedelta(days=365) + timedelta(days=rng.randrange(0, 10))
        while day < today + timedelta(days=60):
            nights = rng.randint(max(listing.min_nights, 2), min(listing.max_nights, 6))
            check_in, check_out = day, day + timedelta(days=nights)
            day = check_out + timedelta(days=rng.randint(8, 30))
            stay = [check_in + timedelta(days=n) for n in range(nights)]
            if any(night in taken for night in stay):
                continue
            guest = rng.choice(guests)
            party = rng.randint(1, listing.max_guests)
            if check_in > today + timedelta(days=listing.advance_notice_days):
                made += _upcoming(rng, listing, guest, check_in, check_out, party, board, now)
            elif check_out <= today:
                made += _past(rng, listing, guest, check_in, check_out, party, board)
        db.session.commit()  # per listing: keeps the session's identity map (and flushes) small
    made += _today(listings, guests, board, now)
    # History: complete the stays, pay the hosts (the board marks the manual payouts paid).
    while services.complete_due(now):
        pass
    # The job completes them all now; in the demo's history each stay ended at its check-out.
    completed = select(Booking).where(Booking.state == BookingState.COMPLETED)
    for booking in db.session.scalars(completed).all():
        booking.completed_at = services.check_out_instant(booking)
    db.session.commit()
    while payments.release_due_payouts(now):
        pass
    owed = select(Payout).where(
        Payout.state == PayoutState.OWED, Payout.due_at < now - timedelta(days=2)
    )
    for payout in db.session.scalars(owed).all():
        payments.mark_payout_paid(payout, ref="demo", by=board, at=payout.due_at)
    db.session.commit()
    for refund in db.session.scalars(select(Refund).where(Refund.state == RefundState.OWED)).all():
        payments.mark_refund_done(refund, ref="demo", by=board, at=refund.created_at)
    # Nobody should get mail about the demo town's past.
    db.session.execute(
        update(OutboxMessage)
        .where(OutboxMessage.sent_at.is_(None))
        .values(sent_at=now, last_error="demo data: not sent")
    )
    db.session.commit()
    return made


def _priced(listing, guest, check_in, check_out, party, created, state) -> Booking:
    quote = pricing.quote(listing, check_in, check_out, party, at=created)
    from rentalcoop.governance.demo import demo_project_for  # the guest's fund project

    project_id = demo_project_for(listing.id, check_in)
    booking = services.new_booking(
        listing, guest, quote, state=state, at=created, community_project_id=project_id
    )
    db.session.add(booking)
    db.session.flush()
    db.session.add(
        BookingEvent(booking=booking, to_state=state, actor_id=guest.id, actor_kind="guest")
    )
    services.hold_nights(booking)
    db.session.flush()
    return booking


def _past(rng, listing, guest, check_in, check_out, party, board) -> int:
    created = _instant(check_in - timedelta(days=rng.randint(7, 60)), rng.randint(7, 22))
    booking = _priced(
        listing, guest, check_in, check_out, party, created, BookingState.PENDING_PAYMENT
    )
    booking.expires_at = created + timedelta(minutes=30)
    payments.record_payment_succeeded(booking, by=board, at=created + timedelta(minutes=12))
    if rng.random() < 0.1:  # some guests cancel, at various distances from check-in
        when = created + (_instant(check_in, 12) - created) * rng.uniform(0.2, 0.95)
        services.cancel_booking(booking, CancelledBy.GUEST, guest, at=when)
    return 1


def _upcoming(rng, listing, guest, check_in, check_out, party, board, now) -> int:
    created = now - timedelta(days=rng.randint(1, 20), hours=rng.randint(0, 12))
    if not listing.is_instant_book and rng.random() < 0.3:
        booking = _priced(listing, guest, check_in, check_out, party, now, BookingState.REQUESTED)
        booking.message = "Hej! Vi är två vuxna som gärna vill bo hos er."
        booking.expires_at = now + timedelta(hours=rng.randint(4, 20))
        return 1
    booking = _priced(
        listing, guest, check_in, check_out, party, created, BookingState.PENDING_PAYMENT
    )
    booking.expires_at = created + timedelta(minutes=30)
    payments.record_payment_succeeded(booking, by=board, at=created + timedelta(minutes=9))
    return 1


TODAY_REQUESTS = 6
FIRST_HOST = "host1@example.org"
TODAY_REVIEWABLE = 6


def _free(listing, check_in, check_out) -> bool:
    return not availability.unavailable_nights(listing.id, check_in, check_out)


def _today(listings, guests, board, now) -> int:
    """What the demo day holds whenever it is loaded (issue 16, build 4): requests that wait
    for their host's answer, and stays that ended two or three days ago, whose 14-day review
    windows are open — the first hosts and guests (host1…, guest1…) have some of each."""
    from rentalcoop.messaging import services as messaging

    today = pricing.coop_date(now)
    made = 0
    for k, listing in enumerate(listings[:TODAY_REVIEWABLE]):
        check_out = today - timedelta(days=2 + k % 2)
        check_in = check_out - timedelta(days=2)
        if not _free(listing, check_in, check_out):
            continue
        guest = guests[k % 5]
        created = _instant(check_in - timedelta(days=20), 10)
        booking = _priced(
            listing, guest, check_in, check_out, 2, created, BookingState.PENDING_PAYMENT
        )
        booking.expires_at = created + timedelta(minutes=30)
        payments.record_payment_succeeded(booking, by=board, at=created + timedelta(minutes=8))
        made += 1
    # The first demo host answers requests (their home took instant bookings until today), so
    # host1 has a request waiting the moment the demo is loaded.
    for listing in listings:
        if listing.host.email == FIRST_HOST:
            listing.is_instant_book = False
    asking = [listing for listing in listings if not listing.is_instant_book]
    for k, listing in enumerate(asking[:TODAY_REQUESTS]):
        nights = max(listing.min_nights, 2)
        starts = (today + timedelta(days=21 + 3 * k + 7 * j) for j in range(8))
        check_in = next((d for d in starts if _free(listing, d, d + timedelta(days=nights))), None)
        if check_in is None:
            continue
        check_out = check_in + timedelta(days=nights)
        guest = guests[k % 5]
        booking = _priced(listing, guest, check_in, check_out, 2, now, BookingState.REQUESTED)
        booking.message = "Hej! Vi är två vuxna som gärna vill bo hos er den helgen."
        booking.expires_at = now + timedelta(hours=20)
        messaging.send_message(booking, guest, booking.message, at=now, notify=False)
        made += 1
    db.session.commit()
    return made

"""Review rules. After a completed stay guest and host each have 14 days to review the other;
neither sees the other's review until both are in or the window closes (Airbnb's simultaneous
reveal, mission anchors [A5]), so nobody can retaliate or trade praise for praise.

The reveal needs no job: a review is written with `published_at` = the end of its window, and
when the second review of a stay arrives both are moved to that moment. Readable means
`published_at <= now`. Services flush; the caller commits.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from sqlalchemy import case, func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import joinedload

from rentalcoop import outbox
from rentalcoop.accounts.models import User
from rentalcoop.bookings.models import Booking, BookingState
from rentalcoop.bookings.services import check_out_instant
from rentalcoop.db import utcnow
from rentalcoop.errors import DomainError
from rentalcoop.extensions import db
from rentalcoop.i18n import _l
from rentalcoop.reviews.models import CATEGORIES, Review, ReviewResponse, ReviewSide

REVIEW_WINDOW = timedelta(days=14)
PER_PAGE = 10
MAX_TEXT = 2000


class ReviewError(DomainError):
    """Not possible now (window, state, already done): 409."""

    status_code = 409


class InvalidReview(ReviewError):
    status_code = 422


class NotAParty(ReviewError):
    """Only the guest and the host of a stay may review it or answer about it."""

    status_code = 403

    def __init__(self):
        super().__init__(_l("Only the guest and the host of this stay can do that."))


def _now(at: datetime | None) -> datetime:
    return at or utcnow()


def side_of(booking: Booking, user: User | None) -> ReviewSide | None:
    """The side `user` reviews from on this stay, or None for anyone else."""
    if user is None or not getattr(user, "is_authenticated", True):
        return None
    if user.id == booking.guest_id:
        return ReviewSide.GUEST
    if user.id == booking.host_id:
        return ReviewSide.HOST
    return None


def window_opens(booking: Booking) -> datetime:
    """The stay's end: when it was completed, or its check-out time if not recorded."""
    return booking.completed_at or check_out_instant(booking)


def window_closes(booking: Booking) -> datetime:
    """The end of the 14 days both sides have to review (and when lone reviews appear)."""
    return window_opens(booking) + REVIEW_WINDOW


def reviews_of(booking: Booking) -> dict[ReviewSide, Review]:
    """The stay's reviews by the side that wrote them, published or not (for the rules)."""
    rows = db.session.scalars(select(Review).where(Review.booking_id == booking.id))
    return {ReviewSide(r.side): r for r in rows}


def review_problem(
    booking: Booking, side: ReviewSide, existing: dict[ReviewSide, Review], at: datetime
) -> str | None:
    """Why this side cannot review this stay now, or None when it can."""
    if booking.state != BookingState.COMPLETED:
        return str(_l("You can review a stay once it is completed."))
    if at >= window_closes(booking):
        return str(_l("The 14 days to review this stay are over."))
    if side in existing:
        return str(_l("You have already reviewed this stay."))
    return None


def _check_stars(side: ReviewSide, stars: dict[str, int]) -> dict[str, int | None]:
    wanted = CATEGORIES if side == ReviewSide.GUEST else ("rating",)
    values: dict[str, int | None] = {c: None for c in (*CATEGORIES, "rating")}
    for name in wanted:
        star = stars.get(name)
        if not isinstance(star, int) or isinstance(star, bool) or not 1 <= star <= 5:
            raise InvalidReview(_l("Give each rating from 1 to 5 stars."))
        values[name] = star
    return values


def _clean_text(text: str) -> str:
    text = (text or "").strip()
    if not text:
        raise InvalidReview(_l("Please write a few words."))
    if len(text) > MAX_TEXT:
        raise InvalidReview(_l("Please keep it under %(max)s characters.", max=MAX_TEXT))
    return text


def write_review(
    booking: Booking,
    author: User,
    *,
    stars: dict[str, int],
    text: str,
    at: datetime | None = None,
) -> Review:
    """Record one side's review; reveal both at once if the other side's is already in."""
    now = _now(at)
    side = side_of(booking, author)
    if side is None:
        raise NotAParty()
    existing = reviews_of(booking)
    problem = review_problem(booking, side, existing, now)
    if problem is not None:
        raise ReviewError(problem)
    values = _check_stars(side, stars)
    text = _clean_text(text)
    other = existing.get(ReviewSide.HOST if side == ReviewSide.GUEST else ReviewSide.GUEST)
    review = Review(
        booking_id=booking.id,
        side=side,
        author_id=author.id,
        subject_id=booking.host_id if side == ReviewSide.GUEST else booking.guest_id,
        listing_id=booking.listing_id,
        text=text,
        created_at=now,
        published_at=window_closes(booking),
        **values,
    )
    if other is not None:
        # Both are in: both become readable now (simultaneous reveal).
        review.published_at = now
        other.published_at = min(other.published_at, now)
    try:
        with db.session.begin_nested():
            db.session.add(review)
    except IntegrityError:
        # A second submission raced this one: the unique (booking, side) kept the first.
        raise ReviewError(_l("You have already reviewed this stay.")) from None
    _mail_other_party(booking, review, other)
    return review


def _mail_other_party(booking: Booking, review: Review, other: Review | None) -> None:
    """Tell the reviewed party: write yours (first review) or read both (second review)."""
    if other is None:
        recipient = booking.guest if review.side == ReviewSide.HOST else booking.host
        template = "review_written"
        key = f"review:{booking.id}:written:{review.side}"
    else:
        recipient = booking.guest if other.side == ReviewSide.GUEST else booking.host
        template = "reviews_published"
        key = f"review:{booking.id}:published"
    if recipient is None or recipient.deleted_at is not None:
        return
    outbox.enqueue(
        key,
        recipient.email,
        recipient.locale,
        template,
        booking_id=booking.id,
        closes_at=window_closes(booking).isoformat(),
    )


def answer_review(
    review: Review, author: User, text: str, at: datetime | None = None
) -> ReviewResponse:
    """The reviewed party answers a published review, once and publicly."""
    now = _now(at)
    if author.id != review.subject_id:
        raise NotAParty()
    if not review.is_published(now) or review.is_hidden:
        raise ReviewError(_l("You can answer once the review is published."))
    if review.response is not None:
        raise ReviewError(_l("You have already answered this review."))
    response = ReviewResponse(
        review_id=review.id, author_id=author.id, text=_clean_text(text), created_at=now
    )
    try:
        with db.session.begin_nested():
            db.session.add(response)
    except IntegrityError:
        raise ReviewError(_l("You have already answered this review.")) from None
    return response


# --- reading -------------------------------------------------------------------------------


@dataclass
class RatingSummary:
    """Published, not hidden guest reviews of one listing: count and means."""

    count: int = 0
    listed: int = 0  # published reviews including hidden ones (what the pages list)
    overall: float | None = None
    categories: dict[str, float | None] = field(default_factory=dict)


def listing_summary(listing_id: int, at: datetime | None = None) -> RatingSummary:
    """The listing's average (overall = mean of the six categories) and per category: one query."""
    now = _now(at)
    visible = Review.hidden_at.is_(None)
    stars_sum = sum((getattr(Review, c) for c in CATEGORIES[1:]), getattr(Review, CATEGORIES[0]))
    columns = [
        func.count(),
        func.count(case((visible, 1))),
        func.avg(case((visible, stars_sum))),
        *(func.avg(case((visible, getattr(Review, c)))) for c in CATEGORIES),
    ]
    row = db.session.execute(
        select(*columns).where(
            Review.listing_id == listing_id,
            Review.side == ReviewSide.GUEST,
            Review.published_at <= now,
        )
    ).one()
    listed, count, total_avg, *category_avgs = row
    if not count:
        return RatingSummary(listed=listed)
    return RatingSummary(
        count=count,
        listed=listed,
        overall=float(total_avg) / len(CATEGORIES),
        categories={
            c: float(v) if v is not None else None
            for c, v in zip(CATEGORIES, category_avgs, strict=True)
        },
    )


def page_count(total: int, per_page: int = PER_PAGE) -> int:
    """How many pages `total` reviews fill (at least one, so page 1 always exists)."""
    return max(1, math.ceil(total / per_page))


def listing_reviews(
    listing_id: int, page: int = 1, per_page: int = PER_PAGE, at: datetime | None = None
) -> list[Review]:
    """One page of the listing's published guest reviews, newest first, with author and
    answer: one query."""
    now = _now(at)
    return list(
        db.session.scalars(
            select(Review)
            .options(joinedload(Review.author), joinedload(Review.response))
            .where(
                Review.listing_id == listing_id,
                Review.side == ReviewSide.GUEST,
                Review.published_at <= now,
            )
            .order_by(Review.published_at.desc(), Review.id.desc())
            .limit(per_page)
            .offset((max(page, 1) - 1) * per_page)
        )
    )


@dataclass
class GuestRecord:
    count: int = 0
    average: float | None = None
    latest: list[Review] = field(default_factory=list)


def guest_record(
    guest_id: int, limit: int = 5, at: datetime | None = None, *, besides: int | None = None
) -> GuestRecord:
    """What hosts said about a guest after other stays (published and not hidden); `besides`
    leaves out the stay being looked at."""
    now = _now(at)
    where = (
        Review.subject_id == guest_id,
        Review.side == ReviewSide.HOST,
        Review.published_at <= now,
        Review.hidden_at.is_(None),
        Review.booking_id != (besides or 0),
    )
    count, average = db.session.execute(
        select(func.count(), func.avg(Review.rating)).where(*where)
    ).one()
    if not count:
        return GuestRecord()
    latest = list(
        db.session.scalars(
            select(Review)
            .options(joinedload(Review.author), joinedload(Review.response))
            .where(*where)
            .order_by(Review.published_at.desc(), Review.id.desc())
            .limit(limit)
        )
    )
    return GuestRecord(count=count, average=float(average), latest=latest)


def guest_summaries(guest_ids, at: datetime | None = None) -> dict[int, tuple[int, float]]:
    """(count, average rating) of hosts' published reviews per guest, for a list: one query."""
    ids = sorted(set(guest_ids))
    if not ids:
        return {}
    now = _now(at)
    rows = db.session.execute(
        select(Review.subject_id, func.count(), func.avg(Review.rating))
        .where(
            Review.subject_id.in_(ids),
            Review.side == ReviewSide.HOST,
            Review.published_at <= now,
            Review.hidden_at.is_(None),
        )
        .group_by(Review.subject_id)
    )
    return {subject: (count, float(avg)) for subject, count, avg in rows}


@dataclass
class BookingReviews:
    """What one party of a stay sees about its reviews."""

    side: ReviewSide
    mine: Review | None
    theirs: Review | None  # only once published
    theirs_waiting: bool  # the other side has written, hidden until I write or the window ends
    problem: str | None  # why I cannot write one now (None: I can)
    closes_at: datetime


def for_party(booking: Booking, user: User, at: datetime | None = None) -> BookingReviews | None:
    """The review state of a stay as its guest or host sees it (None for anyone else)."""
    side = side_of(booking, user)
    if side is None or booking.state != BookingState.COMPLETED:
        return None
    now = _now(at)
    existing = reviews_of(booking)
    other = existing.get(ReviewSide.HOST if side == ReviewSide.GUEST else ReviewSide.GUEST)
    published = other is not None and other.is_published(now)
    return BookingReviews(
        side=side,
        mine=existing.get(side),
        theirs=other if published else None,
        theirs_waiting=other is not None and not published,
        problem=review_problem(booking, side, existing, now),
        closes_at=window_closes(booking),
    )


# --- account deletion -----------------------------------------------------------------------


def erase_user(user: User) -> None:
    """Account deletion: the words the person wrote go, and so do hosts' words about them (they
    only served to describe that guest to future hosts). Star ratings of homes stay: they are
    about the home, and the author is no longer named."""
    from sqlalchemy import or_, update

    db.session.execute(
        update(Review)
        .where(
            or_(
                Review.author_id == user.id,
                (Review.subject_id == user.id) & (Review.side == ReviewSide.HOST),
            )
        )
        .values(text="")
    )
    db.session.execute(
        update(ReviewResponse).where(ReviewResponse.author_id == user.id).values(text="")
    )


def waiting_for_review(guest: User, stays: list[Booking], at: datetime | None = None):
    """Of `stays`, the completed ones whose review window is open and that `guest` has not
    reviewed yet, with the instant the window closes (one query)."""
    now = at or utcnow()
    completed = [b for b in stays if b.state == BookingState.COMPLETED]
    if not completed:
        return {}
    reviewed = set(
        db.session.scalars(
            select(Review.booking_id).where(
                Review.author_id == guest.id,
                Review.booking_id.in_([b.id for b in completed]),
            )
        )
    )
    waiting = {}
    for booking in completed:
        closes = window_closes(booking)
        if booking.id not in reviewed and now < closes:
            waiting[booking.id] = closes
    return waiting

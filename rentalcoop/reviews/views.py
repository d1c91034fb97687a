"""Review pages: write a review of a stay, answer one about you. Thin: access, form, service."""

from __future__ import annotations

from flask import abort, flash, redirect, render_template, url_for
from flask_login import current_user, login_required
from sqlalchemy.orm import joinedload

from rentalcoop.access import require
from rentalcoop.bookings import services as bookings
from rentalcoop.bookings.models import Booking
from rentalcoop.db import utcnow
from rentalcoop.errors import render_error
from rentalcoop.extensions import db
from rentalcoop.i18n import _
from rentalcoop.reviews import bp, services
from rentalcoop.reviews.forms import AnswerForm, GuestReviewForm, HostReviewForm
from rentalcoop.reviews.models import Review, ReviewSide
from rentalcoop.reviews.services import ReviewError


def _booking_or_404(booking_id: int) -> Booking:
    booking = bookings.get_booking(booking_id)
    if booking is None:
        abort(404)
    return booking


def _back(booking: Booking):
    return redirect(url_for("bookings.show", booking_id=booking.id, _anchor="reviews"), 303)


@bp.route("/bookings/<int:booking_id>/review", methods=["GET", "POST"])
@login_required
def write(booking_id: int):
    """A party of a completed stay reviews the other within 14 days."""
    booking = _booking_or_404(booking_id)
    side = services.side_of(booking, current_user)
    require(side is not None)
    state = services.for_party(booking, current_user)
    # No review state: the stay is not completed (the service says so in its words).
    problem = state.problem if state else services.review_problem(booking, side, {}, utcnow())
    form = GuestReviewForm() if side == ReviewSide.GUEST else HostReviewForm()
    if problem is not None:
        return render_template(
            "reviews/write.html", booking=booking, side=side, form=None, problem=problem
        ), 409
    if not form.validate_on_submit():
        status = 422 if form.is_submitted() else 200
        return render_template(
            "reviews/write.html", booking=booking, side=side, form=form, state=state
        ), status
    try:
        review = services.write_review(
            booking, current_user, stars=form.stars(), text=form.text.data
        )
    except ReviewError as err:
        db.session.rollback()
        flash(err.message, "error")
        return render_template(
            "reviews/write.html",
            booking=_booking_or_404(booking_id),
            side=side,
            form=form,
            problem=err.message,
        ), err.status_code
    published = review.is_published()
    db.session.commit()
    if published:
        flash(_("Thank you! Both reviews are now published."), "success")
    else:
        flash(
            _(
                "Thank you! Your review will be published when the other side has reviewed too, "
                "or when the 14 days are over."
            ),
            "success",
        )
    return _back(booking)


@bp.post("/reviews/<int:review_id>/answer")
@login_required
def answer(review_id: int):
    """The reviewed party answers a published review, once."""
    review = db.session.get(Review, review_id, options=[joinedload(Review.response)])
    if review is None:
        abort(404)
    require(review.subject_id == current_user.id)
    booking = _booking_or_404(review.booking_id)
    form = AnswerForm()
    if not form.validate_on_submit():
        return render_error(422, " ".join(str(e) for e in form.text.errors) or None)
    try:
        services.answer_review(review, current_user, form.text.data)
    except ReviewError as err:
        db.session.rollback()
        return render_error(err.status_code, err.message)
    db.session.commit()
    flash(_("Your answer is published."), "success")
    return _back(booking)

"""Message pages: a booking's thread, sending a message, the inbox. Thin: access, form, service."""

from __future__ import annotations

from flask import abort, current_app, flash, redirect, render_template, url_for
from flask_login import current_user, login_required

from rentalcoop.access import require
from rentalcoop.bookings import services as bookings
from rentalcoop.bookings.models import Booking
from rentalcoop.db import begin_write
from rentalcoop.errors import render_error
from rentalcoop.extensions import db, limiter
from rentalcoop.i18n import _
from rentalcoop.messaging import bp, services
from rentalcoop.messaging.forms import MessageForm
from rentalcoop.messaging.services import MessageError


def _booking_or_404(booking_id: int) -> Booking:
    booking = bookings.get_booking(booking_id)
    if booking is None:
        abort(404)
    return booking


@bp.get("/bookings/<int:booking_id>/messages")
@login_required
def thread(booking_id: int):
    """The whole conversation of a booking; opening it marks the messages to you as read."""
    booking = _booking_or_404(booking_id)
    require(services.may_read(booking, current_user))
    is_party = services.is_party(booking, current_user)
    if is_party:
        begin_write(db.session)
        if services.mark_read(booking, current_user):
            db.session.commit()
        else:
            db.session.rollback()
        booking = _booking_or_404(booking_id)
    return render_template(
        "messaging/thread.html",
        booking=booking,
        messages=services.thread(booking),
        form=MessageForm() if is_party else None,
        is_party=is_party,
    )


def _per_person() -> str:
    return f"messages:{current_user.id}" if current_user.is_authenticated else "anonymous"


@bp.post("/bookings/<int:booking_id>/messages")
@login_required
@limiter.limit(
    lambda: current_app.config["MESSAGE_RATE_LIMIT"],  # config.py has the default
    key_func=_per_person,
)
def send(booking_id: int):
    """A party writes to the other party of the booking."""
    booking = _booking_or_404(booking_id)
    require(services.is_party(booking, current_user))
    form = MessageForm()
    if not form.validate_on_submit():
        return render_error(422, " ".join(str(e) for e in form.body.errors) or None)
    try:
        services.send_message(booking, current_user, form.body.data)
    except MessageError as err:
        db.session.rollback()
        return render_error(err.status_code, err.message)
    db.session.commit()
    flash(_("Message sent."), "success")
    if form.return_to.data == "booking":
        return redirect(url_for("bookings.show", booking_id=booking_id, _anchor="messages"), 303)
    return redirect(url_for("messaging.thread", booking_id=booking_id, _anchor="last"), 303)


@bp.get("/messages")
@login_required
def inbox():
    """Your conversations, newest first, with how many messages you have not read."""
    return render_template("messaging/inbox.html", threads=services.inbox(current_user))

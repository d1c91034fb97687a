"""Bookings: holding nights, the lifecycle, cancellation."""

from flask import Blueprint

bp = Blueprint("bookings", __name__, template_folder="templates")

from rentalcoop.bookings import jobs, models, views  # noqa: E402, F401


@bp.app_template_global()
def load_booking(booking_id: int):
    """For mail templates, which are rendered later from the outbox with only the id."""
    from rentalcoop.bookings.models import Booking
    from rentalcoop.extensions import db

    return db.session.get(Booking, booking_id)

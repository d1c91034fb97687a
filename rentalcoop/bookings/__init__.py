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


@bp.app_context_processor
def open_requests():
    """`open_request_count()` for the header's badge: the host's requests waiting for an
    answer, one indexed count, only when a page asks, at most once per request."""
    from flask import g, has_request_context
    from flask_login import current_user

    def open_request_count() -> int:
        if not has_request_context() or not current_user.is_authenticated:
            return 0
        if not current_user.is_member:
            return 0
        if "_open_requests" not in g:
            from rentalcoop.bookings.services import open_request_count as count

            g._open_requests = count(current_user.id)
        return g._open_requests

    return {"open_request_count": open_request_count}

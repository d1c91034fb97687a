"""Bookings: holding nights, the lifecycle, cancellation."""

from flask import Blueprint

bp = Blueprint("bookings", __name__, template_folder="templates")

from rentalcoop.bookings import models  # noqa: E402, F401

"""Reviews: after a completed stay, guest and host review each other, revealed together."""

from flask import Blueprint

bp = Blueprint("reviews", __name__, template_folder="templates")

from rentalcoop.reviews import models, views  # noqa: E402, F401

"""Messages: one thread per booking between its guest and its host."""

from flask import Blueprint

bp = Blueprint("messaging", __name__, template_folder="templates")

from rentalcoop.messaging import models, views  # noqa: E402, F401

"""Calendar feeds: reading other platforms' iCal exports and writing our own (DESIGN §8)."""

from flask import Blueprint

bp = Blueprint("calendar", __name__, template_folder="templates", cli_group="calendar")

from rentalcoop.calendar import models, sync, views  # noqa: E402, F401

"""Municipality statistics: frozen, anonymised releases (DESIGN §13)."""

from flask import Blueprint

bp = Blueprint("stats", __name__, url_prefix="/stats", template_folder="templates")

from rentalcoop.stats import commands, jobs, models, views  # noqa: E402, F401

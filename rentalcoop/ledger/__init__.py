"""The ledger: double-entry, append-only books of the cooperative (DESIGN §9)."""

from flask import Blueprint

bp = Blueprint("ledger", __name__, template_folder="templates")

from rentalcoop.ledger import guards, models, views  # noqa: E402, F401

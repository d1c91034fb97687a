"""Data portability: a person downloads everything the cooperative holds about them."""

from flask import Blueprint

bp = Blueprint("portability", __name__, template_folder="templates")

from rentalcoop.portability import views  # noqa: E402, F401

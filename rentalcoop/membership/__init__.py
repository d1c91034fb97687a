"""Membership of the cooperative: applications, the board's member register, town accounts."""

from flask import Blueprint

bp = Blueprint("membership", __name__, template_folder="templates")

from rentalcoop.membership import views  # noqa: E402, F401

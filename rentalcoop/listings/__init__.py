"""Listings: the homes hosts offer and the pages guests see."""

from flask import Blueprint

bp = Blueprint("listings", __name__, template_folder="templates")

from rentalcoop.listings import views  # noqa: E402, F401

"""Moderation: parties report reviews, answers and messages; the board hides or keeps them."""

from flask import Blueprint

bp = Blueprint("moderation", __name__, template_folder="templates")

from rentalcoop.moderation import models, views  # noqa: E402, F401

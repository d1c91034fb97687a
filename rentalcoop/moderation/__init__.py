"""Moderation: parties report reviews, answers and messages; the board hides or keeps them."""

from flask import Blueprint

bp = Blueprint("moderation", __name__, template_folder="templates")

from rentalcoop.moderation import models, services, views  # noqa: E402, F401


def _register_eraser() -> None:
    from rentalcoop.accounts.services import register_eraser

    register_eraser(services.erase_user)


_register_eraser()

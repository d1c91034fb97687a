"""Wishlists (issue 16): a signed-in person saves homes to look at again ("Saved homes")."""

from flask import Blueprint, g, has_request_context
from flask_login import current_user

bp = Blueprint("wishlists", __name__, template_folder="templates")

from rentalcoop.wishlists import models, services, views  # noqa: E402, F401


@bp.app_template_global()
def is_saved_home(listing_id: int) -> bool:
    """Whether the signed-in person saved this home (the listing page's button; one query)."""
    if not has_request_context() or not current_user.is_authenticated:
        return False
    cache = g.setdefault("_saved_homes", {})
    if listing_id not in cache:
        cache[listing_id] = bool(services.saved_among(current_user.id, [listing_id]))
    return cache[listing_id]


def _register_eraser() -> None:
    from rentalcoop.accounts.services import register_eraser

    register_eraser(services.erase_user)


_register_eraser()

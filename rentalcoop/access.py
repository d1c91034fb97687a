"""The one place access is decided. Every view asks here; every denial is a translated 403.

- `role_required(Role.BOARD)` guards a view by role (logging in first when anonymous).
- `require(condition)` guards an object check inside a view (`require(listing.host_id == me.id)`).
- Municipality accounts see the statistics and their own account pages, nothing else (DESIGN §1).
"""

from __future__ import annotations

from collections.abc import Callable
from functools import wraps

from flask import abort, request
from flask_login import current_user

from rentalcoop.accounts.models import Role
from rentalcoop.extensions import login_manager

# Endpoints a municipality account may reach besides its statistics.
MUNICIPALITY_ENDPOINTS = {
    "static",
    "main.healthz",
    "identity.privacy",
    "identity.terms",
    "identity.contact",
    "accounts.logout",
    "accounts.settings",
    "accounts.change_password",
    "accounts.change_email",
}


def deny():
    abort(403)


def require(condition: bool) -> None:
    """Refuse with 403 unless `condition` holds (an object-level check)."""
    if not condition:
        deny()


def role_required(*roles: Role) -> Callable:
    """Only signed-in users holding one of `roles` may use the view."""

    def decorator(view: Callable) -> Callable:
        @wraps(view)
        def wrapped(*args, **kwargs):
            if not current_user.is_authenticated:
                return login_manager.unauthorized()
            require(current_user.has_role(*roles))
            return view(*args, **kwargs)

        return wrapped

    return decorator


def confine_municipality() -> None:
    """Before each request: keep municipality accounts inside `/stats/` and their account."""
    if not current_user.is_authenticated or not current_user.is_municipality:
        return
    endpoint = request.endpoint or ""
    if endpoint in MUNICIPALITY_ENDPOINTS or endpoint.startswith("stats."):
        return
    deny()

"""Download my data: one ZIP of everything the cooperative holds about the signed-in person."""

from __future__ import annotations

from flask import current_app, send_file
from flask_limiter.util import get_remote_address
from flask_login import current_user, login_required

from rentalcoop.extensions import limiter
from rentalcoop.portability import bp
from rentalcoop.portability.export import export_file


def _per_person() -> str:
    if current_user.is_authenticated:
        return f"export:{current_user.id}"
    return get_remote_address()


@bp.get("/account/export.zip")
@login_required
@limiter.limit(
    lambda: current_app.config["EXPORT_RATE_LIMIT"],  # config.py has the default
    key_func=_per_person,
)
def export():
    """Your profile, listings, photos, calendar, bookings, messages, reviews and money records."""
    user = current_user._get_current_object()
    return send_file(
        export_file(user),
        mimetype="application/zip",
        as_attachment=True,
        download_name=f"rentalcoop-data-{user.id}.zip",
        max_age=0,
    )

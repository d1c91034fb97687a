"""Listings: the homes hosts offer and the pages guests see."""

from flask import Blueprint

bp = Blueprint("listings", __name__, template_folder="templates")

from rentalcoop.listings import views  # noqa: E402, F401


@bp.record_once
def _template_helpers(state) -> None:
    from rentalcoop.listings.calendar_view import month_table

    state.app.jinja_env.globals["month_table"] = month_table

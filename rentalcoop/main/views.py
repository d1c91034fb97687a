"""Home, about and health."""

from flask import jsonify, render_template, request
from sqlalchemy import text

from rentalcoop.extensions import db
from rentalcoop.i18n import _
from rentalcoop.listings import services as listings
from rentalcoop.main import bp
from rentalcoop.main.forms import SearchForm


@bp.get("/")
def index():
    """The search page: published stays, filtered by area and guests."""
    areas = listings.areas()
    form = SearchForm(request.args)
    form.area.choices = [("", _("Anywhere in town"))] + [(a.code, a.name) for a in areas]
    valid = form.validate()
    results = listings.published_listings(
        area_code=form.area.data if valid else None,
        guests=form.guests.data if valid else None,
    )
    status = 200 if valid or not request.args else 422
    return render_template("main/index.html", form=form, listings=results), status


@bp.get("/about")
def about():
    """What the cooperative is, how the money works and what the community fund does."""
    return render_template("main/about.html")


@bp.get("/healthz")
def healthz():
    """For load balancers and uptime checks: is the app up and can it reach its database?"""
    try:
        db.session.execute(text("SELECT 1"))
    except Exception:  # noqa: BLE001 - any failure means "not healthy"
        db.session.rollback()
        return jsonify(status="error", database="unreachable"), 503
    return jsonify(status="ok", database="ok")

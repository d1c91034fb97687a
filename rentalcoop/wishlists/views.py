"""The Saved page and the save/unsave buttons (plain forms: they work without JavaScript)."""

from __future__ import annotations

from urllib.parse import urlsplit

from flask import abort, flash, redirect, render_template, request, url_for
from flask_login import current_user, login_required

from rentalcoop.extensions import db
from rentalcoop.i18n import _
from rentalcoop.listings import services as listings
from rentalcoop.listings.forms import StayForm
from rentalcoop.wishlists import bp, services
from rentalcoop.wishlists.forms import SaveForm
from rentalcoop.wishlists.services import SAVED_CAP, WishlistError


def _back(form: SaveForm) -> str:
    """Where the button was pressed: a same-site path only (no open redirect)."""
    target = form.next.data or ""
    parts = urlsplit(target)
    if parts.scheme or parts.netloc or not target.startswith("/") or target.startswith("//"):
        return url_for("wishlists.saved")
    return target


@bp.post("/saved/<int:listing_id>")
@login_required
def save(listing_id: int):
    """Save a home to the person's list, and go back to where they were."""
    form = SaveForm()
    if not form.validate_on_submit():
        abort(400)
    listing = listings.get_published_listing(listing_id)
    if listing is None:
        abort(404)
    try:
        services.save_home(current_user._get_current_object(), listing)
    except WishlistError as err:
        db.session.rollback()
        flash(err.message, "error")
        return redirect(_back(form), 303)
    db.session.commit()
    flash(_("Saved. You find it under Saved homes."), "success")
    return redirect(_back(form), 303)


@bp.post("/saved/<int:listing_id>/remove")
@login_required
def unsave(listing_id: int):
    """Take a home off the person's list (their own list only: the key is theirs)."""
    form = SaveForm()
    if not form.validate_on_submit():
        abort(400)
    services.unsave_home(current_user, listing_id)
    db.session.commit()
    flash(_("Removed from your saved homes."), "info")
    return redirect(_back(form), 303)


@bp.get("/saved")
@login_required
def saved():
    """The person's saved homes, with whether each is free on the dates asked."""
    stay = StayForm(request.args)
    valid = stay.validate() and stay.check_in.data and stay.check_out.data
    dates = (stay.check_in.data, stay.check_out.data, stay.guests.data) if valid else ()
    return render_template(
        "wishlists/saved.html",
        saved=services.saved_homes(current_user, *dates),
        stay=stay,
        has_stay=bool(valid),
        cap=SAVED_CAP,
        form=SaveForm(formdata=None),
    )

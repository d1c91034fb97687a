"""Calendar pages: the export feed, and the host's feeds on the listing's calendar page."""

from __future__ import annotations

from flask import (
    Response,
    abort,
    current_app,
    flash,
    g,
    redirect,
    request,
    url_for,
)
from flask_login import current_user, login_required

from rentalcoop.calendar import bp, services, sync
from rentalcoop.calendar.forms import ButtonForm, FeedForm
from rentalcoop.calendar.services import CalendarError
from rentalcoop.extensions import db, limiter
from rentalcoop.i18n import _
from rentalcoop.listings import pricing
from rentalcoop.listings.models import Listing

PANEL = "calendar-feeds"


# --- export ---------------------------------------------------------------------------------


@bp.get("/ical/<token>.ics")
def export(token: str):
    """The listing's bookings and blocks as iCalendar, for other platforms to import."""
    listing = services.listing_for_token(token)
    if listing is None:
        abort(404)
    body, etag = services.export_feed(listing, host=services.uid_domain(request.host))
    db.session.commit()  # the block ranges' ids, when the host's blocks changed
    response = Response(body, mimetype="text/calendar")
    response.set_etag(etag)
    response.headers["Cache-Control"] = "private, no-cache"
    response.headers["X-Robots-Tag"] = "noindex"
    response.headers["Content-Disposition"] = "inline; filename=calendar.ics"
    return response.make_conditional(request)


# --- host: the panel on the listing's calendar page -----------------------------------------


def _own_listing(listing_id: int) -> Listing:
    from rentalcoop.listings.views import get_own_listing_or_404

    return get_own_listing_or_404(listing_id)


def _back(listing: Listing):
    return redirect(url_for("listings.calendar", listing_id=listing.id, _anchor=PANEL), 303)


@bp.app_context_processor
def calendar_panel_helpers():
    return {"calendar_feeds_panel": feeds_panel}


def feeds_panel(listing: Listing) -> dict:
    """What `calendar/_feeds.html` shows for the host's listing."""
    export = services.export_of(listing)
    return {
        "listing": listing,
        "feeds": services.feed_views(listing, pricing.coop_date()),
        "conflicts": services.open_conflicts(listing),
        "export_url": (
            url_for("calendar.export", token=export.token, _external=True) if export else None
        ),
        "feed_form": g.get("calendar_feed_form") or FeedForm(formdata=None),
        "button_form": ButtonForm(formdata=None),
    }


def _require_button() -> None:
    if not ButtonForm().validate_on_submit():
        abort(400)


@bp.post("/host/listings/<int:listing_id>/calendar/feeds")
@login_required
def add_feed(listing_id: int):
    """Follow another platform's calendar of this home."""
    from rentalcoop.listings.views import _calendar_page

    listing = _own_listing(listing_id)
    form = FeedForm()
    if form.validate_on_submit():
        try:
            services.add_feed(listing, form.name.data, form.url.data)
        except CalendarError as err:
            db.session.rollback()
            form.url.errors = [err.message]
        else:
            db.session.commit()
            flash(_("The calendar is added. It is read within a few minutes."), "success")
            return _back(listing)
    g.calendar_feed_form = form
    return _calendar_page(_own_listing(listing_id), 422)


@bp.post("/host/listings/<int:listing_id>/calendar/feeds/<int:feed_id>/delete")
@login_required
def remove_feed(listing_id: int, feed_id: int):
    """Stop following a calendar; the nights it blocked open again."""
    listing = _own_listing(listing_id)
    _require_button()
    feed = services.get_feed(listing, feed_id)
    if feed is None:
        abort(404)
    services.remove_feed(feed)
    db.session.commit()
    flash(_("The calendar is removed and the nights it blocked are open again."), "success")
    return _back(listing)


def _sync_now_key() -> str:
    return f"calendar-sync-now:{current_user.id}"


@bp.post("/host/listings/<int:listing_id>/calendar/feeds/<int:feed_id>/sync")
@login_required
@limiter.limit(
    lambda: current_app.config.get("CALENDAR_SYNC_NOW_LIMIT", "6 per hour"),
    key_func=_sync_now_key,
)
def sync_now(listing_id: int, feed_id: int):
    """Read the calendar now instead of waiting for its next turn."""
    listing = _own_listing(listing_id)
    _require_button()
    feed = services.get_feed(listing, feed_id)
    if feed is None:
        abort(404)
    try:
        ok = sync.sync_feed_now(feed)
    except CalendarError as err:
        db.session.rollback()
        flash(err.message, "error")
        return _back(listing)
    if ok:
        flash(_("The calendar is updated."), "success")
    else:
        flash(_("The calendar could not be read. The reason is shown below."), "error")
    return _back(listing)


@bp.post("/host/listings/<int:listing_id>/calendar/export-link")
@login_required
def regenerate_export(listing_id: int):
    """Make a new export link; the old one stops working."""
    listing = _own_listing(listing_id)
    _require_button()
    had_one = services.export_of(listing) is not None
    services.regenerate_export_token(listing)
    db.session.commit()
    if had_one:
        flash(
            _(
                "The export link is new. Paste it into the other platforms again: "
                "the old link no longer works."
            ),
            "success",
        )
    else:
        flash(_("Your export link is ready. Paste it into the other platforms."), "success")
    return _back(listing)


@bp.app_template_global()
def load_calendar_conflict(conflict_id: int):
    """For the conflict mail."""
    return services.load_conflict(conflict_id)


@bp.app_template_global()
def calendar_page_url(listing_id: int) -> str:
    """The listing's calendar page as a full URL, or "" where none can be built (a job run
    without SERVER_NAME)."""
    try:
        return url_for("listings.calendar", listing_id=listing_id, _external=True, _anchor=PANEL)
    except RuntimeError:
        return ""

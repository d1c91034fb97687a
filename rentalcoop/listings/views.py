"""Listing pages: the guest's listing page, the host's pages and photo files."""

from __future__ import annotations

from datetime import date

from flask import abort, flash, redirect, render_template, request, send_from_directory, url_for
from flask_babel import ngettext
from flask_login import current_user, login_required
from wtforms.fields.choices import SelectChoice

from rentalcoop.access import require
from rentalcoop.extensions import db
from rentalcoop.i18n import _
from rentalcoop.listings import availability, bp, calendar_view, photos, pricing, reads, services
from rentalcoop.listings.forms import (
    ActionForm,
    AltTextForm,
    BlockForm,
    ListingForm,
    PhotoForm,
    PriceForm,
    RulesForm,
    StayForm,
)
from rentalcoop.listings.models import CANCELLATION_FOOTNOTE, Listing, ListingState
from rentalcoop.listings.services import ListingError

GUEST_CALENDAR_MONTHS = 3

# --- Access ------------------------------------------------------------------------------------


def get_own_listing_or_404(listing_id: int) -> Listing:
    """The signed-in host's listing: 404 when it does not exist, 403 when it is someone else's."""
    listing = services.get_listing(listing_id)
    if listing is None:
        abort(404)
    require(listing.host_id == current_user.id)
    return listing


def _get_photo_or_404(listing: Listing, photo_id: int):
    photo = photos.get_photo(listing, photo_id)
    if photo is None:
        abort(404)
    return photo


# --- Guests ------------------------------------------------------------------------------------


@bp.get("/listings/<int:listing_id>")
def show(listing_id: int):
    """One listing with photos, rules, availability and (given dates) the full price."""
    listing = services.get_listing(listing_id)
    is_owner = (
        listing is not None and current_user.is_authenticated and listing.host_id == current_user.id
    )
    if listing is None or not (listing.is_published or is_owner):
        abort(404)
    today = pricing.coop_date()
    form = StayForm(request.args)
    quote = problem = None
    status = 200
    # A check-in alone is the first click on the calendar (the check-out comes next): its date
    # is checked, the missing check-out is not an error yet.
    choosing_check_out = bool(request.args.get("check_in")) and not request.args.get("check_out")
    if choosing_check_out:
        form.validate()
        form.check_out.errors = []
        if form.check_in.errors:
            status = 422
            choosing_check_out = False
    elif request.args.get("check_in") or request.args.get("check_out"):
        if form.validate():
            guests = form.guests.data or 1
            check_in, check_out = form.check_in.data, form.check_out.data
            # Outside the listing's booking window: refused before any night is priced.
            problem = availability.window_problem(listing, check_in, check_out, today)
            if problem is None:
                try:
                    quote = pricing.quote(listing, check_in, check_out, guests)
                except pricing.PricingError as err:
                    problem = err.message
                else:
                    problem = availability.stay_rule_problem(listing, check_in, check_out, today)
                    if problem is None and not availability.is_free(
                        listing.id, check_in, check_out
                    ):
                        problem = _("Some of these nights are already taken.")
        else:
            status = 422
    start = calendar_view.first_of_month(today)
    months = calendar_view.months(listing, start, GUEST_CALENDAR_MONTHS, today)
    picks = _calendar_picks(listing, months, form, choosing_check_out)
    return render_template(
        "listings/show.html",
        listing=listing,
        form=form,
        quote=quote,
        problem=problem,
        months=months,
        week=calendar_view.weekday_names(),
        is_owner=is_owner,
        cancellation_footnote=CANCELLATION_FOOTNOTE,
        picks=picks,
        choosing_check_out=choosing_check_out,
    ), status


def _calendar_picks(
    listing: Listing, months: list, form: StayForm, choosing_check_out: bool
) -> calendar_view.Picker:
    """The calendar's day links: each opens this page with the dates it chooses, so the price
    box updates without JavaScript (static/js/stay-calendar.js picks without reloading)."""
    guests = form.guests.data if not form.guests.errors else None
    has_stay = not form.errors and form.check_in.data and form.check_out.data
    check_in = form.check_in.data if choosing_check_out or has_stay else None
    check_out = form.check_out.data if has_stay else None
    base = url_for("listings.show", listing_id=listing.id)
    extra = f"&guests={guests}" if guests else ""

    def href(night: date, action: str) -> str:
        if action == "in":
            return f"{base}?check_in={night.isoformat()}{extra}#availability"
        return (
            f"{base}?check_in={check_in.isoformat()}&check_out={night.isoformat()}{extra}#price-box"
        )

    return calendar_view.picker(listing, months, check_in, check_out, href)


@bp.get("/listings/<int:listing_id>/photos/<int:number>")
def photo(listing_id: int, number: int):
    """One photo of a listing, large, with the previous and next ones a link away."""
    listing = services.get_listing(listing_id)
    is_owner = (
        listing is not None and current_user.is_authenticated and listing.host_id == current_user.id
    )
    if listing is None or not (listing.is_published or is_owner):
        abort(404)
    shown = listing.photos
    if not 1 <= number <= len(shown):
        abort(404)
    return render_template(
        "listings/photo.html",
        listing=listing,
        photo=shown[number - 1],
        number=number,
        count=len(shown),
    )


@bp.get("/media/photos/<string:token>-<string:variant>.jpg")
def photo_file(token: str, variant: str):
    """A stored photo size. Names are random and content never changes: cache for a year."""
    if variant not in photos.VARIANTS or not token.isalnum() or len(token) != 32:
        abort(404)
    response = send_from_directory(
        photos.upload_dir(), photos.filename(token, variant), max_age=31_536_000
    )
    response.cache_control.public = True
    response.cache_control.immutable = True
    return response


# --- Hosts: listings ---------------------------------------------------------------------------


@bp.get("/host/listings")
@login_required
def mine():
    """The host's listings and what can be done with each."""
    return render_template(
        "listings/host/index.html",
        listings=services.host_listings(current_user),
        action_form=ActionForm(),
        cap=services.max_active_listings(),
    )


def _listing_form(formdata=None, obj: Listing | None = None) -> tuple[ListingForm, dict]:
    areas = reads.area_rows()  # the header's district picker reads the same rows
    form = ListingForm(formdata=formdata, obj=obj)
    if obj is not None and formdata is None:
        # Set after construction: WTForms prefers the object's attribute of the same name
        # (`area`, an Area) over keyword data, which left the district unchosen.
        form.area.data = obj.area.code
        form.nightly_price.data = obj.nightly_price_ore
        form.cleaning_fee.data = obj.cleaning_fee_ore
    form.area.choices = [SelectChoice("", _("Choose a district"))] + [
        SelectChoice(a.code, a.name) for a in areas
    ]
    return form, {a.code: a.id for a in areas}


@bp.route("/host/listings/new", methods=["GET", "POST"])
@login_required
def new():
    """Describe a new home (saved as a draft; publishing is a separate step)."""
    require(current_user.is_member)
    form, area_ids = _listing_form(request.form if request.method == "POST" else None)
    if not form.validate_on_submit():
        status = 422 if request.method == "POST" else 200
        return render_template("listings/host/form.html", form=form, listing=None), status
    try:
        listing = services.create_listing(current_user, form.listing_data(area_ids))
    except ListingError as err:
        flash(err.message, "error")
        return render_template("listings/host/form.html", form=form, listing=None), 422
    db.session.commit()
    flash(_("Your listing is saved as a draft. Add photos, then publish it."), "success")
    return redirect(url_for("listings.photos_page", listing_id=listing.id), 303)


@bp.route("/host/listings/<int:listing_id>/edit", methods=["GET", "POST"])
@login_required
def edit(listing_id: int):
    """Change what the listing says."""
    listing = get_own_listing_or_404(listing_id)
    if request.method == "POST":
        form, area_ids = _listing_form(request.form)
    else:
        form, area_ids = _listing_form(None, obj=listing)
    if not form.validate_on_submit():
        status = 422 if request.method == "POST" else 200
        return render_template("listings/host/form.html", form=form, listing=listing), status
    try:
        services.update_listing(listing, form.listing_data(area_ids))
    except ListingError as err:
        db.session.rollback()
        flash(err.message, "error")
        listing = get_own_listing_or_404(listing_id)
        return render_template("listings/host/form.html", form=form, listing=listing), 422
    db.session.commit()
    flash(_("Your changes are saved."), "success")
    return redirect(url_for("listings.mine"), 303)


def _change_state(listing_id: int, state: ListingState, done: str):
    listing = get_own_listing_or_404(listing_id)
    if not ActionForm().validate_on_submit():
        abort(400)
    try:
        services.change_state(listing, state, current_user)
    except ListingError as err:
        db.session.rollback()
        flash(err.message, "error")
        return redirect(url_for("listings.mine"), 303)
    db.session.commit()
    flash(done, "success")
    return redirect(url_for("listings.mine"), 303)


@bp.post("/host/listings/<int:listing_id>/publish")
@login_required
def publish(listing_id: int):
    """Show the listing to guests (registration number and the per-host cap permitting)."""
    return _change_state(listing_id, ListingState.PUBLISHED, _("Your listing is published."))


@bp.post("/host/listings/<int:listing_id>/pause")
@login_required
def pause(listing_id: int):
    """Hide the listing from search for a while."""
    return _change_state(listing_id, ListingState.PAUSED, _("Your listing is paused."))


@bp.post("/host/listings/<int:listing_id>/archive")
@login_required
def archive(listing_id: int):
    """Retire the listing for good."""
    return _change_state(listing_id, ListingState.ARCHIVED, _("Your listing is archived."))


# --- Hosts: photos -----------------------------------------------------------------------------


def _photos_page(listing: Listing, form: PhotoForm | None = None, status: int = 200):
    return render_template(
        "listings/host/photos.html",
        listing=listing,
        form=form or PhotoForm(formdata=None),
        action_form=ActionForm(formdata=None),
        alt_forms={p.id: AltTextForm(formdata=None, alt_text=p.alt_text) for p in listing.photos},
        max_photos=photos.MAX_PHOTOS,
    ), status


@bp.get("/host/listings/<int:listing_id>/photos")
@login_required
def photos_page(listing_id: int):
    """The listing's photos: upload, describe, reorder, delete."""
    return _photos_page(get_own_listing_or_404(listing_id))


@bp.post("/host/listings/<int:listing_id>/photos")
@login_required
def upload_photo(listing_id: int):
    """Add a photo (checked and re-encoded; location data removed)."""
    listing = get_own_listing_or_404(listing_id)
    form = PhotoForm()
    if not form.validate_on_submit():
        return _photos_page(listing, form, 422)
    upload = request.files.get("photo")
    if upload is None or not upload.filename:
        form.photo.errors = [_("Please choose a photo to upload.")]
        return _photos_page(listing, form, 422)
    try:
        photos.add_photo(listing, upload.stream, form.alt_text.data or "")
    except photos.PhotoError as err:
        db.session.rollback()
        form.photo.errors = [err.message]
        return _photos_page(get_own_listing_or_404(listing_id), form, 422)
    db.session.commit()
    flash(_("Photo added."), "success")
    return redirect(url_for("listings.photos_page", listing_id=listing.id), 303)


@bp.post("/host/listings/<int:listing_id>/photos/<int:photo_id>")
@login_required
def update_photo(listing_id: int, photo_id: int):
    """Change a photo's description."""
    listing = get_own_listing_or_404(listing_id)
    photo = _get_photo_or_404(listing, photo_id)
    form = AltTextForm()
    if not form.validate_on_submit():
        return _photos_page(listing, status=422)
    photo.alt_text = (form.alt_text.data or "").strip()
    db.session.commit()
    flash(_("Description saved."), "success")
    return redirect(url_for("listings.photos_page", listing_id=listing.id), 303)


@bp.post("/host/listings/<int:listing_id>/photos/<int:photo_id>/move")
@login_required
def move_photo(listing_id: int, photo_id: int):
    """Move a photo earlier or later; the first one is the cover."""
    listing = get_own_listing_or_404(listing_id)
    photo = _get_photo_or_404(listing, photo_id)
    if not ActionForm().validate_on_submit():
        abort(400)
    offset = {"up": -1, "down": 1, "first": -1000}.get(request.form.get("direction", ""))
    if offset is None:
        abort(400)
    photos.move_photo(listing, photo, offset)
    db.session.commit()
    return redirect(url_for("listings.photos_page", listing_id=listing.id), 303)


@bp.post("/host/listings/<int:listing_id>/photos/<int:photo_id>/delete")
@login_required
def delete_photo(listing_id: int, photo_id: int):
    """Remove a photo and its files."""
    listing = get_own_listing_or_404(listing_id)
    photo = _get_photo_or_404(listing, photo_id)
    if not ActionForm().validate_on_submit():
        abort(400)
    token = photos.delete_photo(listing, photo)
    db.session.commit()
    photos.remove_files(token)
    flash(_("Photo deleted."), "success")
    return redirect(url_for("listings.photos_page", listing_id=listing.id), 303)


# --- Hosts: calendar ---------------------------------------------------------------------------


def _calendar_page(listing: Listing, status: int = 200, **forms):
    today = pricing.coop_date()
    month = calendar_view.parse_month(request.args.get("month"), today)
    months = calendar_view.months(listing, month, 2, today)
    previous = calendar_view.add_months(month, -1)
    following = calendar_view.add_months(month, 1)
    rules = RulesForm(formdata=None, obj=listing)
    return render_template(
        "listings/host/calendar.html",
        listing=listing,
        months=months,
        week=calendar_view.weekday_names(),
        month=month,
        previous=previous,
        following=following,
        block_form=forms.get("block_form") or BlockForm(formdata=None),
        price_form=forms.get("price_form") or PriceForm(formdata=None),
        rules_form=forms.get("rules_form") or rules,
    ), status


def _back_to_calendar(listing: Listing, first: date | None = None):
    month = (first or pricing.coop_date()).strftime("%Y-%m")
    return redirect(url_for("listings.calendar", listing_id=listing.id, month=month), 303)


@bp.get("/host/listings/<int:listing_id>/calendar")
@login_required
def calendar(listing_id: int):
    """The month view: free, blocked, booked and imported nights, with prices."""
    return _calendar_page(get_own_listing_or_404(listing_id))


@bp.post("/host/listings/<int:listing_id>/calendar/block")
@login_required
def block(listing_id: int):
    """Block or open a range of nights."""
    listing = get_own_listing_or_404(listing_id)
    form = BlockForm()
    if not form.validate_on_submit():
        return _calendar_page(listing, 422, block_form=form)
    try:
        if form.action.data == "block":
            services.block_nights(listing, form.first.data, form.last.data)
            booked = services.booked_nights_between(listing, form.first.data, form.last.data)
            if booked:
                message = ngettext(
                    "The free nights are blocked. %(num)d night is booked by a guest and stays "
                    "booked; to cancel a stay, open it from Reservations.",
                    "The free nights are blocked. %(num)d nights are booked by guests and stay "
                    "booked; to cancel a stay, open it from Reservations.",
                    booked,
                )
            else:
                message = _("The nights are blocked.")
        else:
            services.unblock_nights(listing, form.first.data, form.last.data)
            message = _("The nights are open for booking.")
    except ListingError as err:
        db.session.rollback()
        form.last.errors = [err.message]
        return _calendar_page(get_own_listing_or_404(listing_id), 422, block_form=form)
    db.session.commit()
    flash(message, "success")
    return _back_to_calendar(listing, form.first.data)


@bp.post("/host/listings/<int:listing_id>/calendar/prices")
@login_required
def prices(listing_id: int):
    """Give a range of nights its own price, or the usual price again."""
    listing = get_own_listing_or_404(listing_id)
    form = PriceForm()
    if not form.validate_on_submit():
        return _calendar_page(listing, 422, price_form=form)
    try:
        services.set_night_prices(listing, form.first.data, form.last.data, form.price.data)
    except ListingError as err:
        db.session.rollback()
        form.last.errors = [err.message]
        return _calendar_page(get_own_listing_or_404(listing_id), 422, price_form=form)
    db.session.commit()
    flash(_("Prices saved."), "success")
    return _back_to_calendar(listing, form.first.data)


@bp.post("/host/listings/<int:listing_id>/calendar/rules")
@login_required
def rules(listing_id: int):
    """Stay length, advance notice and booking window."""
    listing = get_own_listing_or_404(listing_id)
    form = RulesForm()
    if not form.validate_on_submit():
        return _calendar_page(listing, 422, rules_form=form)
    try:
        services.set_rules(listing, form.rules_data())
    except ListingError as err:
        db.session.rollback()
        flash(err.message, "error")
        return _calendar_page(get_own_listing_or_404(listing_id), 422, rules_form=form)
    db.session.commit()
    flash(_("Booking rules saved."), "success")
    return _back_to_calendar(listing)

"""Guest and host pages of a booking. Thin: load, check access, call a service, redirect."""

from __future__ import annotations

from flask import abort, current_app, flash, redirect, render_template, request, url_for
from flask_limiter.util import get_remote_address
from flask_login import current_user, login_required

from rentalcoop.access import require
from rentalcoop.accounts.models import Role
from rentalcoop.bookings import bp, services
from rentalcoop.bookings.cancellation import CancelledBy
from rentalcoop.bookings.forms import BookingForm, ConfirmForm, HostCancelForm, ReasonForm
from rentalcoop.bookings.models import Booking, BookingState
from rentalcoop.bookings.services import BookingError, listing_today
from rentalcoop.extensions import db, limiter
from rentalcoop.i18n import _, money
from rentalcoop.listings import availability, pricing
from rentalcoop.listings import services as listings
from rentalcoop.listings.forms import StayForm
from rentalcoop.listings.models import CANCELLATION_FOOTNOTE


def _published_listing_or_404(listing_id: int):
    listing = listings.get_published_listing(listing_id)
    if listing is None:
        abort(404)
    return listing


def _booking_or_404(booking_id: int) -> Booking:
    booking = services.get_booking(booking_id)
    if booking is None:
        abort(404)
    return booking


def _as_guest(booking: Booking) -> bool:
    return booking.guest_id == current_user.id


def _as_host(booking: Booking) -> bool:
    return booking.host_id == current_user.id


def _review_page(listing, form, status=200, problem=None):
    _project_choices(form)
    quote = window = None
    has_stay = form.check_in.data and form.check_out.data and form.guests.data
    if has_stay:
        # Outside the listing's booking window: said before any night is priced (issue 12).
        window = availability.window_problem(
            listing, form.check_in.data, form.check_out.data, listing_today(listing)
        )
    if has_stay and window is None:
        try:
            quote = pricing.quote(
                listing, form.check_in.data, form.check_out.data, form.guests.data
            )
        except pricing.PricingError as err:
            problem = problem or err.message
    problem = problem or window
    return (
        render_template(
            "bookings/new.html",
            listing=listing,
            form=form,
            quote=quote,
            problem=problem,
            footnote=CANCELLATION_FOOTNOTE,
        ),
        status,
    )


def _project_choices(form: BookingForm) -> None:
    """The approved community-fund projects a guest may give the booking's share to."""
    from wtforms.fields.choices import SelectChoice

    from rentalcoop.governance.fund import approved_projects

    form.community_project.choices = [SelectChoice(0, _("The general fund"))] + [
        SelectChoice(project.id, project.title) for project in approved_projects()
    ]


@bp.get("/listings/<int:listing_id>/book")
@login_required
def new(listing_id: int):
    """Review the stay before booking: price, house rules, cancellation policy."""
    require(current_user.has_role(Role.GUEST))
    listing = _published_listing_or_404(listing_id)
    stay = StayForm(request.args)
    valid = stay.validate()
    form = BookingForm(
        formdata=None,
        check_in=stay.check_in.data if valid else None,
        check_out=stay.check_out.data if valid else None,
        guests=(stay.guests.data or 1) if valid else 1,
    )
    return _review_page(listing, form)


def _per_account() -> str:
    return f"book:{current_user.id}" if current_user.is_authenticated else get_remote_address()


@bp.post("/listings/<int:listing_id>/book")
@login_required
@limiter.limit(lambda: current_app.config["BOOKING_RATE_LIMIT"], key_func=_per_account)
def book(listing_id: int):
    """Hold the nights and send the guest to payment (or to wait for the host), or say why not."""
    require(current_user.has_role(Role.GUEST))
    listing = _published_listing_or_404(listing_id)
    form = BookingForm()
    _project_choices(form)
    if not form.validate_on_submit():
        return _review_page(listing, form, 422)
    try:
        booking = services.request_booking(
            listing,
            current_user,
            form.check_in.data,
            form.check_out.data,
            form.guests.data,
            accepted_rules=form.accept_rules.data,
            message=form.message.data or "",
            community_project_id=form.community_project.data or None,
        )
    except BookingError as err:
        db.session.rollback()
        listing = _published_listing_or_404(listing_id)
        flash(err.message, "error")
        return _review_page(listing, form, err.status_code, problem=err.message)
    db.session.commit()
    if booking.state == BookingState.PENDING_PAYMENT:
        return redirect(_checkout_url(booking), 303)
    flash(_("Your request is sent. The host has 24 hours to answer."), "success")
    return redirect(url_for("bookings.show", booking_id=booking.id), 303)


def _checkout_url(booking: Booking) -> str:
    """The provider's payment page, or the booking page with the reason when it is down."""
    from rentalcoop.payments import services as payments

    try:
        url = payments.start_checkout(booking)
    except payments.PaymentError as err:
        db.session.rollback()
        flash(err.message, "error")
        return url_for("bookings.show", booking_id=booking.id)
    db.session.commit()
    return url


@bp.get("/trips")
@login_required
def trips():
    """The guest's stays: under way, upcoming, past (with review prompts) and cancelled."""
    require(current_user.has_role(Role.GUEST))
    return render_template("bookings/trips.html", trips=services.trips_of(current_user))


@bp.get("/bookings/<int:booking_id>")
@login_required
def show(booking_id: int):
    """A booking as its guest, its host or the board sees it."""
    booking = _booking_or_404(booking_id)
    require(_as_guest(booking) or _as_host(booking) or current_user.has_role(Role.BOARD))
    return _show_page(booking)


def _show_page(booking: Booking, status: int = 200):
    return render_template(
        "bookings/show.html",
        booking=booking,
        as_guest=_as_guest(booking),
        as_host=_as_host(booking),
        reveal_address=_as_host(booking) or booking.is_stay,
        confirm_form=ConfirmForm(),
        reason_form=ReasonForm(),
    ), status


def _refused(booking_id: int, err: BookingError):
    """The booking as it is now, with why the action was refused (409 when someone changed it
    first). The refused transaction is rolled back before the page is read."""
    db.session.rollback()
    flash(err.message, "error")
    return _show_page(_booking_or_404(booking_id), err.status_code)


@bp.post("/bookings/<int:booking_id>/pay")
@login_required
def pay(booking_id: int):
    """Go (back) to the payment page of a booking waiting for payment."""
    booking = _booking_or_404(booking_id)
    require(_as_guest(booking))
    if not ConfirmForm().validate_on_submit():
        abort(400)
    if booking.state != BookingState.PENDING_PAYMENT:
        flash(_("This booking is not waiting for payment."), "info")
        return redirect(url_for("bookings.show", booking_id=booking.id), 303)
    return redirect(_checkout_url(booking), 303)


@bp.route("/bookings/<int:booking_id>/cancel", methods=["GET", "POST"])
@login_required
def cancel(booking_id: int):
    """The guest sees the exact refund first, then confirms the cancellation."""
    booking = _booking_or_404(booking_id)
    require(_as_guest(booking))
    form = ConfirmForm()
    if not form.validate_on_submit():
        if not booking.can_become(BookingState.CANCELLED_BY_GUEST):
            flash(_("This booking can no longer be cancelled."), "info")
            return redirect(url_for("bookings.show", booking_id=booking.id), 303)
        preview = services.refund_preview(booking, CancelledBy.GUEST)
        return render_template(
            "bookings/cancel.html", booking=booking, refund=preview, form=form
        ), (422 if form.is_submitted() else 200)
    try:
        refund = services.cancel_booking(booking, CancelledBy.GUEST, current_user)
    except BookingError as err:
        return _refused(booking_id, err)
    db.session.commit()
    if refund.total_ore:
        flash(
            _(
                "Your booking is cancelled. %(amount)s will be refunded.",
                amount=money(refund.total_ore),
            ),
            "success",
        )
    else:
        flash(_("Your booking is cancelled."), "success")
    return redirect(url_for("bookings.show", booking_id=booking.id), 303)


# --- host --------------------------------------------------------------------------------------


@bp.get("/host/today")
@login_required
def today():
    """The host's day: requests to answer, arrivals and departures, unread messages, holds
    waiting for payment."""
    require(current_user.has_role(Role.HOST))
    from rentalcoop.messaging import services as messaging

    unread = [thread for thread in messaging.inbox(current_user) if thread[1]]
    return render_template(
        "bookings/today.html", day=services.host_day(current_user), unread_threads=unread
    )


@bp.get("/host/reservations")
@login_required
def reservations():
    """The host's requests to answer, upcoming and past stays."""
    require(current_user.has_role(Role.HOST))
    requests, upcoming, past, ended = services.reservations_of(current_user)
    return render_template(
        "bookings/reservations.html",
        requests=requests,
        upcoming=upcoming,
        past=past,
        ended=ended,
    )


def _host_booking(booking_id: int) -> Booking:
    booking = _booking_or_404(booking_id)
    require(_as_host(booking))
    return booking


def _answer_page(booking: Booking, form, *, accepting: bool, status: int = 200):
    return (
        render_template("bookings/answer.html", booking=booking, form=form, accepting=accepting),
        status,
    )


@bp.route("/bookings/<int:booking_id>/accept", methods=["GET", "POST"])
@login_required
def accept(booking_id: int):
    """The host accepts a request (after seeing it once more); the guest is asked to pay."""
    booking = _host_booking(booking_id)
    form = ConfirmForm()
    if request.method == "GET":
        return _answer_page(booking, form, accepting=True)
    if not form.validate_on_submit():
        abort(400)
    try:
        services.accept_request(booking, current_user)
    except BookingError as err:
        return _refused(booking_id, err)
    db.session.commit()
    flash(_("You accepted the request. The guest has been asked to pay."), "success")
    return redirect(url_for("bookings.reservations"), 303)


@bp.route("/bookings/<int:booking_id>/decline", methods=["GET", "POST"])
@login_required
def decline(booking_id: int):
    """The host declines a request, with a word to the guest; the nights are free again."""
    booking = _host_booking(booking_id)
    form = ReasonForm()
    if request.method == "GET":
        return _answer_page(booking, form, accepting=False)
    if not form.validate_on_submit():
        return _answer_page(booking, form, accepting=False, status=422)
    try:
        services.decline_request(booking, current_user, form.reason.data or "")
    except BookingError as err:
        return _refused(booking_id, err)
    db.session.commit()
    flash(_("You declined the request."), "info")
    return redirect(url_for("bookings.reservations"), 303)


@bp.route("/bookings/<int:booking_id>/host-cancel", methods=["GET", "POST"])
@login_required
def host_cancel(booking_id: int):
    """The host cancels a stay: the reason is required and the guest gets everything back."""
    booking = _host_booking(booking_id)
    form = HostCancelForm()
    if not form.validate_on_submit():
        status = 422 if form.is_submitted() else 200
        return render_template("bookings/host_cancel.html", booking=booking, form=form), status
    try:
        services.cancel_booking(booking, CancelledBy.HOST, current_user, reason=form.reason.data)
    except BookingError as err:
        return _refused(booking_id, err)
    db.session.commit()
    flash(_("The stay is cancelled and the guest will be refunded in full."), "info")
    return redirect(url_for("bookings.reservations"), 303)

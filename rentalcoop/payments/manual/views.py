"""Pages of the manual provider, on the payments blueprint: the board's payment details, the
guest's choice of method and the Swish QR code, and the board matching a payment."""

from __future__ import annotations

from flask import abort, flash, make_response, redirect, render_template, url_for
from flask_babel import ngettext
from flask_login import current_user, login_required

from rentalcoop.access import require, role_required
from rentalcoop.accounts.models import Role
from rentalcoop.db import begin_write
from rentalcoop.errors import DomainError
from rentalcoop.extensions import db
from rentalcoop.i18n import _
from rentalcoop.payments import bp
from rentalcoop.payments.manual import formats, services
from rentalcoop.payments.manual.forms import MatchForm, MethodForm, PaymentDetailsForm
from rentalcoop.payments.manual.models import PaymentMethod
from rentalcoop.payments.providers import ProviderName, get_provider


@bp.app_template_global()
def payment_details() -> services.PaymentDetails:
    """The coop's payment details for pages and mail (one primary-key read)."""
    return services.payment_details()


@bp.app_template_global()
def payment_methods_of(bookings) -> dict[int, str]:
    """The method each booking's guest chose, by booking id (one query for the board's list)."""
    return services.methods_of([b.id for b in bookings])


def _is_manual() -> bool:
    return get_provider().name == ProviderName.MANUAL


# --- board ---------------------------------------------------------------------------------------


@bp.route("/board/payment-details", methods=["GET", "POST"])
@role_required(Role.BOARD)
def details():
    """The board keeps the Swish number, bank giro and payee guests pay to."""
    current = services.payment_details()
    form = PaymentDetailsForm()
    form.bankgiro_hold_days.description = ngettext(
        "Empty: %(num)d bank day (the default). A bank giro payment arrives the bank day "
        "after the guest makes it.",
        "Empty: %(num)d bank days (the default). A bank giro payment arrives the bank day "
        "after the guest makes it.",
        services.default_hold_days(),
    )
    if not form.is_submitted():
        form.payee_name.data = current.payee_name
        form.swish_number.data = current.swish_display
        form.bankgiro_number.data = current.bankgiro_display
        form.bankgiro_hold_days.data = None if current.hold_days_is_default else current.hold_days
    if not form.validate_on_submit():
        status = 422 if form.is_submitted() else 200
        return render_template(
            "payments/details.html",
            form=form,
            details=current,
            is_manual=_is_manual(),
        ), status
    begin_write(db.session)
    services.update_payment_details(
        form.payee_name.data or "",
        form.swish_number.data or "",
        form.bankgiro_number.data or "",
        form.bankgiro_hold_days.data,
        current_user,
    )
    db.session.commit()
    flash(_("Saved. Guests see these details on their pay page."), "success")
    return redirect(url_for("payments.details"), 303)


@bp.post("/board/payments/match")
@role_required(Role.BOARD)
def match_payment():
    """The board enters a payment's reference and amount: the booking it pays is marked paid."""
    require(_is_manual())
    form = MatchForm()
    if not form.validate_on_submit():
        return render_template("payments/match.html", form=form), 422
    begin_write(db.session)
    try:
        booking, confirmed = services.match_incoming_payment(
            form.reference.data, form.amount_ore, current_user
        )
    except DomainError as err:
        db.session.rollback()
        return render_template("payments/match.html", form=form, problem=err.message), (
            err.status_code
        )
    code = booking.code
    db.session.commit()
    if confirmed:
        flash(_("Booking %(code)s is paid and confirmed.", code=code), "success")
    else:
        flash(
            _(
                "Booking %(code)s could not be confirmed any more; its refund is now owed.",
                code=code,
            ),
            "error",
        )
    return redirect(url_for("payments.board"), 303)


# --- guest ---------------------------------------------------------------------------------------


def _guest_booking(booking_id: int):
    from rentalcoop.bookings import services as bookings

    booking = bookings.get_booking(booking_id)
    if booking is None:
        abort(404)
    require(booking.guest_id == current_user.id)
    return booking


@bp.post("/bookings/<int:booking_id>/pay/method")
@login_required
def choose_method(booking_id: int):
    """The guest picks Swish or bank giro; the hold becomes that method's."""
    booking = _guest_booking(booking_id)
    require(_is_manual())
    form = MethodForm()
    if not form.validate_on_submit():
        abort(400)
    begin_write(db.session)
    try:
        changed = services.choose_method(booking, PaymentMethod(form.method.data))
    except DomainError as err:
        db.session.rollback()
        booking = _guest_booking(booking_id)
        if booking.is_stay:  # paid meanwhile: nothing left to choose
            return redirect(url_for("bookings.show", booking_id=booking.id), 303)
        flash(err.message, "error")
        from rentalcoop.payments.views import pay_page

        response = make_response(pay_page(booking_id))
        response.status_code = err.status_code
        return response
    db.session.commit()
    if changed and form.method.data == PaymentMethod.BANKGIRO:
        from rentalcoop.i18n import moment

        flash(
            _(
                "Your dates are held until %(time)s for your bank giro payment.",
                time=moment(booking.expires_at, "short"),
            ),
            "success",
        )
    return redirect(url_for("payments.pay_page", booking_id=booking.id), 303)


@bp.get("/bookings/<int:booking_id>/pay/swish.svg")
@login_required
def swish_qr(booking_id: int):
    """The Swish QR code of a booking waiting for payment: payee, amount and booking code,
    none of them editable in the Swish app."""
    booking = _guest_booking(booking_id)
    details = services.payment_details()
    if not _is_manual() or not details.has_swish or booking.paid_at is not None:
        abort(404)
    payload = formats.swish_payload(details.swish_number, booking.total_ore, booking.code)
    svg = formats.qr_svg(payload, title=_("Swish QR code for booking %(code)s", code=booking.code))
    response = make_response(svg)
    response.headers["Content-Type"] = "image/svg+xml"
    response.headers["Cache-Control"] = "private, max-age=600"
    return response

"""Payment pages: the guest's pay page, the board's payments desk, the host's payouts, and the
Stripe webhooks. Thin: load, check access, call a service, commit, redirect."""

from __future__ import annotations

import stripe
from flask import abort, current_app, flash, jsonify, redirect, render_template, request, url_for
from flask_login import current_user, login_required
from sqlalchemy import select
from sqlalchemy.orm import joinedload

from rentalcoop.access import require, role_required
from rentalcoop.accounts.models import Role
from rentalcoop.bookings import services as bookings
from rentalcoop.bookings.models import Booking, BookingEvent, BookingState
from rentalcoop.db import begin_write
from rentalcoop.extensions import csrf, db
from rentalcoop.i18n import _
from rentalcoop.payments import bp, services, webhooks
from rentalcoop.payments.forms import ActionForm
from rentalcoop.payments.manual import services as manual
from rentalcoop.payments.manual.forms import MatchForm, MethodForm
from rentalcoop.payments.models import (
    Payout,
    PayoutState,
    Refund,
    RefundState,
)
from rentalcoop.payments.providers import ProviderName, get_provider


@bp.after_app_request
def _send_after_commit(response):
    services.send_after_commit()
    return response


def _booking_or_404(booking_id: int) -> Booking:
    booking = bookings.get_booking(booking_id)
    if booking is None:
        abort(404)
    return booking


def _is_manual() -> bool:
    return get_provider().name == ProviderName.MANUAL


# --- guest -------------------------------------------------------------------------------------


@bp.get("/bookings/<int:booking_id>/pay")
@login_required
def pay_page(booking_id: int):
    """What the guest owes, until when, and how to pay it."""
    booking = _booking_or_404(booking_id)
    require(booking.guest_id == current_user.id)
    if booking.is_stay:
        if request.args.get("checkout") == "done":
            flash(_("Thank you! Your payment is received and your stay is confirmed."), "success")
        return redirect(url_for("bookings.show", booking_id=booking.id), 303)
    is_manual = _is_manual()
    return render_template(
        "payments/pay.html",
        booking=booking,
        is_manual=is_manual,
        # Manual provider: the coop's Swish and bank giro and the hold each gives.
        options=manual.pay_options(booking) if is_manual else None,
        method_form=MethodForm() if is_manual else None,
        is_waiting=booking.state == BookingState.PENDING_PAYMENT,
        returned=request.args.get("checkout") == "done",
        instructions=current_app.config.get("MANUAL_PAYMENT_INSTRUCTIONS"),
        form=ActionForm(),
    )


# --- board -------------------------------------------------------------------------------------


@bp.get("/board/payments")
@role_required(Role.BOARD)
def board():
    """Bookings awaiting payment, refunds and payouts owed, reversals to collect, disputes."""
    awaiting = db.session.scalars(
        select(Booking)
        .options(joinedload(Booking.guest), joinedload(Booking.listing))
        .where(Booking.state == BookingState.PENDING_PAYMENT)
        .order_by(Booking.expires_at, Booking.id)
    ).all()
    refunds = db.session.scalars(
        select(Refund)
        .options(joinedload(Refund.booking).joinedload(Booking.guest))
        .where(Refund.state.in_([RefundState.OWED, RefundState.FAILED]))
        .order_by(Refund.created_at, Refund.id)
    ).all()
    payouts = db.session.scalars(
        select(Payout)
        .options(joinedload(Payout.host), joinedload(Payout.booking))
        .where(Payout.state == PayoutState.OWED)
        .order_by(Payout.due_at, Payout.id)
    ).all()
    reversals = db.session.scalars(
        select(Payout)
        .options(joinedload(Payout.host), joinedload(Payout.booking))
        .where(Payout.state == PayoutState.REVERSED, Payout.reversal_ref.is_(None))
        .order_by(Payout.paid_at, Payout.id)
    ).all()
    notes = db.session.scalars(
        select(BookingEvent)
        .options(joinedload(BookingEvent.booking))
        .where(BookingEvent.actor_kind == "provider", BookingEvent.note != "")
        .order_by(BookingEvent.id.desc())
        .limit(50)
    ).all()
    return render_template(
        "payments/board.html",
        awaiting=awaiting,
        refunds=refunds,
        payouts=payouts,
        reversals=reversals,
        notes=notes,
        is_manual=_is_manual(),
        form=ActionForm(),
        match_form=MatchForm(formdata=None),
    )


def _board_action() -> None:
    if not ActionForm().validate_on_submit():
        abort(400)
    begin_write(db.session)


@bp.post("/board/payments/<int:booking_id>/paid")
@role_required(Role.BOARD)
def mark_paid(booking_id: int):
    """The guest's money is in the cooperative's account: confirm the stay."""
    _board_action()
    require(_is_manual())
    booking = services.booking_for_update(booking_id)
    if booking is None:
        abort(404)
    if booking.paid_at is not None:
        flash(_("This booking was already marked paid."), "info")
        return redirect(url_for("payments.board"), 303)
    confirmed = services.record_payment_succeeded(booking, by=current_user)
    db.session.commit()
    if confirmed:
        flash(_("Booking %(code)s is paid and confirmed.", code=booking.code), "success")
    else:
        flash(
            _(
                "Booking %(code)s could not be confirmed any more; its refund is now owed.",
                code=booking.code,
            ),
            "error",
        )
    return redirect(url_for("payments.board"), 303)


@bp.post("/board/refunds/<int:refund_id>/done")
@role_required(Role.BOARD)
def mark_refunded(refund_id: int):
    """The board has paid a refund back to the guest."""
    _board_action()
    refund = db.session.get(Refund, refund_id)
    if refund is None:
        abort(404)
    # Stripe's refunds are confirmed by Stripe; the board pays by hand only what it could not.
    require(refund.state == RefundState.FAILED or (_is_manual() and refund.provider_ref is None))
    if services.mark_refund_done(refund, ref="manual", by=current_user):
        flash(_("The refund is marked as paid."), "success")
    db.session.commit()
    return redirect(url_for("payments.board"), 303)


@bp.post("/board/payouts/<int:payout_id>/paid")
@role_required(Role.BOARD)
def mark_paid_out(payout_id: int):
    """The board has paid a host by bank transfer."""
    _board_action()
    require(_is_manual())
    payout = db.session.get(Payout, payout_id)
    if payout is None:
        abort(404)
    if payout.state != PayoutState.OWED or not services.mark_payout_paid(
        payout, ref="manual", by=current_user
    ):
        db.session.rollback()
        flash(_("This payout is not owed."), "info")
        return redirect(url_for("payments.board"), 303)
    db.session.commit()
    flash(_("The payout is marked as paid."), "success")
    return redirect(url_for("payments.board"), 303)


@bp.post("/board/payouts/<int:payout_id>/collected")
@role_required(Role.BOARD)
def mark_collected(payout_id: int):
    """The host has paid back the part of a payout that the guest got refunded."""
    _board_action()
    require(_is_manual())
    payout = db.session.get(Payout, payout_id)
    if payout is None:
        abort(404)
    if services.mark_reversal_done(payout, ref="manual", by=current_user):
        flash(_("The repayment is marked as received."), "success")
    db.session.commit()
    return redirect(url_for("payments.board"), 303)


# --- host --------------------------------------------------------------------------------------


@bp.get("/host/payouts")
@role_required(Role.HOST)
def host_payouts():
    """A host's payouts (scheduled, owed, paid) and, with Stripe, where to set up payouts."""
    is_stripe = get_provider().name == ProviderName.STRIPE
    account = services.host_account(current_user.id)
    if is_stripe and request.args.get("onboarding") == "done" and account is not None:
        account = services.refresh_host_account(current_user)
        db.session.commit()
    payouts = db.session.scalars(
        select(Payout)
        .options(joinedload(Payout.booking).joinedload(Booking.listing))
        .where(Payout.host_id == current_user.id)
        .order_by(Payout.due_at.desc(), Payout.id.desc())
    ).all()
    return render_template(
        "payments/host_payouts.html",
        payouts=payouts,
        account=account,
        is_stripe=is_stripe,
        can_receive=services.host_can_receive(account),
        form=ActionForm(),
    )


def _onboarding_redirect():
    url = services.onboarding_link(
        current_user,
        return_url=url_for("payments.host_payouts", onboarding="done", _external=True),
        refresh_url=url_for("payments.onboarding_refresh", _external=True),
    )
    db.session.commit()
    return redirect(url, 303)


@bp.post("/host/payouts/onboarding")
@role_required(Role.HOST)
def onboarding():
    """Send the host to Stripe to enter the bank account their payouts go to."""
    require(get_provider().name == ProviderName.STRIPE)
    if not ActionForm().validate_on_submit():
        abort(400)
    return _onboarding_redirect()


@bp.get("/host/payouts/onboarding/refresh")
@role_required(Role.HOST)
def onboarding_refresh():
    """Stripe sends the host here when an onboarding link expired: make a fresh one."""
    require(get_provider().name == ProviderName.STRIPE)
    return _onboarding_redirect()


# --- Stripe webhooks ---------------------------------------------------------------------------


def _receive(secret_name: str, *, connect: bool):
    secret = current_app.config.get(secret_name)
    if get_provider().name != ProviderName.STRIPE or not secret:
        abort(404)
    payload = request.get_data()  # the raw body: the signature covers these exact bytes
    try:
        event = stripe.Webhook.construct_event(
            payload, request.headers.get("Stripe-Signature"), secret
        )
    except (ValueError, stripe.SignatureVerificationError):
        return jsonify(error="invalid payload or signature"), 400
    applied = webhooks.apply_event(event, connect=connect, payload=payload)
    return jsonify(received=True, duplicate=not applied)


@bp.post("/webhooks/stripe")
@csrf.exempt
def stripe_webhook():
    """Events of the cooperative's own Stripe account (payments, refunds, disputes)."""
    return _receive("STRIPE_WEBHOOK_SECRET", connect=False)


@bp.post("/webhooks/stripe-connect")
@csrf.exempt
def stripe_connect_webhook():
    """Events of hosts' connected accounts (`account.updated`)."""
    return _receive("STRIPE_CONNECT_WEBHOOK_SECRET", connect=True)

"""Report pages for parties, and the board's desk of reports. Thin: access, form, service."""

from __future__ import annotations

from flask import abort, flash, redirect, render_template, url_for
from flask_login import current_user, login_required

from rentalcoop.access import require, role_required
from rentalcoop.accounts.models import Role
from rentalcoop.extensions import db
from rentalcoop.i18n import _
from rentalcoop.messaging import services as messaging
from rentalcoop.moderation import bp, services
from rentalcoop.moderation.forms import DismissForm, HideForm, ReportForm
from rentalcoop.moderation.models import ContentReport, ReportState
from rentalcoop.moderation.services import ModerationError


def _target_or_404(kind: str, target_id: int):
    if kind not in services.KINDS:
        abort(404)
    target, booking = services.load_target(kind, target_id)
    if target is None:
        abort(404)
    return target, booking


@bp.route("/report/<string:kind>/<int:target_id>", methods=["GET", "POST"])
@login_required
def report(kind: str, target_id: int):
    """A party of the stay reports a review, an answer or a message to the board."""
    target, booking = _target_or_404(kind, target_id)
    require(services.may_report(current_user, kind, target, booking))
    form = ReportForm()
    if not form.validate_on_submit():
        status = 422 if form.is_submitted() else 200
        return render_template(
            "moderation/report.html", kind=kind, target=target, booking=booking, form=form
        ), status
    try:
        services.report_content(current_user, kind, target, booking, form.reason.data)
    except ModerationError as err:
        db.session.rollback()
        flash(err.message, "error")
        return render_template(
            "moderation/report.html", kind=kind, target=target, booking=booking, form=form
        ), err.status_code
    db.session.commit()
    flash(_("Thank you. The board will look at your report."), "success")
    return redirect(url_for("bookings.show", booking_id=booking.id), 303)


# --- board -----------------------------------------------------------------------------------


def _report_or_404(report_id: int) -> ContentReport:
    report = db.session.get(ContentReport, report_id)
    if report is None:
        abort(404)
    return report


@bp.get("/board/reports")
@role_required(Role.BOARD)
def board_reports():
    """Open reports first; below them the log of decisions."""
    return render_template(
        "moderation/board_reports.html",
        open_reports=services.reports(ReportState.OPEN),
        decided=services.reports(None, limit=100),
    )


def _report_page(report: ContentReport, hide_form=None, dismiss_form=None, status=200):
    target, booking = services.load_target(report.kind, getattr(report, f"{report.kind}_id"))
    messages = messaging.thread(booking) if report.kind == "message" else None
    return render_template(
        "moderation/board_report.html",
        report=report,
        target=target,
        booking=booking,
        messages=messages,
        hide_form=hide_form or HideForm(formdata=None),
        dismiss_form=dismiss_form or DismissForm(formdata=None),
    ), status


@bp.get("/board/reports/<int:report_id>")
@role_required(Role.BOARD)
def board_report(report_id: int):
    """One report: the content, the reason and — for a message — the whole thread."""
    return _report_page(_report_or_404(report_id))


@bp.post("/board/reports/<int:report_id>/hide")
@role_required(Role.BOARD)
def hide(report_id: int):
    """Hide the reported content, logging who, when and why."""
    report = _report_or_404(report_id)
    form = HideForm()
    if not form.validate_on_submit():
        return _report_page(report, hide_form=form, status=422)
    try:
        services.hide_content(report, current_user, form.reason.data)
    except ModerationError as err:
        db.session.rollback()
        flash(err.message, "error")
        return _report_page(_report_or_404(report_id), status=err.status_code)
    db.session.commit()
    flash(_("The content is hidden and the reason is logged."), "success")
    return redirect(url_for("moderation.board_reports"), 303)


@bp.post("/board/reports/<int:report_id>/dismiss")
@role_required(Role.BOARD)
def dismiss(report_id: int):
    """Keep the content and close the report."""
    report = _report_or_404(report_id)
    form = DismissForm()
    if not form.validate_on_submit():
        return _report_page(report, dismiss_form=form, status=422)
    try:
        services.dismiss_report(report, current_user, form.note.data or "")
    except ModerationError as err:
        db.session.rollback()
        flash(err.message, "error")
        return _report_page(_report_or_404(report_id), status=err.status_code)
    db.session.commit()
    flash(_("The report is dismissed."), "info")
    return redirect(url_for("moderation.board_reports"), 303)

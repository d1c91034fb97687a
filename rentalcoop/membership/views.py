"""Membership pages: a guest applies; the board keeps the register."""

from __future__ import annotations

from flask import abort, flash, redirect, render_template, url_for
from flask_login import current_user, login_required

from rentalcoop.access import require, role_required
from rentalcoop.accounts.models import ApplicationState, Membership, MembershipApplication, Role
from rentalcoop.accounts.services import AccountError
from rentalcoop.extensions import db
from rentalcoop.i18n import _
from rentalcoop.membership import bp, services
from rentalcoop.membership.forms import (
    ApplicationForm,
    DecisionForm,
    LeaveForm,
    MunicipalityAccountForm,
)
from rentalcoop.membership.services import MembershipError


@bp.route("/membership", methods=["GET", "POST"])
@login_required
def apply():
    """Explain membership and let a guest apply."""
    require(current_user.has_role(Role.GUEST))
    form = ApplicationForm()
    pending = services.pending_application(current_user)
    if not form.validate_on_submit():
        status = 422 if form.is_submitted() else 200
        return render_template("membership/apply.html", form=form, pending=pending), status
    try:
        services.apply_for_membership(current_user, form.motivation.data)
    except MembershipError as err:
        flash(err.message, "error")
        return render_template("membership/apply.html", form=form, pending=pending), 409
    db.session.commit()
    flash(_("Thank you! The board will look at your application."), "success")
    return redirect(url_for("membership.apply"), 303)


@bp.get("/board/members")
@role_required(Role.BOARD)
def register():
    """The member register and the applications waiting for a decision."""
    return _register_page()


def _register_page(municipality_form: MunicipalityAccountForm | None = None):
    """The register page; with `municipality_form`, a refused account shown again."""
    return render_template(
        "membership/register.html",
        members=services.members(),
        applications=services.applications(ApplicationState.PENDING),
        decision_form=DecisionForm(),
        municipality_form=(
            MunicipalityAccountForm() if municipality_form is None else municipality_form
        ),
    )


@bp.post("/board/applications/<int:application_id>")
@role_required(Role.BOARD)
def decide(application_id: int):
    """Approve or reject one application."""
    application = db.session.get(MembershipApplication, application_id) or abort(404)
    form = DecisionForm()
    if not form.validate_on_submit():
        abort(400)
    try:
        services.decide_application(application, current_user, approve=bool(form.approve.data))
    except MembershipError as err:
        flash(err.message, "error")
        return redirect(url_for("membership.register"), 303)
    db.session.commit()
    if form.approve.data:
        flash(
            _(
                "%(name)s is now member number %(number)s.",
                name=application.user.name,
                number=application.user.membership.member_number,
            ),
            "success",
        )
    else:
        flash(_("The application was rejected."), "info")
    return redirect(url_for("membership.register"), 303)


@bp.route("/board/members/<int:membership_id>/leave", methods=["GET", "POST"])
@role_required(Role.BOARD)
def leave(membership_id: int):
    """Record that a member has left, once the board member has confirmed it."""
    membership = db.session.get(Membership, membership_id) or abort(404)
    form = LeaveForm()
    if not form.validate_on_submit():
        status = 422 if form.is_submitted() else 200
        return render_template("membership/leave.html", membership=membership, form=form), status
    try:
        services.leave(membership, by=current_user)
    except MembershipError as err:
        flash(err.message, "error")
        return redirect(url_for("membership.register"), 303)
    db.session.commit()
    flash(_("The membership has ended."), "info")
    return redirect(url_for("membership.register"), 303)


@bp.post("/board/municipality-accounts")
@role_required(Role.BOARD)
def create_municipality_account():
    """Create the town's statistics account."""
    form = MunicipalityAccountForm()
    if form.validate_on_submit():
        try:
            services.create_municipality_account(
                form.name.data, form.email.data, form.password.data, form.locale.data
            )
        except AccountError as err:
            form.email.errors.append(err.message)
        else:
            db.session.commit()
            flash(_("The municipality account was created."), "success")
            return redirect(url_for("membership.register"), 303)
    return _register_page(form), 422

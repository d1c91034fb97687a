"""Privacy, terms and contact for everyone; the board's page to keep them."""

from __future__ import annotations

from flask import abort, flash, redirect, render_template, request, url_for
from flask_login import current_user

from rentalcoop.access import role_required
from rentalcoop.accounts.models import Role
from rentalcoop.extensions import db
from rentalcoop.i18n import _, current_language
from rentalcoop.identity import bp, services
from rentalcoop.identity.forms import IdentityForm
from rentalcoop.identity.models import TEXT_KIND_LABELS, TextKind


def _text_page(kind: TextKind):
    text = services.current_text(kind)
    if text is None:
        abort(404)
    return render_template(
        "identity/text.html",
        title=TEXT_KIND_LABELS[kind],
        text=text,
        body=text.body(current_language()),
    )


@bp.get("/privacy")
def privacy():
    """The privacy policy in force."""
    return _text_page(TextKind.PRIVACY)


@bp.get("/terms")
def terms():
    """The terms of use in force (what registration accepts)."""
    return _text_page(TextKind.TERMS)


@bp.get("/contact")
def contact():
    """Who the cooperative is and how to reach it."""
    return render_template("identity/contact.html", identity=services.profile())


@bp.route("/board/identity", methods=["GET", "POST"])
@role_required(Role.BOARD)
def edit():
    """The board keeps the coop's details and its privacy policy and terms."""
    identity = services.profile()
    privacy = services.current_text(TextKind.PRIVACY)
    terms = services.current_text(TextKind.TERMS)
    form = IdentityForm()
    if request.method == "GET":
        if identity is not None:
            form.name.data = identity.name
            form.organisation_number.data = identity.organisation_number
            form.address.data = identity.address
            form.contact_email.data = identity.contact_email
        if privacy is not None:
            form.privacy_sv.data, form.privacy_en.data = privacy.body_sv, privacy.body_en
        if terms is not None:
            form.terms_sv.data, form.terms_en.data = terms.body_sv, terms.body_en
    if not form.validate_on_submit():
        status = 422 if form.is_submitted() else 200
        return render_template("identity/edit.html", form=form, terms=terms), status
    services.update_profile(
        form.name.data,
        form.organisation_number.data or "",
        form.address.data or "",
        form.contact_email.data or "",
    )
    services.publish_text(
        TextKind.PRIVACY, form.privacy_sv.data, form.privacy_en.data, current_user
    )
    new_terms = services.publish_text(
        TextKind.TERMS, form.terms_sv.data, form.terms_en.data, current_user
    )
    db.session.commit()
    if new_terms is not None:
        flash(
            _(
                "Saved. New accounts accept terms version %(version)s from now on.",
                version=new_terms.version,
            ),
            "success",
        )
    else:
        flash(_("Saved."), "success")
    return redirect(url_for("identity.edit"), 303)

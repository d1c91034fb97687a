"""Account pages: thin views over `accounts.services`."""

from __future__ import annotations

from urllib.parse import urlsplit

from flask import current_app, flash, redirect, render_template, request, session, url_for
from flask_login import current_user, login_required, login_user, logout_user

from rentalcoop import mail
from rentalcoop.accounts import bp, services
from rentalcoop.accounts.forms import (
    ChangeEmailForm,
    ChangePasswordForm,
    DeleteAccountForm,
    LoginForm,
    RegisterForm,
    ResetPasswordForm,
    ResetRequestForm,
    SettingsForm,
)
from rentalcoop.accounts.models import User
from rentalcoop.accounts.services import AccountError
from rentalcoop.extensions import db, limiter, login_manager
from rentalcoop.i18n import _, current_language
from rentalcoop.input_guard import INT4_MAX


@login_manager.user_loader
def load_user(user_id: str) -> User | None:
    """Load the session's user unless that session has ended (log-out) or predates a password
    change or log-out everywhere. The id is `user:version:session key`."""
    ident, version, key = (user_id.split(":") + ["", ""])[:3]
    if not (ident.isdigit() and version.isdigit() and key):
        return None  # also a cookie from before sessions were kept on the server
    if int(ident) > INT4_MAX or int(version) > INT4_MAX:
        return None
    return services.session_user(int(ident), int(version), key)


@bp.record_once
def _warm_dummy_hash(state) -> None:
    # The unknown-address log-in must not pay for making the dummy hash (issue 12).
    services.dummy_hash(state.app.config["PASSWORD_HASH_METHOD"])


def _limit(name: str):
    return limiter.limit(lambda: current_app.config[name], methods=["POST"])


def _login_account_key() -> str:
    return "login-account:" + services.normalise_email(request.form.get("email", ""))[:254]


# Per IP (above) and per account: many addresses guessing one account's password are held
# back too. Only failed attempts count, so the owner who knows the password still gets in.
_limit_per_account = limiter.limit(
    lambda: current_app.config["LOGIN_ACCOUNT_RATE_LIMIT"],
    key_func=_login_account_key,
    methods=["POST"],
    deduct_when=lambda response: response.status_code != 303,
)


def _safe_next(target: str | None) -> str | None:
    """Only same-site relative paths are followed after log-in (no open redirect)."""
    if not target:
        return None
    parts = urlsplit(target)
    if parts.scheme or parts.netloc or not target.startswith("/") or target.startswith("//"):
        return None
    return target


def _fresh_session() -> None:
    """Nothing carried over from before, but the chosen language."""
    lang = session.get("lang")
    session.clear()
    if lang:
        session["lang"] = lang


def _start_session(user: User, remember: bool = False) -> None:
    """A fresh session at log-in, kept on the server too (so log-out can end it)."""
    _fresh_session()
    services.start_session(user)
    db.session.commit()
    login_user(user, remember=remember)


def _landing(user: User) -> str:
    if user.is_municipality:
        return url_for("stats.index")
    return url_for("main.index")


@bp.route("/register", methods=["GET", "POST"])
@_limit("REGISTER_RATE_LIMIT")
def register():
    """Create a guest account and log in."""
    if current_user.is_authenticated:
        return redirect(url_for("main.index"))
    form = RegisterForm()
    if request.method == "GET":
        form.locale.data = request.args.get("lang") or session.get("lang") or current_language()
    if not form.validate_on_submit():
        return render_template(
            "accounts/register.html", form=form
        ), 422 if form.is_submitted() else 200
    from rentalcoop.identity import services as identity  # the terms version in force

    try:
        user = services.register_user(
            form.name.data,
            form.email.data,
            form.password.data,
            form.locale.data,
            terms_version=identity.terms_version(),
        )
    except AccountError as err:
        form.email.errors.append(err.message)
        return render_template("accounts/register.html", form=form), 422
    db.session.commit()
    _start_session(user)
    flash(_("Welcome, %(name)s! Your account is ready.", name=user.name), "success")
    return redirect(url_for("main.index"), 303)


@bp.route("/login", methods=["GET", "POST"])
@_limit("LOGIN_RATE_LIMIT")
@_limit_per_account
def login():
    """Check the credentials and start a session."""
    if current_user.is_authenticated:
        return redirect(_landing(current_user))
    form = LoginForm()
    if not form.validate_on_submit():
        return render_template(
            "accounts/login.html", form=form
        ), 422 if form.is_submitted() else 200
    user = services.authenticate(form.email.data, form.password.data)
    if user is None:
        form.password.errors.append(_("Wrong email or password."))
        return render_template("accounts/login.html", form=form), 422
    _start_session(user, remember=form.remember.data)
    if user.locale in current_app.config["LANGUAGES"]:
        session["lang"] = user.locale
    return redirect(_safe_next(request.args.get("next")) or _landing(user), 303)


@bp.post("/logout")
def logout():
    """End this session, on the server too: a copy of its cookie stops working. The user's
    other devices stay logged in (log out everywhere ends those)."""
    if current_user.is_authenticated:
        services.end_session(current_user._get_current_object())
        db.session.commit()
    logout_user()
    _fresh_session()
    flash(_("You are logged out."), "info")
    return redirect(url_for("main.index"), 303)


@bp.post("/account/logout-everywhere")
@login_required
def logout_everywhere():
    """End every session of this account, on every device."""
    services.end_all_sessions(current_user)
    db.session.commit()
    logout_user()
    flash(_("You are logged out on every device."), "info")
    return redirect(url_for("accounts.login"), 303)


@bp.route("/reset", methods=["GET", "POST"])
@_limit("RESET_RATE_LIMIT")
def reset_request():
    """Mail a reset link; the answer is the same whether or not the account exists."""
    form = ResetRequestForm()
    if not form.validate_on_submit():
        return render_template(
            "accounts/reset_request.html", form=form
        ), 422 if form.is_submitted() else 200
    found = services.request_reset(form.email.data)
    flash(
        _("If an account exists for that address, we have sent a link to reset the password."),
        "info",
    )
    response = redirect(url_for("accounts.login"), 303)
    if found is not None:
        user, token = found
        db.session.commit()
        link = url_for("accounts.reset_password", token=token, _external=True)
        message = mail.compose(
            user.email,
            user.locale,
            "reset_password",
            user=user,
            link=link,
            minutes=current_app.config["PASSWORD_RESET_MAX_AGE_SECONDS"] // 60,
        )
        # Sent once the answer has gone out, so its time (SMTP can take seconds) does not tell
        # whether the address has an account; a failure is logged, the answer is the same.
        response.call_on_close(mail.deliver_later(message))
    return response


@bp.route("/reset/<token>", methods=["GET", "POST"])
@_limit("RESET_RATE_LIMIT")
def reset_password(token: str):
    """Set a new password with a valid, unused link."""
    if services.reset_token_user(token) is None:
        flash(
            _("This reset link has expired or has already been used. Ask for a new one."), "error"
        )
        return render_template("accounts/reset_request.html", form=ResetRequestForm()), 410
    form = ResetPasswordForm()
    if not form.validate_on_submit():
        return render_template(
            "accounts/reset_password.html", form=form
        ), 422 if form.is_submitted() else 200
    try:
        user = services.reset_password(token, form.password.data)
    except AccountError as err:
        flash(err.message, "error")
        return render_template("accounts/reset_request.html", form=ResetRequestForm()), 410
    db.session.commit()
    _start_session(user)
    flash(_("Your password has been changed."), "success")
    return redirect(url_for("main.index"), 303)


@bp.route("/account", methods=["GET", "POST"])
@login_required
def settings():
    """Name and language."""
    form = SettingsForm(obj=current_user)
    if not form.validate_on_submit():
        status = 422 if form.is_submitted() else 200
        return _settings_page(form=form), status
    current_user.name = form.name.data.strip()
    current_user.locale = form.locale.data
    session["lang"] = form.locale.data
    db.session.commit()
    flash(_("Your settings are saved."), "success")
    return redirect(url_for("accounts.settings"), 303)


def _settings_page(**forms):
    forms.setdefault("form", SettingsForm(obj=current_user))
    forms.setdefault("password_form", ChangePasswordForm(prefix="pw"))
    forms.setdefault("email_form", ChangeEmailForm(prefix="em"))
    forms.setdefault("delete_form", DeleteAccountForm(prefix="del"))
    return render_template("accounts/settings.html", **forms)


@bp.post("/account/password")
@login_required
def change_password():
    """Change the password (the current one is asked first); other sessions end."""
    form = ChangePasswordForm(prefix="pw")
    if not form.validate_on_submit():
        return _settings_page(password_form=form), 422
    if not services.verify_password(current_user, form.current_password.data):
        form.current_password.errors = [_("That is not your current password.")]
        return _settings_page(password_form=form), 422
    user = current_user._get_current_object()
    services.set_password(user, form.password.data)
    db.session.commit()
    _start_session(user)
    flash(_("Your password has been changed."), "success")
    return redirect(url_for("accounts.settings"), 303)


@bp.post("/account/email")
@login_required
def change_email():
    """Move the account to another address; the old address is told."""
    form = ChangeEmailForm(prefix="em")
    if not form.validate_on_submit():
        return _settings_page(email_form=form), 422
    if not services.verify_password(current_user, form.current_password.data):
        form.current_password.errors = [_("That is not your current password.")]
        return _settings_page(email_form=form), 422
    try:
        old = services.change_email(current_user, form.email.data)
    except AccountError as err:
        form.email.errors = [err.message]
        return _settings_page(email_form=form), 422
    db.session.commit()
    mail.send_mail(
        old, current_user.locale, "email_changed", user=current_user, new_email=current_user.email
    )
    flash(_("Your email address has been changed."), "success")
    return redirect(url_for("accounts.settings"), 303)


@bp.post("/account/delete")
@login_required
def delete():
    """Erase the account's personal data and log out."""
    form = DeleteAccountForm(prefix="del")
    if not form.validate_on_submit():
        return _settings_page(delete_form=form), 422
    if not services.verify_password(current_user, form.current_password.data):
        form.current_password.errors = [_("That is not your current password.")]
        return _settings_page(delete_form=form), 422
    user = current_user._get_current_object()
    services.delete_account(user)
    db.session.commit()
    logout_user()
    session.clear()
    flash(_("Your account has been deleted and your personal data erased."), "info")
    return redirect(url_for("main.index"), 303)

"""Accounts: registration, log-in, passwords, settings and account deletion."""

from flask import Blueprint

bp = Blueprint("accounts", __name__, template_folder="templates")

from rentalcoop.accounts import views  # noqa: E402, F401


@bp.app_template_global()
def role_labels(user) -> list[str]:
    """The user's roles in words, for headers and settings."""
    from rentalcoop.accounts.models import ROLE_LABELS, Role

    order = [Role.GUEST, Role.HOST, Role.BOARD, Role.MUNICIPALITY]
    return [str(ROLE_LABELS[r]) for r in order if r in user.roles]

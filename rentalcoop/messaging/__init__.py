"""Messages: one thread per booking between its guest and its host."""

from flask import Blueprint, g, has_request_context
from flask_login import current_user

bp = Blueprint("messaging", __name__, template_folder="templates")

from rentalcoop.messaging import models, services, views  # noqa: E402, F401


@bp.app_template_filter()
def linkify(text: str):
    """Plain text, escaped, with http(s) links made safe (nofollow, noopener, ugc)."""
    return services.linkify(text)


@bp.app_template_global()
def booking_thread(booking):
    """The booking's messages for someone allowed to read them, else None."""
    if not services.may_read(booking, current_user):
        return None
    return services.thread(booking)


@bp.app_template_global()
def message_form_for_booking():
    from rentalcoop.messaging.forms import MessageForm

    return MessageForm(formdata=None)


@bp.app_context_processor
def unread_messages():
    """`unread_message_count()` for the header: one indexed count, only when a signed-in page
    asks, at most once per request."""

    def unread_message_count() -> int:
        if not has_request_context() or not current_user.is_authenticated:
            return 0
        if current_user.is_municipality:
            return 0
        if "_unread_messages" not in g:
            g._unread_messages = services.unread_count(current_user.id)
        return g._unread_messages

    return {"unread_message_count": unread_message_count}


def _register_eraser() -> None:
    from rentalcoop.accounts.services import register_eraser

    register_eraser(services.erase_user)


_register_eraser()

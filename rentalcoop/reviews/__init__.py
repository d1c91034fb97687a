"""Reviews: after a completed stay, guest and host review each other, revealed together."""

from flask import Blueprint, g
from flask_login import current_user

bp = Blueprint("reviews", __name__, template_folder="templates")

from rentalcoop.reviews import models, services, views  # noqa: E402, F401


@bp.app_template_global()
def listing_reviews_block(listing):
    """The listing page's reviews: the averages (one query) and one page of reviews (one more)."""
    from types import SimpleNamespace

    from rentalcoop.input_guard import query_int

    summary = services.listing_summary(listing.id)
    pages = services.page_count(summary.listed)
    page = min(max(query_int("reviews_page", 1), 1), pages)
    reviews = services.listing_reviews(listing.id, page) if summary.listed else []
    return SimpleNamespace(summary=summary, reviews=reviews, page=page, pages=pages)


@bp.app_template_global()
def booking_reviews(booking):
    """The review state of a stay for the signed-in party (None for anyone else)."""
    if not current_user.is_authenticated:
        return None
    return services.for_party(booking, current_user)


@bp.app_template_global()
def reviews_waiting(stays):
    """{booking id: when its review window closes} for the signed-in guest's past stays."""
    if not current_user.is_authenticated:
        return {}
    return services.waiting_for_review(current_user, stays)


@bp.app_template_global()
def guest_review_record(booking):
    """What hosts wrote about this booking's guest after their other stays (published only)."""
    return services.guest_record(booking.guest_id, besides=booking.id)


@bp.app_template_global()
def guest_review_summary(guest_id: int, bookings) -> tuple[int, float] | None:
    """(count, average) for one guest of a list, computed for the whole list with one query."""
    cache = g.setdefault("_guest_review_summaries", {})
    key = tuple(sorted({b.guest_id for b in bookings}))
    if key not in cache:
        cache[key] = services.guest_summaries(key)
    return cache[key].get(guest_id)


@bp.app_template_global()
def first_name(user) -> str:
    """How a person is named in public: their first name."""
    name = (user.name if user is not None else "") or ""
    return name.split()[0] if name.strip() else ""


@bp.app_template_filter()
def stars(value) -> str:
    """A rating as a number with one decimal in the current locale (4,8 / 4.8)."""
    from flask_babel import format_decimal

    if value is None:
        return "–"
    return format_decimal(round(float(value), 2), format="0.0#")


@bp.app_template_filter()
def isodate(value: str) -> str:
    """An ISO timestamp passed through the outbox (JSON), shown as a local date and time."""
    from datetime import datetime

    from rentalcoop.i18n import moment

    return moment(datetime.fromisoformat(value), "medium")


@bp.app_template_global()
def review_answer_form():
    from rentalcoop.reviews.forms import AnswerForm

    return AnswerForm(formdata=None)


@bp.record_once
def _template_names(state) -> None:
    state.app.jinja_env.globals.update(
        review_categories=models.CATEGORIES, review_category_labels=models.CATEGORY_LABELS
    )


def _register_eraser() -> None:
    from rentalcoop.accounts.services import register_eraser

    register_eraser(services.erase_user)


_register_eraser()

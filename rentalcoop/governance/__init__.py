"""The cooperative: meetings and votes, minutes, the fee schedule, the community fund, operating
costs and the fiscal-year close (DESIGN §10–§12). CLI: `flask coop close-year`."""

from flask import Blueprint

bp = Blueprint("governance", __name__, template_folder="templates", cli_group="coop")

from rentalcoop.governance import commands, models, views  # noqa: E402, F401


@bp.app_template_global()
def load_meeting(meeting_id: int):
    """For mail templates, rendered later from the outbox with only the id."""
    from rentalcoop.extensions import db
    from rentalcoop.governance.models import Meeting

    return db.session.get(Meeting, meeting_id)


@bp.app_template_global()
def choice_label(value: str) -> str:
    """A stored vote ("yes", "no", "abstain") in the reader's language."""
    from rentalcoop.governance.models import CHOICE_LABELS, Choice

    return str(CHOICE_LABELS[Choice(value)])


@bp.app_template_global()
def last_fiscal_year() -> int:
    """The fiscal year the board closes next: the calendar year before today's (DESIGN §10)."""
    from rentalcoop.listings.pricing import coop_date

    return coop_date().year - 1

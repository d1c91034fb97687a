"""The board's "release now" form: a finished month chosen from a fixed list, never typed."""

from __future__ import annotations

from wtforms import SelectField

from rentalcoop.forms import FlaskForm
from rentalcoop.i18n import _l
from rentalcoop.listings.pricing import coop_date
from rentalcoop.stats import disclosure

MONTHS_OFFERED = 24


def finished_months(count: int = MONTHS_OFFERED) -> list[str]:
    """The last `count` finished months, newest first."""
    today = coop_date()
    year, month = today.year, today.month
    months = []
    for _i in range(count):
        year, month = (year, month - 1) if month > 1 else (year - 1, 12)
        months.append(disclosure.month_label(year, month))
    return months


class ReleaseForm(FlaskForm):
    period = SelectField(_l("Month"))

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.period.choices = [(m, m) for m in finished_months()]

"""Host forms for calendar feeds."""

from __future__ import annotations

from wtforms import StringField
from wtforms.validators import DataRequired, Length

from rentalcoop.forms import FlaskForm
from rentalcoop.i18n import _l


class FeedForm(FlaskForm):
    name = StringField(
        _l("Name"),
        validators=[DataRequired(message=_l("Give the calendar a name.")), Length(max=80)],
        description=_l("For example “Airbnb” or “Booking.com”."),
    )
    url = StringField(
        _l("Export link (iCal)"),
        validators=[
            DataRequired(message=_l("Paste the calendar's export link.")),
            Length(max=2000),
        ],
        description=_l(
            "Copy the iCal export link from the other platform's calendar settings; it ends "
            "in .ics or contains “ical”."
        ),
        render_kw={"inputmode": "url", "autocomplete": "off", "spellcheck": "false"},
    )


class ButtonForm(FlaskForm):
    """A button that only carries the CSRF token."""

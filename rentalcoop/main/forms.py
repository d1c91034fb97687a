from flask_wtf import FlaskForm
from wtforms import DateField, IntegerField, SelectField
from wtforms.validators import NumberRange, Optional

from rentalcoop.i18n import _l


class SearchForm(FlaskForm):
    """The search box (GET, so no CSRF token: it changes nothing)."""

    class Meta:
        csrf = False

    area = SelectField(_l("Where"), choices=[], validators=[Optional()])
    check_in = DateField(_l("Check-in"), validators=[Optional()])
    check_out = DateField(_l("Check-out"), validators=[Optional()])
    guests = IntegerField(
        _l("Guests"), validators=[Optional(), NumberRange(min=1, max=30)], default=None
    )

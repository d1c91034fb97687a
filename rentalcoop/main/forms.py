"""The search box and the stay picker (GET forms: no CSRF token, they change nothing)."""

from __future__ import annotations

from wtforms import BooleanField, Field, IntegerField, SelectField
from wtforms.fields.choices import SelectChoice
from wtforms.validators import NumberRange, Optional, ValidationError

from rentalcoop.i18n import _l
from rentalcoop.listings.forms import KronorField, StayForm
from rentalcoop.listings.models import PROPERTY_TYPE_LABELS
from rentalcoop.listings.search import Sort


class SearchForm(StayForm):
    """The search page's filters (CONTRACT: `?area=&check_in=&check_out=&guests=`)."""

    area = SelectField(_l("Where"), choices=[], validators=[Optional(strip_whitespace=False)])
    min_price = KronorField(_l("Lowest price per night (kr)"), validators=[Optional()])
    max_price = KronorField(_l("Highest price per night (kr)"), validators=[Optional()])
    property_type = SelectField(
        _l("Type of place"),
        choices=[SelectChoice("", _l("Any type"))]
        + [SelectChoice(k.value, v) for k, v in PROPERTY_TYPE_LABELS.items()],
        validators=[Optional()],
        default="",
    )
    instant = BooleanField(_l("Instant book only"))
    sort = SelectField(
        _l("Sort by"),
        choices=[
            SelectChoice(Sort.PRICE.value, _l("Lowest price")),
            SelectChoice(Sort.NEWEST.value, _l("Newest")),
        ],
        default=Sort.PRICE.value,
        # Empty means the default; anything else must be one of the choices (" " is not).
        validators=[Optional(strip_whitespace=False)],
    )
    page = IntegerField(validators=[Optional(), NumberRange(min=1, max=1000)], default=1)

    def validate_max_price(self, field: Field) -> None:
        low = self.min_price.data
        if low is not None and field.data is not None and field.data < low:
            raise ValidationError(_l("The highest price cannot be below the lowest."))

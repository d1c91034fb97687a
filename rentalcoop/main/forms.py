"""The search box and the stay picker (GET forms: no CSRF token, they change nothing)."""

from __future__ import annotations

from babel import support
from flask import current_app
from wtforms import BooleanField, DateField, Field, IntegerField, SelectField
from wtforms.fields.choices import SelectChoice
from wtforms.i18n import messages_path
from wtforms.validators import NumberRange, Optional, ValidationError

from rentalcoop.forms import FlaskForm
from rentalcoop.i18n import _l, current_language
from rentalcoop.listings.availability import MAX_WINDOW_MONTHS, add_months
from rentalcoop.listings.forms import KronorField
from rentalcoop.listings.models import PROPERTY_TYPE_LABELS
from rentalcoop.listings.pricing import MAX_STAY_NIGHTS, coop_date
from rentalcoop.listings.search import Sort


class _WTFormsMessages:
    """WTForms' own messages ("Not a valid date value.") in the request's language.

    Flask-WTF reads WTForms' catalog from disk in every request that asks for one of them, and
    the search form asks in every request (an unlabelled field, a select left empty). The
    catalogs are package data that never change while the app runs: each is read once.
    """

    _catalogs: dict[str, support.Translations] = {}

    def _catalog(self) -> support.Translations:
        language = current_language()
        catalog = self._catalogs.get(language)
        if catalog is None:
            catalog = support.Translations.load(messages_path(), [language], domain="wtforms")
            self._catalogs[language] = catalog
        return catalog

    def gettext(self, string: str) -> str:
        return self._catalog().ugettext(string)

    def ngettext(self, singular: str, plural: str, n: int) -> str:
        return self._catalog().ungettext(singular, plural, n)


_WTFORMS_MESSAGES = _WTFormsMessages()


class StayForm(FlaskForm):
    """Dates and guests, as the listing page and search read them from the query string."""

    class Meta:
        csrf = False

        def get_translations(self, form):
            if not current_app.config.get("WTF_I18N_ENABLED", True):
                return super().get_translations(form)
            return _WTFORMS_MESSAGES

    # strip_whitespace=False: a blank " " is a date that does not parse, not "no date".
    check_in = DateField(_l("Check-in"), validators=[Optional(strip_whitespace=False)])
    check_out = DateField(_l("Check-out"), validators=[Optional(strip_whitespace=False)])
    guests = IntegerField(
        _l("Guests"), validators=[Optional(), NumberRange(min=1, max=30)], default=None
    )

    def validate_check_in(self, field: Field) -> None:
        if field.data is not None and field.data < coop_date():
            raise ValidationError(_l("Check-in cannot be in the past."))
        if field.data is not None and field.data > add_months(coop_date(), MAX_WINDOW_MONTHS):
            # No host takes bookings further ahead (the longest booking window).
            raise ValidationError(
                _l(
                    "The host takes bookings at most %(count)s months ahead.",
                    count=MAX_WINDOW_MONTHS,
                )
            )

    def validate_check_out(self, field: Field) -> None:
        check_in = self.check_in.data
        if check_in is not None and field.data is not None:
            if field.data <= check_in:
                raise ValidationError(_l("Check-out must be after check-in."))
            if (field.data - check_in).days > MAX_STAY_NIGHTS:
                raise ValidationError(
                    _l("A stay can be at most %(count)s nights.", count=MAX_STAY_NIGHTS)
                )

    def validate(self, extra_validators=None) -> bool:
        valid = super().validate(extra_validators)
        dates = (self.check_in, self.check_out)
        given = [bool(f.raw_data and f.raw_data[0]) for f in dates]
        if any(given) and not all(given):
            missing = self.check_out if given[0] else self.check_in
            missing.errors = [*missing.errors, _l("Choose both a check-in and a check-out date.")]
            return False
        return valid

    @property
    def has_stay(self) -> bool:
        return self.check_in.data is not None and self.check_out.data is not None


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

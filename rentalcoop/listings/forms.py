"""Host forms: the listing, its calendar and its photos. Money is typed in kronor, kept in öre."""

from __future__ import annotations

import re
from datetime import time
from decimal import Decimal, InvalidOperation

from babel import support
from flask import current_app
from flask_wtf.file import FileField
from wtforms import (
    BooleanField,
    DateField,
    Field,
    IntegerField,
    RadioField,
    SelectField,
    SelectMultipleField,
    StringField,
    TextAreaField,
    TimeField,
)
from wtforms.fields.choices import SelectChoice
from wtforms.i18n import messages_path
from wtforms.validators import (
    DataRequired,
    InputRequired,
    Length,
    NumberRange,
    Optional,
    Regexp,
    ValidationError,
)
from wtforms.widgets import CheckboxInput, ListWidget, TextInput

from rentalcoop.forms import FlaskForm
from rentalcoop.i18n import _l, current_language
from rentalcoop.listings.availability import MAX_WINDOW_MONTHS, add_months
from rentalcoop.listings.models import (
    AMENITY_LABELS,
    CANCELLATION_POLICY_LABELS,
    PROPERTY_TYPE_LABELS,
)
from rentalcoop.listings.pricing import MAX_STAY_NIGHTS, coop_date

MAX_PRICE_ORE = 10_000_000  # 100 000 kr a night
MAX_TYPED_ORE = 2**31 - 1  # what an öre column holds; larger input is refused before arithmetic


class KronorField(StringField):
    """An amount typed in kronor (`1 234,50` or `1234.50`); `data` is integer öre."""

    widget = TextInput()

    def __init__(self, *args, min_ore: int = 0, max_ore: int = MAX_PRICE_ORE, **kwargs):
        kwargs.setdefault("render_kw", {"inputmode": "decimal"})
        super().__init__(*args, **kwargs)
        self.min_ore = min_ore
        self.max_ore = max_ore

    def _value(self) -> str:
        if self.raw_data:
            return self.raw_data[0]
        if self.data is None:
            return ""
        kronor, ore = divmod(self.data, 100)
        return f"{kronor}" if ore == 0 else f"{kronor},{ore:02d}"

    def process_formdata(self, valuelist):
        if not valuelist:
            return
        text = re.sub(r"[\s\u00a0]|kr|sek", "", valuelist[0].strip().lower()).replace(",", ".")
        if not text:
            self.data = None
            return
        try:
            amount = Decimal(text)
        except InvalidOperation:
            self.data = None
            raise ValueError(_l("Enter an amount in kronor, like 850 or 850,50.")) from None
        # Bounded before any arithmetic: `1e30` would overflow the decimal context, NaN and
        # Infinity compare with nothing, and more than two decimals is not an amount in öre.
        if not amount.is_finite() or amount.as_tuple().exponent < -2:
            self.data = None
            raise ValueError(_l("Enter an amount in kronor, like 850 or 850,50."))
        if abs(amount) > Decimal(MAX_TYPED_ORE // 100):
            self.data = None
            raise ValueError(
                _l(
                    "Enter an amount between %(low)s and %(high)s kr.",
                    low=self.min_ore // 100,
                    high=self.max_ore // 100,
                )
            )
        self.data = int(amount * 100)

    def pre_validate(self, form):
        if self.data is None:
            return
        if not self.min_ore <= self.data <= self.max_ore:
            raise ValidationError(
                _l(
                    "Enter an amount between %(low)s and %(high)s kr.",
                    low=self.min_ore // 100,
                    high=self.max_ore // 100,
                )
            )


class MultiCheckboxField(SelectMultipleField):
    widget = ListWidget(prefix_label=False)
    option_widget = CheckboxInput()


def _choices(labels) -> list[SelectChoice]:
    return [SelectChoice(key.value, label) for key, label in labels.items()]


REGISTRATION_RE = r"^[A-Za-z0-9][A-Za-z0-9 ./-]{2,63}$"


class RulesMixin:
    min_nights = IntegerField(
        _l("Shortest stay (nights)"), validators=[InputRequired(), NumberRange(1, 365)], default=1
    )
    max_nights = IntegerField(
        _l("Longest stay (nights)"), validators=[InputRequired(), NumberRange(1, 365)], default=30
    )
    advance_notice_days = IntegerField(
        _l("Advance notice (days)"),
        validators=[InputRequired(), NumberRange(0, 365)],
        default=1,
        description=_l("How many days before check-in a booking must arrive at the latest."),
    )
    booking_window_months = IntegerField(
        _l("Booking window (months ahead)"),
        validators=[InputRequired(), NumberRange(1, 24)],
        default=12,
        description=_l("How far ahead guests can book."),
    )

    def validate_max_nights(self, field: Field) -> None:
        if self.min_nights.data is not None and field.data is not None:
            if field.data < self.min_nights.data:
                raise ValidationError(
                    _l("The longest stay cannot be shorter than the shortest stay.")
                )

    def rules_data(self) -> dict:
        return {
            "min_nights": self.min_nights.data,
            "max_nights": self.max_nights.data,
            "advance_notice_days": self.advance_notice_days.data,
            "booking_window_months": self.booking_window_months.data,
        }


class ListingForm(RulesMixin, FlaskForm):
    """Everything a host writes about a home (DESIGN §2)."""

    title = StringField(_l("Title"), validators=[DataRequired(), Length(max=120)])
    description = TextAreaField(_l("Description"), validators=[DataRequired(), Length(max=5000)])
    property_type = RadioField(
        _l("Type of place"),
        choices=_choices(PROPERTY_TYPE_LABELS),
        default="entire_home",
        validators=[InputRequired()],
    )
    area = SelectField(_l("District"), choices=[], validators=[DataRequired()])
    street_address = StringField(
        _l("Street address"),
        validators=[DataRequired(), Length(max=200)],
        description=_l("Guests see it only once their booking is confirmed."),
    )
    registration_number = StringField(
        _l("Registration number"),
        validators=[Optional(), Regexp(REGISTRATION_RE, message=_l("Check the number."))],
        description=_l(
            "The municipality's short-term rental registration number (EU 2024/1028). Required "
            "to publish in districts that have a registration scheme."
        ),
    )
    max_guests = IntegerField(
        _l("Guests"), validators=[InputRequired(), NumberRange(1, 30)], default=2
    )
    bedrooms = IntegerField(
        _l("Bedrooms"), validators=[InputRequired(), NumberRange(0, 50)], default=1
    )
    beds = IntegerField(_l("Beds"), validators=[InputRequired(), NumberRange(0, 100)], default=1)
    bathrooms = IntegerField(
        _l("Bathrooms"), validators=[InputRequired(), NumberRange(0, 20)], default=1
    )
    amenities = MultiCheckboxField(_l("Amenities"), choices=_choices(AMENITY_LABELS), default=[])
    house_rules = TextAreaField(
        _l("House rules"),
        validators=[Length(max=3000)],
        description=_l("Guests accept these when they book."),
    )
    check_in_time = TimeField(_l("Check-in from"), validators=[InputRequired()], default=time(15))
    check_out_time = TimeField(_l("Check-out by"), validators=[InputRequired()], default=time(11))
    nightly_price = KronorField(
        _l("Price per night (kr)"), validators=[InputRequired()], min_ore=100
    )
    cleaning_fee = KronorField(_l("Cleaning fee (kr)"), validators=[Optional()], min_ore=0)
    is_instant_book = BooleanField(
        _l("Instant book: guests can book without waiting for my answer"), default=True
    )
    cancellation_policy = RadioField(
        _l("Cancellation policy"),
        choices=_choices(CANCELLATION_POLICY_LABELS),
        default="moderate",
        validators=[InputRequired()],
    )

    def listing_data(self, area_ids: dict[str, int]) -> dict:
        return {
            "title": self.title.data.strip(),
            "description": self.description.data.strip(),
            "property_type": self.property_type.data,
            "area_id": area_ids[self.area.data],
            "street_address": self.street_address.data.strip(),
            "registration_number": (self.registration_number.data or "").strip() or None,
            "max_guests": self.max_guests.data,
            "bedrooms": self.bedrooms.data,
            "beds": self.beds.data,
            "bathrooms": self.bathrooms.data,
            "amenities": list(self.amenities.data or []),
            "house_rules": (self.house_rules.data or "").strip(),
            "check_in_time": self.check_in_time.data,
            "check_out_time": self.check_out_time.data,
            "nightly_price_ore": self.nightly_price.data,
            "cleaning_fee_ore": self.cleaning_fee.data or 0,
            "is_instant_book": bool(self.is_instant_book.data),
            "cancellation_policy": self.cancellation_policy.data,
            **self.rules_data(),
        }


class RulesForm(RulesMixin, FlaskForm):
    """Stay rules, on the calendar page."""


class RangeForm(FlaskForm):
    """A range of nights, first and last included."""

    first = DateField(_l("First night"), validators=[InputRequired()])
    last = DateField(_l("Last night"), validators=[InputRequired()])

    def validate_last(self, field: Field) -> None:
        if self.first.data and field.data and field.data < self.first.data:
            raise ValidationError(_l("The last night cannot be before the first night."))


class BlockForm(RangeForm):
    action = RadioField(
        _l("These nights are"),
        choices=[
            SelectChoice("block", _l("Blocked")),
            SelectChoice("unblock", _l("Open for booking")),
        ],
        default="block",
        validators=[InputRequired()],
    )


class PriceForm(RangeForm):
    # The calendar page shows this form beside the block form: ids of their own (the names,
    # which the server reads, stay `first` and `last`).
    first = DateField(_l("First night"), validators=[InputRequired()], id="price-first")
    last = DateField(_l("Last night"), validators=[InputRequired()], id="price-last")
    price = KronorField(
        _l("Price per night (kr)"),
        validators=[Optional()],
        min_ore=100,
        description=_l("Leave empty to use the listing's usual price again."),
    )


class PhotoForm(FlaskForm):
    # No FileAllowed: the extension says nothing; Pillow decides what the file is.
    photo = FileField(_l("Photo"), render_kw={"accept": "image/jpeg,image/png,image/webp"})
    alt_text = StringField(
        _l("Description for screen readers"),
        validators=[Length(max=200)],
        description=_l("What the photo shows, e.g. “Kitchen with a window to the garden”."),
    )


class AltTextForm(FlaskForm):
    alt_text = StringField(_l("Description for screen readers"), validators=[Length(max=200)])


class ActionForm(FlaskForm):
    """A button that changes something: only the CSRF token."""


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

"""The board's payment details, the guest's choice of method, and matching a payment."""

from __future__ import annotations

from wtforms import HiddenField, IntegerField, StringField, SubmitField
from wtforms.validators import AnyOf, DataRequired, Length, NumberRange, Optional, ValidationError

from rentalcoop.forms import FlaskForm
from rentalcoop.i18n import _l
from rentalcoop.payments.manual import formats
from rentalcoop.payments.manual.models import PaymentMethod


def _swish(form, field) -> None:
    number = formats.digits(field.data)
    if number and not formats.is_swish_number(number):
        raise ValidationError(
            _l("A Swish number for organisations has ten digits and starts with 123.")
        )


def _bankgiro(form, field) -> None:
    number = formats.digits(field.data)
    if not number:
        return
    if not formats.BANKGIRO_RE.match(number):
        raise ValidationError(
            _l("A bank giro number has seven or eight digits, written 123-4567 or 1234-5678.")
        )
    if not formats.luhn_ok(number):
        raise ValidationError(
            _l("The last digit of this bank giro number does not check out: please look again.")
        )


class PaymentDetailsForm(FlaskForm):
    payee_name = StringField(_l("Payee name"), validators=[Length(max=200)])
    swish_number = StringField(
        _l("Swish number"),
        validators=[Optional(), _swish],
        description=_l("Ten digits starting with 123, e.g. 123 456 78 90."),
    )
    bankgiro_number = StringField(
        _l("Bank giro number"),
        validators=[Optional(), _bankgiro],
        description=_l("Seven or eight digits, e.g. 123-4567 or 1234-5678."),
    )
    bankgiro_hold_days = IntegerField(
        _l("Bank days a bank giro booking is held"),
        validators=[
            Optional(),
            NumberRange(min=1, max=10, message=_l("Between 1 and 10 bank days.")),
        ],
    )
    submit = SubmitField(_l("Save"))

    def validate_payee_name(self, field) -> None:
        has_number = formats.digits(self.swish_number.data) or formats.digits(
            self.bankgiro_number.data
        )
        if has_number and not (field.data or "").strip():
            raise ValidationError(_l("Write the name guests see as the payee."))


class MethodForm(FlaskForm):
    method = HiddenField(
        validators=[DataRequired(), AnyOf([str(m) for m in PaymentMethod])],
    )


class MatchForm(FlaskForm):
    reference = StringField(
        _l("Reference (booking code)"), validators=[DataRequired(), Length(max=500)]
    )
    amount = StringField(_l("Amount received"), validators=[DataRequired(), Length(max=40)])
    submit = SubmitField(_l("Find and mark paid"))

    def validate_amount(self, field) -> None:
        amount = formats.parse_amount_ore(field.data)
        if amount is None or amount <= 0:
            raise ValidationError(_l("Write the amount in kronor, e.g. 3 795,00."))

    @property
    def amount_ore(self) -> int:
        return formats.parse_amount_ore(self.amount.data) or 0

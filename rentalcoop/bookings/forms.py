from wtforms import (
    BooleanField,
    DateField,
    IntegerField,
    SelectField,
    SubmitField,
    TextAreaField,
)
from wtforms.fields.choices import SelectChoice
from wtforms.validators import DataRequired, InputRequired, Length, NumberRange, Optional

from rentalcoop.forms import FlaskForm
from rentalcoop.i18n import _l


class BookingForm(FlaskForm):
    """The last step before the nights are held (CONTRACT: POST /listings/<id>/book)."""

    check_in = DateField(_l("Check-in"), validators=[InputRequired()])
    check_out = DateField(_l("Check-out"), validators=[InputRequired()])
    guests = IntegerField(_l("Guests"), validators=[InputRequired(), NumberRange(min=1, max=30)])
    accept_rules = BooleanField(
        _l("I have read and accept the house rules and the cancellation policy."),
        validators=[DataRequired(message=_l("Please accept the house rules to book."))],
    )
    message = TextAreaField(
        _l("Message to the host"),
        validators=[Optional(), Length(max=2000)],
        description=_l("Say hello and tell the host a little about your trip."),
    )
    # The community-fund project of DESIGN §12; 0 = the general fund. Choices: governance.fund.
    community_project = SelectField(
        _l("Your community share goes to"), coerce=int, default=0, choices=[SelectChoice(0, "")]
    )
    submit = SubmitField(_l("Book"))

    def validate_check_out(self, field):
        from wtforms.validators import ValidationError

        if self.check_in.data and field.data and field.data <= self.check_in.data:
            raise ValidationError(_l("Check-out must be after check-in."))


class ConfirmForm(FlaskForm):
    submit = SubmitField(_l("Confirm"))


class ReasonForm(FlaskForm):
    reason = TextAreaField(
        _l("Reason"),
        validators=[Optional(), Length(max=2000)],
        description=_l("Optional. Kept with the booking's history."),
    )
    submit = SubmitField(_l("Send"))


class HostCancelForm(FlaskForm):
    reason = TextAreaField(
        _l("Why do you cancel? The guest will read this."),
        validators=[
            DataRequired(message=_l("Please tell the guest why you cancel.")),
            Length(max=2000),
        ],
    )
    submit = SubmitField(_l("Cancel the stay and refund the guest in full"))

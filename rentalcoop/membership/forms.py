from wtforms import (
    BooleanField,
    EmailField,
    PasswordField,
    SelectField,
    StringField,
    SubmitField,
    TextAreaField,
)
from wtforms.fields.choices import SelectChoice
from wtforms.validators import DataRequired, Email, Length

from rentalcoop.accounts.forms import MIN_PASSWORD
from rentalcoop.forms import FlaskForm
from rentalcoop.i18n import LANGUAGE_NAMES, _l


class ApplicationForm(FlaskForm):
    motivation = TextAreaField(
        _l("Tell the board about the home you want to rent out"),
        validators=[DataRequired(), Length(max=2000)],
    )
    submit = SubmitField(_l("Apply for membership"))


class DecisionForm(FlaskForm):
    """Approve or reject; the button pressed decides."""

    approve = SubmitField(_l("Approve"))
    reject = SubmitField(_l("Reject"))


class LeaveForm(FlaskForm):
    """Ending a membership takes a vote and a share away: the board confirms it on a page of
    its own, not with one click on the register."""

    confirm = BooleanField(
        _l("Yes, this membership ends today"),
        validators=[DataRequired(message=_l("Tick the box to confirm."))],
    )
    submit = SubmitField(_l("End membership"))


class MunicipalityAccountForm(FlaskForm):
    name = StringField(_l("Name"), validators=[DataRequired(), Length(max=120)])
    email = EmailField(_l("Email"), validators=[DataRequired(), Email(check_deliverability=False)])
    password = PasswordField(
        _l("Password"), validators=[DataRequired(), Length(min=MIN_PASSWORD, max=200)]
    )
    locale = SelectField(
        _l("Language"),
        choices=[SelectChoice(code, name) for code, name in LANGUAGE_NAMES.items()],
        default="sv",
    )
    submit = SubmitField(_l("Create municipality account"))

from wtforms import EmailField, StringField, SubmitField, TextAreaField
from wtforms.validators import DataRequired, Email, Length, Optional, Regexp

from rentalcoop.forms import FlaskForm
from rentalcoop.i18n import _l


class IdentityForm(FlaskForm):
    name = StringField(_l("Name of the association"), validators=[DataRequired(), Length(max=200)])
    organisation_number = StringField(
        _l("Organisation number"),
        validators=[
            Optional(),
            Regexp(r"^\d{6}-\d{4}$", message=_l("Write it as 769600-1234.")),
        ],
    )
    address = TextAreaField(_l("Postal address"), validators=[Optional(), Length(max=500)])
    contact_email = EmailField(
        _l("Contact email"), validators=[Optional(), Email(check_deliverability=False)]
    )
    privacy_sv = TextAreaField(_l("Privacy policy (Swedish)"), validators=[DataRequired()])
    privacy_en = TextAreaField(_l("Privacy policy (English)"), validators=[DataRequired()])
    terms_sv = TextAreaField(_l("Terms of use (Swedish)"), validators=[DataRequired()])
    terms_en = TextAreaField(_l("Terms of use (English)"), validators=[DataRequired()])
    submit = SubmitField(_l("Save"))

from wtforms import SubmitField, TextAreaField
from wtforms.validators import DataRequired, Length, Optional

from rentalcoop.forms import FlaskForm
from rentalcoop.i18n import _l
from rentalcoop.moderation.services import MAX_REASON


class ReportForm(FlaskForm):
    reason = TextAreaField(
        _l("What is wrong?"),
        validators=[
            DataRequired(message=_l("Please tell the cooperative what is wrong.")),
            Length(max=MAX_REASON),
        ],
        description=_l("Only the board reads your report."),
    )
    submit = SubmitField(_l("Send report"))


class HideForm(FlaskForm):
    reason = TextAreaField(
        _l("Why is it hidden?"),
        validators=[
            DataRequired(
                message=_l("Say why the content is hidden; the reason is kept in the log.")
            ),
            Length(max=MAX_REASON),
        ],
    )
    submit = SubmitField(_l("Hide the content"))


class DismissForm(FlaskForm):
    note = TextAreaField(_l("Note (optional)"), validators=[Optional(), Length(max=MAX_REASON)])
    submit = SubmitField(_l("Dismiss the report"))

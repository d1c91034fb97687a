from wtforms import HiddenField, SubmitField, TextAreaField
from wtforms.validators import AnyOf, DataRequired, Length, Optional

from rentalcoop.forms import FlaskForm
from rentalcoop.i18n import _l
from rentalcoop.messaging.services import MAX_BODY


class MessageForm(FlaskForm):
    body = TextAreaField(
        _l("Message"),
        validators=[DataRequired(message=_l("Write a message first.")), Length(max=MAX_BODY)],
        description=_l("Plain text; links are shown as links."),
    )
    # Where to go after sending: back to the booking page or to the conversation.
    return_to = HiddenField(validators=[Optional(), AnyOf(["booking", "thread"])])
    submit = SubmitField(_l("Send"))

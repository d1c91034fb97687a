from wtforms import RadioField, SubmitField, TextAreaField
from wtforms.fields.choices import SelectChoice
from wtforms.validators import DataRequired, InputRequired, Length

from rentalcoop.forms import FlaskForm
from rentalcoop.i18n import _l
from rentalcoop.reviews.models import CATEGORY_LABELS
from rentalcoop.reviews.services import MAX_TEXT

STAR_CHOICES = [SelectChoice(n, str(n)) for n in range(1, 6)]


def _stars(label):
    return RadioField(
        label,
        choices=STAR_CHOICES,
        coerce=int,
        validators=[InputRequired(message=_l("Choose from 1 to 5 stars."))],
    )


def _text(label, description=None):
    return TextAreaField(
        label,
        description=description,
        validators=[
            DataRequired(message=_l("Please write a few words.")),
            Length(max=MAX_TEXT),
        ],
    )


class GuestReviewForm(FlaskForm):
    """The guest rates the home on six things and writes a public review."""

    cleanliness = _stars(CATEGORY_LABELS["cleanliness"])
    accuracy = _stars(CATEGORY_LABELS["accuracy"])
    communication = _stars(CATEGORY_LABELS["communication"])
    location = _stars(CATEGORY_LABELS["location"])
    check_in = _stars(CATEGORY_LABELS["check_in"])
    value = _stars(CATEGORY_LABELS["value"])
    text = _text(
        _l("Your review"),
        _l("Shown on the listing page with your name once both of you have reviewed."),
    )
    submit = SubmitField(_l("Publish review"))

    def star_fields(self):
        return [
            self.cleanliness,
            self.accuracy,
            self.communication,
            self.location,
            self.check_in,
            self.value,
        ]

    def stars(self) -> dict[str, int]:
        return {f.name: f.data for f in self.star_fields()}


class HostReviewForm(FlaskForm):
    """The host rates the guest once and writes a review other hosts will read."""

    rating = _stars(_l("Your rating of the guest"))
    text = _text(
        _l("Your review"),
        _l("Hosts the guest asks to stay with later can read it."),
    )
    submit = SubmitField(_l("Publish review"))

    def star_fields(self):
        return [self.rating]

    def stars(self) -> dict[str, int]:
        return {"rating": self.rating.data}


class AnswerForm(FlaskForm):
    text = _text(_l("Your public answer"), _l("You can answer once; everyone can read it."))
    submit = SubmitField(_l("Publish answer"))

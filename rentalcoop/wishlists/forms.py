from wtforms import HiddenField

from rentalcoop.forms import FlaskForm


class SaveForm(FlaskForm):
    """Save or unsave one home; `next` is the page to go back to."""

    next = HiddenField()

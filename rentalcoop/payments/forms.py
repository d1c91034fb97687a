"""Payment forms: buttons that change something carry only the CSRF token."""

from rentalcoop.forms import FlaskForm


class ActionForm(FlaskForm):
    """A button that changes something: only the CSRF token."""

"""The project's form base: Flask-WTF's form that also refuses what no column can hold.

Every form of the app derives from `FlaskForm` here, not from `flask_wtf` directly (a test
checks), so hostile input is refused in one place and the page shows the form again with what
was typed and a message on the field (issue 12):
- a NUL character in any field (PostgreSQL cannot store it; SQLite would store it silently);
- an integer (typed, or chosen from a select) outside what an INTEGER column holds.
"""

from __future__ import annotations

from flask_wtf import FlaskForm as _FlaskForm

from rentalcoop.i18n import _l
from rentalcoop.input_guard import INT4_MAX, INT4_MIN, NUL_MESSAGE, has_nul

TOO_LARGE_MESSAGE = _l("That number is too large.")


class FlaskForm(_FlaskForm):
    def validate(self, extra_validators=None) -> bool:
        valid = super().validate(extra_validators)
        for field in self:
            problem = None
            if any(has_nul(value) for value in field.raw_data or ()):
                problem = NUL_MESSAGE
            elif _out_of_range(field.data):
                problem = TOO_LARGE_MESSAGE
            if problem is not None:
                field.errors = [*field.errors, problem]
                valid = False
        return valid


def _out_of_range(data) -> bool:
    values = data if isinstance(data, list | tuple) else [data]
    return any(
        isinstance(v, int) and not isinstance(v, bool) and not INT4_MIN <= v <= INT4_MAX
        for v in values
    )

"""What a request may carry before any view sees it (issue 12): ids and numbers the columns can
hold, and no NUL character anywhere.

- `<int:…>` in every URL is bounded to what an INTEGER column holds (PostgreSQL's int4), so a
  larger id is a 404 instead of a driver error; `<year:…>` is a four-digit year.
- `query_int()` reads a number from the query string the same way (out of range: 404).
- A NUL character cannot be stored by PostgreSQL (and SQLite would store it silently): in the
  path or the query string it is a 400 with a translated message. In a form's fields the form
  itself refuses it (`rentalcoop.forms.FlaskForm`), so what the person typed is kept; other body
  fields that no form reads are refused here, like the query string.
"""

from __future__ import annotations

import functools

from flask import Flask, abort, request
from werkzeug.routing import IntegerConverter

from rentalcoop.i18n import _l

# PostgreSQL `integer` (SQLAlchemy `Integer`, every id and öre column of this schema).
INT4_MIN = -(2**31)
INT4_MAX = 2**31 - 1
# Four-digit years; the last one leaves room for "the year after" in date arithmetic.
YEAR_MIN = 1900
YEAR_MAX = 9998

NUL = "\x00"
NUL_MESSAGE = _l("Text cannot contain the NUL character. Remove it and try again.")


class IdConverter(IntegerConverter):
    """`<int:…>`: a non-negative integer an INTEGER column can hold; anything larger is a 404."""

    def __init__(self, map, fixed_digits=0, min=0, max=INT4_MAX, signed=False):  # noqa: A002
        super().__init__(map, fixed_digits=fixed_digits, min=min, max=max, signed=signed)


class YearConverter(IntegerConverter):
    """`<year:…>`: a four-digit calendar year (`/board/close/0` and `/10000` are 404s)."""

    def __init__(self, map):  # noqa: A002
        super().__init__(map, fixed_digits=4, min=YEAR_MIN, max=YEAR_MAX)


def query_int(name: str, default: int | None = None, *, low: int = 1, high: int = INT4_MAX):
    """An integer from the query string: `default` when absent or empty, 404 when it is not a
    number in [low, high] (a page, version or year that cannot exist)."""
    raw = request.args.get(name, "")
    if raw.strip() == "":
        return default
    try:
        value = int(raw)
    except ValueError:
        abort(404)
    if not low <= value <= high:
        abort(404)
    return value


def has_nul(value) -> bool:
    return isinstance(value, str) and NUL in value


@functools.cache
def _form_field_names() -> frozenset[str]:
    """Every field name any form of the app declares (a prefix such as `pw-` left off)."""
    from wtforms.fields.core import UnboundField

    from rentalcoop.forms import FlaskForm

    names = set()
    pending = [FlaskForm]
    while pending:
        form_class = pending.pop()
        pending.extend(form_class.__subclasses__())
        for attr in dir(form_class):
            if isinstance(getattr(form_class, attr, None), UnboundField):
                names.add(attr)
    return frozenset(names)


def _refuse_nul():
    from rentalcoop.errors import render_error

    if NUL in request.path or any(
        has_nul(key) or has_nul(value) for key, value in request.args.items(multi=True)
    ):
        return render_error(400, str(NUL_MESSAGE))
    if request.method in ("POST", "PUT", "PATCH") and request.mimetype in (
        "application/x-www-form-urlencoded",
        "multipart/form-data",
    ):
        declared = _form_field_names()
        for key, value in request.form.items(multi=True):
            if has_nul(key) or (has_nul(value) and key.rpartition("-")[2] not in declared):
                return render_error(400, str(NUL_MESSAGE))
    return None


def init_app(app: Flask) -> None:
    """Before the blueprints: the converters must be known when their rules are added."""
    app.url_map.converters["int"] = IdConverter
    app.url_map.converters["year"] = YearConverter
    app.before_request(_refuse_nul)

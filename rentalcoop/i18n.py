"""Language selection and formatting (DESIGN §14).

The user's saved setting wins, then a `?lang=` switch (remembered in the session), then the
browser's Accept-Language, then Swedish.
"""

from __future__ import annotations

import subprocess
import sys
from datetime import date, datetime
from decimal import Decimal
from pathlib import Path
from urllib.parse import urlencode

import click
from flask import Flask, current_app, has_request_context, request, session
from flask_babel import format_currency, format_date, format_datetime, format_decimal, get_locale
from flask_babel import gettext as _  # noqa: F401 - re-exported for views
from flask_babel import lazy_gettext as _l  # noqa: F401 - re-exported for forms and enums
from flask_login import current_user

ROOT = Path(__file__).resolve().parent.parent
LANGUAGE_NAMES = {"sv": "Svenska", "en": "English"}


def select_locale() -> str:
    languages = current_app.config["LANGUAGES"]
    if not has_request_context():  # CLI and jobs: mail picks its locale with force_locale
        return current_app.config["BABEL_DEFAULT_LOCALE"]
    asked = request.args.get("lang")
    if asked in languages:
        return asked
    if current_user.is_authenticated and current_user.locale in languages:
        return current_user.locale
    if session.get("lang") in languages:
        return session["lang"]
    return (
        request.accept_languages.best_match(languages) or current_app.config["BABEL_DEFAULT_LOCALE"]
    )


def remember_language() -> None:
    """Before each request: a `?lang=` switch is remembered in the session and on the account."""
    asked = request.args.get("lang")
    if asked not in current_app.config["LANGUAGES"]:
        return
    session["lang"] = asked
    if current_user.is_authenticated and current_user.locale != asked:
        from rentalcoop.db import begin_write
        from rentalcoop.extensions import db

        user = current_user._get_current_object()
        begin_write(db.session)
        user.locale = asked
        db.session.commit()


def money(amount_ore: int | None) -> str:
    """Format integer öre as Swedish kronor in the current locale (`1 234,50 kr`)."""
    if amount_ore is None:
        return ""
    if not isinstance(amount_ore, int):
        raise TypeError("money is integer öre")
    # Decimal keeps it exact; Babel does the locale's grouping and symbol. English puts the
    # code before the amount with a space (DESIGN §14: "SEK 1,234.50"), Babel's default omits it.
    pattern = "¤\xa0#,##0.00" if current_language() == "en" else None
    return format_currency(Decimal(amount_ore) / 100, "SEK", format=pattern)


def number(value) -> str:
    return format_decimal(value)


def day(value: date | datetime | None, fmt: str = "medium") -> str:
    if value is None:
        return ""
    if isinstance(value, datetime):
        return format_datetime(value, fmt)
    return format_date(value, fmt)


def moment(value: datetime | None, fmt: str = "medium") -> str:
    """A UTC timestamp shown in Europe/Stockholm (Flask-Babel converts to the default zone)."""
    if value is None:
        return ""
    return format_datetime(value, fmt)


def lang_query(code: str) -> str:
    """The current query string with `lang` set to `code` (for the language switch)."""
    args = request.args.to_dict(flat=False)
    args["lang"] = [code]
    return urlencode(args, doseq=True)


def current_language() -> str:
    return str(get_locale() or "sv")


def init_app(app: Flask) -> None:
    app.jinja_env.filters["money"] = money
    app.jinja_env.filters["number"] = number
    app.jinja_env.filters["day"] = day
    app.jinja_env.filters["moment"] = moment
    app.jinja_env.add_extension("jinja2.ext.i18n")
    app.jinja_env.policies["ext.i18n.trimmed"] = True

    @app.context_processor
    def inject_language():
        return {
            "current_language": current_language(),
            "language_names": LANGUAGE_NAMES,
            "lang_query": lang_query,
        }

    @app.cli.group()
    def translate():
        """Refresh and build the message catalogs."""

    def pybabel(*args: str) -> None:
        subprocess.run(  # noqa: S603 - fixed arguments
            [sys.executable, "-m", "babel.messages.frontend", *args], check=True, cwd=ROOT
        )

    @translate.command()
    def update():
        """Extract messages from the code and merge them into every catalog."""
        pybabel(
            "extract",
            "-F",
            "babel.cfg",
            "-k",
            "_l",
            "--no-location",
            "--sort-output",
            "-o",
            "translations/messages.pot",
            ".",
        )
        pybabel(
            "update",
            "-i",
            "translations/messages.pot",
            "-d",
            "translations",
            "--no-fuzzy-matching",
            "--ignore-obsolete",
        )
        click.echo("Catalogs updated; translate the new Swedish messages, then run compile.")

    @translate.command()
    def compile():
        """Build the .mo files the application reads."""
        pybabel("compile", "-d", "translations")

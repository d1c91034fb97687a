"""Language selection and formatting (DESIGN §14).

The user's saved setting wins, then a `?lang=` switch (remembered in the session), then the
browser's Accept-Language, then Swedish.
"""

from __future__ import annotations

import functools
import subprocess
import sys
from collections.abc import Callable
from datetime import date, datetime, time
from decimal import Decimal
from pathlib import Path
from urllib.parse import urlencode

import click
from babel import Locale
from babel.dates import format_time as babel_format_time
from babel.numbers import format_currency, get_decimal_symbol, get_group_symbol, parse_pattern
from flask import Flask, current_app, has_request_context, request, session
from flask_babel import format_date, format_datetime, format_decimal, get_locale, get_translations
from flask_babel import gettext as _  # noqa: F401 - re-exported for views
from flask_babel import lazy_gettext as _l  # noqa: F401 - re-exported for forms and enums
from flask_login import current_user
from jinja2 import pass_context
from jinja2.runtime import Context
from markupsafe import Markup

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


# English puts the code before the amount with a space (DESIGN §14: "SEK 1,234.50"); Babel's
# default for English omits the space. Swedish uses the locale's own pattern ("1 234,50 kr").
MONEY_PATTERNS = {"en": "¤\xa0#,##0.00"}


def _babel_money(amount_ore: int, language: str) -> str:
    """Babel's formatting of öre as SEK in `language` (exact: Decimal)."""
    return format_currency(
        Decimal(amount_ore) / 100, "SEK", format=MONEY_PATTERNS.get(language), locale=language
    )


@functools.cache
def money_formatter(language: str) -> Callable[[int], str]:
    """A formatter of integer öre for `language`, giving exactly what Babel gives.

    Babel parses and applies the number pattern through Decimal on every call (≈ 15 µs; a search
    page shows 20 prices). Integer öre only ever need a sign, grouped kronor and two decimals, so
    the locale's pieces (sign, currency affixes, group and decimal symbols) are read from Babel
    once per language and then joined. Checked against Babel here and in the tests; a locale
    whose pattern is not of that simple kind keeps using Babel.
    """
    locale = Locale.parse(language)
    pattern = (
        parse_pattern(MONEY_PATTERNS[language])
        if language in MONEY_PATTERNS
        else locale.currency_formats["standard"]
    )
    group, decimal = get_group_symbol(locale), get_decimal_symbol(locale)
    probe = f"1{decimal}23"
    affixes = []
    for sample in (123, -123):
        before, found, after = _babel_money(sample, language).partition(probe)
        affixes.append((before, after))
    (plus_before, plus_after), (minus_before, minus_after) = affixes

    def fast(amount_ore: int) -> str:
        kronor, ore = divmod(-amount_ore if amount_ore < 0 else amount_ore, 100)
        digits = f"{kronor:,}".replace(",", group) if kronor >= 1000 else str(kronor)
        if amount_ore < 0:
            return f"{minus_before}{digits}{decimal}{ore:02d}{minus_after}"
        return f"{plus_before}{digits}{decimal}{ore:02d}{plus_after}"

    simple = pattern.grouping == (3, 3) and pattern.int_prec[0] == 1 and not pattern.exp_prec
    samples = (0, 1, -1, 99, 100, -100, 123_456, -999_999, 100_000_000, 12_345_678_901)
    if simple and all(fast(n) == _babel_money(n, language) for n in samples):
        return fast
    return functools.partial(_babel_money, language=language)


def money(amount_ore: int | None) -> str:
    """Format integer öre as Swedish kronor in the current locale (`1 234,50 kr`)."""
    if amount_ore is None:
        return ""
    if not isinstance(amount_ore, int):
        raise TypeError("money is integer öre")
    return money_formatter(current_language())(amount_ore)


def number(value) -> str:
    return format_decimal(value)


# One way to write a date in both languages (issue 16): day, month, year in that order, a
# 24-hour clock, no seconds. Babel's own "short" and "medium" differ between the locales (Swedish
# short is ISO "2026-12-04", English short is the US "12/4/26, 7:34 PM"); the named formats
# below are the patterns every page and mail uses. Other patterns pass through to Babel.
DATE_PATTERNS = {
    "short": "d MMM y",
    "medium": "d MMM y",
    "long": "d MMMM y",
    "full": "EEEE d MMMM y",
}
CLOCK_PATTERN = "HH:mm"


def _date_pattern(fmt: str) -> str:
    return DATE_PATTERNS.get(fmt, fmt)


def day(value: date | datetime | None, fmt: str = "medium") -> str:
    """A calendar date (a night, a check-in) in the reader's language: "4 dec. 2026"."""
    if value is None:
        return ""
    if isinstance(value, datetime):
        return format_datetime(value, _date_pattern(fmt))
    return format_date(value, _date_pattern(fmt))


def clock(value: time | None) -> str:
    """A wall-clock time of day (check-in from 15:00), as both languages write it here."""
    if value is None:
        return ""
    return babel_format_time(value, CLOCK_PATTERN, locale=current_language())


class LazyDay:
    """A date for a translatable message's placeholder, formatted in the reader's language when
    the message is shown (domain errors are made before the locale is known)."""

    def __init__(self, value: date):
        self.value = value

    def __str__(self) -> str:
        return day(self.value)


def moment(value: datetime | None, fmt: str = "medium") -> str:
    """A UTC timestamp shown in Europe/Stockholm (Flask-Babel converts to the default zone), to
    the minute: "4 dec. 2026 19:34" / "4 Dec 2026, 19:34"."""
    if value is None:
        return ""
    if fmt in DATE_PATTERNS:
        fmt = f"{DATE_PATTERNS[fmt]}, {CLOCK_PATTERN}"
    return format_datetime(value, fmt)


# A day and a clock time as a notice gives them ("söndag 10 januari 2027, 18:00"): Babel's
# "full" and "long" add seconds and the zone's long name.
WHEN_PATTERN = "EEEE d MMMM y, HH:mm"


def when(value: datetime | None) -> str:
    """When something happens (a meeting), in Stockholm time, to the minute."""
    return moment(value, WHEN_PATTERN)


def lang_query(code: str) -> str:
    """The current query string with `lang` set to `code` (for the language switch)."""
    args = request.args.to_dict(flat=False)
    args["lang"] = [code]
    return urlencode(args, doseq=True)


def current_language() -> str:
    return str(get_locale() or "sv")


def _render_translations(context: Context):
    """The catalog of the current locale, looked up once per template render.

    `inject_language` puts it in every render's context (mail rendered under `force_locale`
    gets its own). Macros imported without context run in a module context Jinja shares between
    renders: they look the catalog up each time.
    """
    translations = context.get("rc_translations")
    return get_translations() if translations is None else translations


@pass_context
def _template_gettext(context: Context, message: str) -> str:
    return _render_translations(context).ugettext(message)


@pass_context
def _template_underscore(context: Context, message: str, **variables) -> str:
    """`_()` in templates, as Jinja's alias and newstyle gettext do it, in one call instead of
    three: translate, mark safe when autoescaping, always format (a page has ~40 of them)."""
    translated = _render_translations(context).ugettext(message)
    if context.eval_ctx.autoescape:
        # Markup's % escapes the variables; with none it would only pay for the machinery.
        if variables:
            return Markup(translated) % variables  # noqa: S704 - catalog text, as Jinja does
        return Markup(translated % {})  # noqa: S704 - catalog text, as Jinja does
    return translated % variables


@pass_context
def _template_ngettext(context: Context, singular: str, plural: str, n: int) -> str:
    return _render_translations(context).ungettext(singular, plural, n)


@pass_context
def _template_pgettext(context: Context, msgctxt: str, message: str) -> str:
    return _render_translations(context).upgettext(msgctxt, message)


@pass_context
def _template_npgettext(context: Context, msgctxt: str, singular: str, plural: str, n: int) -> str:
    return _render_translations(context).unpgettext(msgctxt, singular, plural, n)


def init_app(app: Flask) -> None:
    app.jinja_env.filters["money"] = money
    app.jinja_env.filters["number"] = number
    app.jinja_env.filters["day"] = day
    app.jinja_env.filters["moment"] = moment
    app.jinja_env.filters["clock"] = clock
    app.jinja_env.filters["when"] = when
    app.jinja_env.add_extension("jinja2.ext.i18n")
    app.jinja_env.policies["ext.i18n.trimmed"] = True
    # Flask-Babel's template callables look the catalog up through `g` on every `_()` (≈ ten
    # proxy lookups; a page has about forty): look it up once per render instead.
    app.jinja_env.install_gettext_callables(
        gettext=_template_gettext,
        ngettext=_template_ngettext,
        newstyle=True,
        pgettext=_template_pgettext,
        npgettext=_template_npgettext,
    )
    app.jinja_env.globals["_"] = _template_underscore

    @app.context_processor
    def inject_language():
        return {
            "current_language": current_language(),
            "rc_translations": get_translations(),
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

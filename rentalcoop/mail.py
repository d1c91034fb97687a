"""Outgoing mail, rendered in the recipient's language.

With `MAIL_SERVER` unset (development) a message is written to the log; otherwise it goes out by
SMTP with the `MAIL_*` settings. Callers send after their transaction has committed.
"""

from __future__ import annotations

import logging
import smtplib
from collections.abc import Callable
from email.message import EmailMessage
from email.utils import make_msgid

from flask import current_app, render_template
from flask_babel import force_locale

log = logging.getLogger("rentalcoop.mail")


def compose(to: str, locale: str, template: str, **context) -> EmailMessage:
    """Render `mail/<template>.subject.txt` and `.txt` in `locale` into a message to `to`."""
    with force_locale(locale):
        subject = render_template(f"mail/{template}.subject.txt", **context).strip()
        body = render_template(f"mail/{template}.txt", **context)
    message = EmailMessage()
    message["From"] = current_app.config["MAIL_FROM"]
    message["To"] = to
    message["Subject"] = subject
    message["Message-ID"] = make_msgid(domain="rentalcoop")
    message["Content-Language"] = locale
    message.set_content(body)
    return message


def deliver(message: EmailMessage) -> None:
    config = current_app.config
    if not config.get("MAIL_SERVER"):
        log.info(
            "mail (not sent: no MAIL_SERVER)\nTo: %s\nSubject: %s\n\n%s",
            message["To"],
            message["Subject"],
            message.get_content(),
        )
        return
    with smtplib.SMTP(config["MAIL_SERVER"], config["MAIL_PORT"], timeout=20) as smtp:
        if config.get("MAIL_USE_TLS"):
            smtp.starttls()
        if config.get("MAIL_USERNAME"):
            smtp.login(config["MAIL_USERNAME"], config["MAIL_PASSWORD"] or "")
        smtp.send_message(message)


def deliver_later(message: EmailMessage) -> Callable[[], None]:
    """A callable that delivers `message` in this app, for after the response is sent
    (`response.call_on_close`); it logs a failure instead of raising (the answer has gone)."""
    app = current_app._get_current_object()

    def send() -> None:
        with app.app_context():
            try:
                deliver(message)
            except Exception as err:  # noqa: BLE001 - nobody is left to answer
                log.warning("mail not sent after the response: %s", type(err).__name__)

    return send


def send_mail(to: str, locale: str, template: str, **context) -> None:
    """Compose and deliver one message."""
    deliver(compose(to, locale, template, **context))

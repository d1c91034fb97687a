"""Mail goes out by SMTP (a local server on 127.0.0.1) in the recipient's language."""

import socket
import threading
from email import message_from_bytes, policy

import pytest
from aiosmtpd.controller import Controller

from tests import factories
from tests.helpers import post_form


class Inbox:
    def __init__(self):
        self.messages = []
        self.received = threading.Event()

    async def handle_DATA(self, server, session, envelope):  # noqa: N802 - aiosmtpd's hook name
        self.messages.append(message_from_bytes(envelope.content, policy=policy.default))
        self.received.set()
        return "250 OK"


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture
def smtp():
    inbox = Inbox()
    controller = Controller(inbox, hostname="127.0.0.1", port=_free_port())
    controller.start()
    yield controller, inbox
    controller.stop()


@pytest.fixture
def app_config(smtp):
    controller, _inbox = smtp
    return {
        "MAIL_SERVER": "127.0.0.1",
        "MAIL_PORT": controller.port,
        "MAIL_FROM": "coop@example.org",
    }


@pytest.mark.parametrize(
    ("locale", "subject", "phrase"),
    [
        ("sv", "Återställ ditt lösenord", "Länken fungerar en gång"),
        ("en", "Reset your rentalcoop password", "The link works once"),
    ],
)
def test_reset_mail_is_sent_by_smtp_in_the_recipients_language(
    app, client, smtp, locale, subject, phrase
):
    _controller, inbox = smtp
    with app.app_context():
        factories.user(email=f"{locale}@example.org", name="Mottagare", locale=locale)
        factories.db.session.commit()
    # The page is viewed in the other language: the mail still follows the recipient.
    other = "en" if locale == "sv" else "sv"
    client.get(f"/?lang={other}")
    post_form(client, "/reset", {"email": f"{locale}@example.org"}).close()
    assert inbox.received.wait(5)
    message = inbox.messages[0]
    assert message["To"] == f"{locale}@example.org"
    assert message["From"] == "coop@example.org"
    assert subject in message["Subject"]
    body = message.get_content()
    assert phrase in body
    assert "http://localhost/reset/" in body

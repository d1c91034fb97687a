"""Booking threads: only the two parties, the board only after a report, safe text, throttled
mail in the recipient's language, unread counts."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import func, select

from rentalcoop.db import utcnow
from rentalcoop.extensions import db
from rentalcoop.messaging import services
from rentalcoop.messaging.models import Message
from rentalcoop.messaging.services import MessageError, linkify
from rentalcoop.outbox import OutboxMessage
from tests import factories
from tests.helpers import csrf_token, login, post_form, text_of


@pytest.fixture
def thread(app):
    """A request to book (a thread exists before any stay) and everyone around it."""
    with app.app_context():
        host = factories.host(name="Hedda Värd", email="host@example.org", locale="en")
        guest = factories.user(name="Gösta Gäst", email="guest@example.org", locale="sv")
        home = factories.listing(host=host, is_instant_book=False)
        request = factories.booking(listing=home, guest=guest, state="requested")
        request.expires_at = utcnow() + timedelta(hours=20)
        factories.host(email="otherhost@example.org")
        factories.user(email="stranger@example.org")
        factories.user(board=True, email="board@example.org")
        factories.user(municipality=True, email="town@example.org")
        db.session.commit()
        return {"booking": request.id, "host": host.id, "guest": guest.id}


def _logout(client):
    client.post("/logout", data={"csrf_token": csrf_token(client, "/account")})


def _send(client, booking_id, body, return_to="thread"):
    return post_form(
        client,
        f"/bookings/{booking_id}/messages",
        {"body": body, "return_to": return_to},
        form_url=f"/bookings/{booking_id}/messages",
    )


def test_the_two_parties_write_and_read(app, client, thread):
    login(client, "guest@example.org")
    sent = _send(client, thread["booking"], "Hej! Can we arrive at 18?", return_to="booking")
    assert sent.status_code == 303
    assert sent.headers["Location"].endswith(f"/bookings/{thread['booking']}#messages")
    assert "Can we arrive at 18?" in text_of(client.get(f"/bookings/{thread['booking']}"))
    _logout(client)
    login(client, "host@example.org")
    page = text_of(client.get(f"/bookings/{thread['booking']}/messages"))
    assert "Can we arrive at 18?" in page
    assert _send(client, thread["booking"], "Yes, welcome!").status_code == 303
    with app.app_context():
        rows = db.session.execute(
            select(Message.sender_id, Message.recipient_id).order_by(Message.id)
        ).all()
    assert rows == [(thread["guest"], thread["host"]), (thread["host"], thread["guest"])]


@pytest.mark.parametrize(
    "email",
    ["otherhost@example.org", "stranger@example.org", "board@example.org", "town@example.org"],
)
def test_nobody_else_reads_or_writes(app, client, thread, email):
    with app.app_context():
        from rentalcoop.bookings.models import Booking

        factories.message(db.session.get(Booking, thread["booking"]), body="PRIVATE-WORDS")
        db.session.commit()
    login(client, email)
    url = f"/bookings/{thread['booking']}/messages"
    assert client.get(url).status_code == 403
    token = csrf_token(client, "/account")
    assert client.post(url, data={"csrf_token": token, "body": "hi"}).status_code == 403
    booking_page = client.get(f"/bookings/{thread['booking']}")
    # The board may open the booking itself, but not its conversation.
    assert booking_page.status_code in (200, 403)
    assert "PRIVATE-WORDS" not in text_of(booking_page)
    assert "PRIVATE-WORDS" not in text_of(client.get("/messages"))
    with app.app_context():
        assert db.session.scalar(select(func.count()).select_from(Message)) == 1


def test_the_board_reads_a_thread_only_once_a_party_reports_a_message(app, client, thread):
    with app.app_context():
        from rentalcoop.bookings.models import Booking

        booking = db.session.get(Booking, thread["booking"])
        factories.message(booking, body="You will regret this")
        factories.message(booking, sender=booking.host, body="Earlier context")
        db.session.commit()
        first = db.session.scalar(select(Message.id).order_by(Message.id))
    url = f"/bookings/{thread['booking']}/messages"
    login(client, "board@example.org")
    assert client.get(url).status_code == 403
    _logout(client)

    login(client, "host@example.org")
    report_url = f"/report/message/{first}"
    assert client.get(report_url).status_code == 200
    assert post_form(client, report_url, {"reason": "A threat"}).status_code == 303
    _logout(client)

    login(client, "board@example.org")
    with app.app_context():
        read_before = set(db.session.scalars(select(Message.read_at)))
    page = client.get(url)
    assert page.status_code == 200
    assert "You will regret this" in text_of(page)
    assert "Earlier context" in text_of(page)
    # Reading is not writing.
    token = csrf_token(client, "/account")
    assert client.post(url, data={"csrf_token": token, "body": "hi"}).status_code == 403
    # Reading does not mark anything read for the parties.
    with app.app_context():
        assert set(db.session.scalars(select(Message.read_at))) == read_before


def test_a_stranger_cannot_report_a_message(app, client, thread):
    with app.app_context():
        from rentalcoop.bookings.models import Booking

        message = factories.message(db.session.get(Booking, thread["booking"]))
        db.session.commit()
        message_id = message.id
    login(client, "stranger@example.org")
    assert client.get(f"/report/message/{message_id}").status_code == 403


def test_message_with_script_is_inert_and_links_are_safe(app, client, thread):
    body = (
        '<script>alert("x")</script> see https://example.org/a?b=1&c=<2> and '
        'javascript:alert(1) or "https://evil.example/x" onmouseover="alert(1)".'
    )
    login(client, "guest@example.org")
    _send(client, thread["booking"], body)
    page = text_of(client.get(f"/bookings/{thread['booking']}/messages"))
    assert "<script>alert" not in page
    assert "&lt;script&gt;alert(&#34;x&#34;)&lt;/script&gt;" in page
    assert (
        '<a href="https://example.org/a?b=1&amp;c=" rel="nofollow noopener ugc" '
        'target="_blank">https://example.org/a?b=1&amp;c=</a>&lt;2&gt;' in page
    )
    assert 'href="javascript' not in page
    assert '<a href="https://evil.example/x"' in page
    assert ' onmouseover="alert(1)"' not in page


def test_linkify_escapes_everything_else():
    assert str(linkify("a < b & c")) == "a &lt; b &amp; c"
    assert str(linkify("Go to https://x.se/p.")) == (
        'Go to <a href="https://x.se/p" rel="nofollow noopener ugc" target="_blank">'
        "https://x.se/p</a>."
    )
    assert str(linkify("http:// nothing")) == "http:// nothing"
    assert str(linkify("ftp://x.se and www.x.se")) == "ftp://x.se and www.x.se"
    assert 'href="https://x.se/&#39;onclick=' not in str(linkify("https://x.se/'onclick=alert(1)"))


def test_mail_is_throttled_per_recipient_and_thread(app, thread):
    t0 = utcnow()
    with app.app_context():
        from rentalcoop.bookings.models import Booking

        booking = db.session.get(Booking, thread["booking"])
        for minutes in (0, 1, 5, 14):
            factories.message(booking, body=f"Line {minutes}", at=t0 + timedelta(minutes=minutes))
        factories.message(booking, sender=booking.host, body="Answer", at=t0 + timedelta(minutes=2))
        factories.message(booking, body="Later", at=t0 + timedelta(minutes=16))
        db.session.commit()
        mails = db.session.execute(
            select(OutboxMessage.to_address, OutboxMessage.locale)
            .where(OutboxMessage.template == "message_received")
            .order_by(OutboxMessage.id)
        ).all()
    # To the host: the first line and the one after 15 quiet minutes; to the guest: one.
    assert mails == [
        ("host@example.org", "en"),
        ("guest@example.org", "sv"),
        ("host@example.org", "en"),
    ]


def test_message_mail_renders_in_both_languages(app, thread):
    from rentalcoop import mail

    with app.app_context(), app.test_request_context():
        for locale in ("sv", "en"):
            message = mail.compose(
                "x@example.org",
                locale,
                "message_received",
                booking_id=thread["booking"],
                sender_name="Gösta Gäst",
            )
            assert "Gösta Gäst" in message["Subject"]
            assert f"/bookings/{thread['booking']}/messages" in message.get_content()


def test_unread_count_in_the_header_and_cleared_by_reading(app, client, thread, count_queries):
    with app.app_context():
        from rentalcoop.bookings.models import Booking

        booking = db.session.get(Booking, thread["booking"])
        factories.message(booking, body="One")
        factories.message(booking, body="Two")
        db.session.commit()
    login(client, "host@example.org")
    page = text_of(client.get("/account"))
    assert '<span class="unread-badge" id="unread-messages"' in page
    assert ">2</span>" in page
    inbox = text_of(client.get("/messages"))
    assert f"/bookings/{thread['booking']}/messages" in inbox
    client.get(f"/bookings/{thread['booking']}/messages")
    assert 'id="unread-messages"' not in text_of(client.get("/account"))
    # The count itself is one statement.
    with app.app_context(), count_queries() as counter:
        assert services.unread_count(thread["guest"]) == 0
    assert counter.count == 1


def test_unread_badge_costs_one_query_per_page(app, client, thread, count_queries):
    login(client, "host@example.org")
    client.get("/account")
    with count_queries() as without:
        client.get("/account")
    with app.app_context():
        from rentalcoop.bookings.models import Booking

        factories.message(db.session.get(Booking, thread["booking"]), body="One")
        db.session.commit()
    with count_queries() as with_unread:
        page = text_of(client.get("/account"))
    assert 'id="unread-messages"' in page
    assert with_unread.count == without.count


def test_service_refuses_strangers_and_empty_messages(app, thread):
    with app.app_context():
        from rentalcoop.accounts.models import User
        from rentalcoop.bookings.models import Booking

        booking = db.session.get(Booking, thread["booking"])
        stranger = db.session.scalar(select(User).where(User.email == "stranger@example.org"))
        with pytest.raises(MessageError):
            services.send_message(booking, stranger, "hi")
        with pytest.raises(MessageError):
            services.send_message(booking, booking.guest, "   ")
        with pytest.raises(MessageError):
            services.send_message(booking, booking.guest, "x" * (services.MAX_BODY + 1))


def test_account_deletion_erases_sent_messages(app, thread):
    from rentalcoop.accounts.services import delete_account

    with app.app_context():
        from rentalcoop.bookings.models import Booking

        booking = db.session.get(Booking, thread["booking"])
        factories.message(booking, body="From the guest")
        factories.message(booking, sender=booking.host, body="From the host")
        delete_account(booking.guest)
        db.session.commit()
        bodies = dict(db.session.execute(select(Message.sender_id, Message.body)).all())
    assert bodies == {thread["guest"]: "", thread["host"]: "From the host"}

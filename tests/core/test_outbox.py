"""The mail outbox: queued in the change's transaction, sent after commit, once."""

import logging
from datetime import timedelta

from sqlalchemy import select

from rentalcoop import outbox
from rentalcoop.bookings import services
from rentalcoop.db import utcnow
from rentalcoop.extensions import db
from rentalcoop.outbox import OutboxMessage
from tests import factories


def test_mail_queued_by_a_job_is_sent_by_jobs_run_with_working_links(app, runner, caplog):
    with app.app_context():
        hold = factories.booking(state="pending_payment")
        hold.expires_at = utcnow() - timedelta(minutes=1)
        db.session.commit()
    with caplog.at_level(logging.INFO, logger="rentalcoop.mail"):
        result = runner.invoke(args=["jobs", "run"])
    assert result.exit_code == 0, result.output
    assert "expire-holds: 1" in result.output
    sent = [r.getMessage() for r in caplog.records if r.name == "rentalcoop.mail"]
    assert len(sent) == 1
    assert f"{app.config['BASE_URL']}/bookings/" in sent[0]
    with app.app_context():
        message = db.session.scalar(select(OutboxMessage))
        assert message.sent_at is not None
        assert message.template == "booking_expired_guest"


def test_enqueue_is_idempotent_and_a_rollback_sends_nothing(app, caplog):
    with app.app_context():
        guest = factories.user(email="once@example.org")
        db.session.commit()
        outbox.enqueue("k:1", guest.email, "sv", "email_changed", user_id=guest.id)
        db.session.rollback()  # the change was abandoned: its mail with it
        assert db.session.scalar(select(OutboxMessage.id)) is None
        outbox.enqueue("k:2", guest.email, "sv", "booking_expired_guest", booking_id=0)
        outbox.enqueue("k:2", guest.email, "sv", "booking_expired_guest", booking_id=0)
        db.session.commit()
        assert len(db.session.scalars(select(OutboxMessage)).all()) == 1


def test_a_failed_send_is_kept_for_the_next_run(app, monkeypatch):
    from rentalcoop import mail

    with app.app_context():
        hold = factories.booking(state="pending_payment")
        hold.expires_at = utcnow() - timedelta(minutes=1)
        db.session.commit()
        services.expire_due()

        def down(*args, **kwargs):
            raise ConnectionRefusedError("smtp down")

        monkeypatch.setattr(mail, "deliver", down)
        assert outbox.send_pending() == 0
        db.session.commit()
        message = db.session.scalar(select(OutboxMessage))
        db.session.refresh(message)
        assert message.sent_at is None
        assert "smtp down" in message.last_error
        monkeypatch.undo()
        assert outbox.send_pending() == 1
        assert outbox.send_pending() == 0  # never twice

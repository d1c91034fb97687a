"""The mail outbox: a message is written in the same transaction as the change it tells about,
and sent after the commit — by the request that made it, or by `flask jobs run` if that failed.

So no mail is lost when the process dies after committing, and none is sent for a change that
was rolled back. A message is claimed before it is sent, so two senders never send it twice;
a crash between handing it to SMTP and recording that leaves it claimed, and it is retried after
`CLAIM_TIMEOUT` (at-least-once, the best SMTP allows).
"""

from __future__ import annotations

import logging
from contextlib import nullcontext
from datetime import datetime, timedelta

from flask import current_app, has_request_context
from sqlalchemy import JSON, String, Text, event, or_, select, update
from sqlalchemy.orm import Mapped, Session, mapped_column

from rentalcoop import mail
from rentalcoop.db import UTCDateTime, utcnow
from rentalcoop.extensions import db
from rentalcoop.jobs import job

log = logging.getLogger("rentalcoop.outbox")
CLAIM_TIMEOUT = timedelta(minutes=10)
MAX_ATTEMPTS = 8


class OutboxMessage(db.Model):
    __tablename__ = "outbox_messages"

    id: Mapped[int] = mapped_column(primary_key=True)
    # Makes enqueueing idempotent: the same event never queues its mail twice.
    key: Mapped[str] = mapped_column(String(200), unique=True)
    to_address: Mapped[str] = mapped_column(String(254))
    locale: Mapped[str] = mapped_column(String(5))
    template: Mapped[str] = mapped_column(String(100))
    context: Mapped[dict] = mapped_column(JSON, default=dict)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    claimed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    sent_at: Mapped[datetime | None] = mapped_column(UTCDateTime, index=True)
    attempts: Mapped[int] = mapped_column(default=0)
    last_error: Mapped[str] = mapped_column(Text, default="")


def enqueue(key: str, to_address: str, locale: str, template: str, **context) -> None:
    """Queue a mail in the current transaction (a no-op if `key` was queued before).

    `context` must be JSON: ids, strings, numbers. Templates load what else they need.
    """
    if db.session.scalar(select(OutboxMessage.id).where(OutboxMessage.key == key)) is not None:
        return
    db.session.add(
        OutboxMessage(
            key=key, to_address=to_address, locale=locale, template=template, context=context
        )
    )
    db.session.info["outbox_enqueued"] = True


def _claim(session: Session, message_id: int) -> bool:
    now = utcnow()
    claimed = session.execute(
        update(OutboxMessage)
        .where(
            OutboxMessage.id == message_id,
            OutboxMessage.sent_at.is_(None),
            or_(OutboxMessage.claimed_at.is_(None), OutboxMessage.claimed_at < now - CLAIM_TIMEOUT),
        )
        .values(claimed_at=now, attempts=OutboxMessage.attempts + 1)
    )
    session.commit()
    return claimed.rowcount == 1


def _link_context():
    """Mail links need the site's address; from a job there is no request to take it from."""
    if has_request_context():
        return nullcontext()
    return current_app.test_request_context("/", base_url=current_app.config["BASE_URL"])


def send_pending(limit: int = 100) -> int:
    """Send queued mail that is not sent or being sent; returns how many went out.

    Uses a session of its own, so it never commits (or sees) a request's unfinished work.
    """
    now = utcnow()
    sent = 0
    with Session(db.engine) as session:
        ids = list(
            session.scalars(
                select(OutboxMessage.id)
                .where(
                    OutboxMessage.sent_at.is_(None),
                    OutboxMessage.attempts < MAX_ATTEMPTS,
                    or_(
                        OutboxMessage.claimed_at.is_(None),
                        OutboxMessage.claimed_at < now - CLAIM_TIMEOUT,
                    ),
                )
                .order_by(OutboxMessage.id)
                .limit(limit)
            )
        )
        session.commit()
        for message_id in ids:
            if not _claim(session, message_id):
                continue  # another sender has it
            message = session.get(OutboxMessage, message_id)
            try:
                with _link_context():
                    mail.send_mail(
                        message.to_address, message.locale, message.template, **message.context
                    )
            except Exception as err:  # noqa: BLE001 - kept for a retry; the error is recorded
                log.warning("mail %s not sent: %s", message_id, type(err).__name__)
                message.last_error = f"{type(err).__name__}: {err}"[:500]
                message.claimed_at = None
            else:
                message.sent_at = utcnow()
                sent += 1
            session.commit()
    return sent


@job("send-mail")
def send_mail_job() -> int:
    return send_pending()


def init_app(app) -> None:
    @app.after_request
    def send_after_commit(response):
        # Mail queued by this request goes out now, after the view committed; whatever
        # fails here is left for `flask jobs run`.
        if db.session.info.pop("outbox_committed", False):
            try:
                send_pending(limit=20)
            except Exception:  # noqa: BLE001 - the request already succeeded
                current_app.logger.warning("sending queued mail failed; the jobs will retry")
        return response


@event.listens_for(Session, "after_commit")
def _mark_committed(session) -> None:
    if session.info.pop("outbox_enqueued", False):
        session.info["outbox_committed"] = True


@event.listens_for(Session, "after_rollback")
def _forget_enqueued(session) -> None:
    session.info.pop("outbox_enqueued", None)

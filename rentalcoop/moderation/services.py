"""Reports and the board's decisions. A party of a stay reports a review, an answer or a
message with a reason; the board hides it (it then reads "removed by the cooperative") or
dismisses the report. Each decision keeps who, when and why on the report: the moderation log.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import joinedload

from rentalcoop.accounts.models import Role, User
from rentalcoop.bookings.models import Booking
from rentalcoop.db import utcnow
from rentalcoop.errors import DomainError
from rentalcoop.extensions import db
from rentalcoop.i18n import _l
from rentalcoop.messaging.models import Message
from rentalcoop.messaging.services import is_party
from rentalcoop.moderation.models import ContentReport, ReportState
from rentalcoop.reviews.models import Review, ReviewResponse

MAX_REASON = 2000
KINDS = ("review", "response", "message")


class ModerationError(DomainError):
    status_code = 409


class InvalidReport(ModerationError):
    status_code = 422


def _now(at: datetime | None) -> datetime:
    return at or utcnow()


def load_target(kind: str, target_id: int):
    """The reported thing and the booking it belongs to, or (None, None)."""
    if kind == "review":
        review = db.session.get(Review, target_id)
        return (review, db.session.get(Booking, review.booking_id)) if review else (None, None)
    if kind == "response":
        response = db.session.get(ReviewResponse, target_id)
        if response is None:
            return None, None
        return response, db.session.get(Booking, response.review.booking_id)
    if kind == "message":
        message = db.session.get(Message, target_id)
        return (message, db.session.get(Booking, message.booking_id)) if message else (None, None)
    return None, None


def may_report(user: User, kind: str, target, booking: Booking, at: datetime | None = None) -> bool:
    """Only the parties of the stay, and only what they can read."""
    if not is_party(booking, user):
        return False
    if kind == "review":
        return target.author_id == user.id or target.is_published(_now(at))
    if kind == "response":
        return target.review.is_published(_now(at))
    return True  # a message of their own thread


def report_content(
    reporter: User, kind: str, target, booking: Booking, reason: str, at: datetime | None = None
) -> ContentReport:
    """File a report (a second report of the same thing by the same person is the first)."""
    if kind not in KINDS:
        raise InvalidReport(_l("That cannot be reported."))
    reason = (reason or "").strip()
    if not reason:
        raise InvalidReport(_l("Please tell the cooperative what is wrong."))
    if len(reason) > MAX_REASON:
        raise InvalidReport(_l("Please keep it under %(max)s characters.", max=MAX_REASON))
    column = getattr(ContentReport, f"{kind}_id")
    existing = db.session.scalar(
        select(ContentReport).where(
            column == target.id,
            ContentReport.reporter_id == reporter.id,
            ContentReport.state == ReportState.OPEN,
        )
    )
    if existing is not None:
        return existing
    report = ContentReport(
        booking_id=booking.id,
        reporter_id=reporter.id,
        reason=reason,
        created_at=_now(at),
        **{f"{kind}_id": target.id},
    )
    db.session.add(report)
    db.session.flush()
    return report


def target_of(report: ContentReport):
    """The review, answer or message a report is about."""
    return load_target(report.kind, getattr(report, f"{report.kind}_id"))[0]


def _open_reports_on(report: ContentReport) -> list[ContentReport]:
    column = getattr(ContentReport, f"{report.kind}_id")
    return list(
        db.session.scalars(
            select(ContentReport).where(
                column == getattr(report, f"{report.kind}_id"),
                ContentReport.state == ReportState.OPEN,
            )
        )
    )


def _decide(report: ContentReport, board: User, state: ReportState, note: str, at) -> None:
    if not board.has_role(Role.BOARD):
        raise ModerationError(_l("Only the board decides on reports."))
    if report.state != ReportState.OPEN:
        raise ModerationError(_l("This report has already been decided."))
    report.state = state
    report.decided_at = at
    report.decided_by_id = board.id
    report.decision_note = note


def hide_content(
    report: ContentReport, board: User, reason: str, at: datetime | None = None
) -> None:
    """Hide the reported thing; every open report of it is closed with the same reason."""
    now = _now(at)
    reason = (reason or "").strip()
    if not reason:
        raise InvalidReport(_l("Say why the content is hidden; the reason is kept in the log."))
    if report.state != ReportState.OPEN:
        raise ModerationError(_l("This report has already been decided."))
    target = target_of(report)
    for each in _open_reports_on(report):
        _decide(each, board, ReportState.HIDDEN, reason, now)
    if target.hidden_at is None:
        target.hidden_at = now
    db.session.flush()


def dismiss_report(
    report: ContentReport, board: User, note: str = "", at: datetime | None = None
) -> None:
    """Keep the content; the report is closed with the board's note."""
    _decide(report, board, ReportState.DISMISSED, (note or "").strip(), _now(at))
    db.session.flush()


def reports(state: ReportState | None = ReportState.OPEN, limit: int = 200) -> list[ContentReport]:
    """Open reports (`state`), or with None the decided ones: the moderation log, newest first."""
    query = (
        select(ContentReport)
        .options(joinedload(ContentReport.reporter), joinedload(ContentReport.decided_by))
        .order_by(ContentReport.created_at.desc(), ContentReport.id.desc())
        .limit(limit)
    )
    if state is not None:
        query = query.where(ContentReport.state == state)
    else:
        query = query.where(ContentReport.state != ReportState.OPEN)
    return list(db.session.scalars(query))


def erase_user(user: User) -> None:
    """Account deletion: the reasons the person wrote go; the decisions stay in the log."""
    from sqlalchemy import update

    db.session.execute(
        update(ContentReport).where(ContentReport.reporter_id == user.id).values(reason="")
    )

"""The cooperative in the demo town (`flask demo-data`): two community projects that guests
chose when booking, last year's annual meeting with signed minutes, operating costs, and last
year closed with its patronage statements.

Everything goes through the services (notice, proxy, votes, the close), dated in the past; the
mail they queue about the past is marked as not to be sent.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta

from sqlalchemy import select, update

from rentalcoop.accounts.models import User
from rentalcoop.db import utcnow
from rentalcoop.extensions import db
from rentalcoop.governance import close, costs, services
from rentalcoop.governance.models import (
    CommunityProject,
    MeetingKind,
    MotionKind,
    ProjectState,
)
from rentalcoop.listings.pricing import coop_date
from rentalcoop.outbox import OutboxMessage

PROJECTS = [
    ("Lekplatsen i Hamnen", "Nya gungor och en sandlåda vid hamnens lekplats."),
    ("Ekby bygdegård", "Ett nytt kök i bygdegården, där föreningar och grannar möts."),
]


def load_demo_projects(board: User) -> list[int]:
    """Two approved projects (approved when the cooperative was founded), before the demo
    bookings are made so that guests can have chosen them."""
    ids = []
    for title, description in PROJECTS:
        project = CommunityProject(
            title=title,
            description=description,
            state=ProjectState.APPROVED,
            proposed_by_id=board.id,
            approved_by_id=board.id,
            approved_at=datetime(2024, 3, 1, 12, tzinfo=UTC),
        )
        db.session.add(project)
        db.session.flush()
        ids.append(project.id)
    db.session.commit()
    return ids


def demo_project_for(listing_id: int, check_in: date) -> int | None:
    """The project a demo guest chose: a third each for the two projects and the general fund."""
    ids = list(
        db.session.scalars(
            select(CommunityProject.id)
            .where(CommunityProject.state == ProjectState.APPROVED)
            .order_by(CommunityProject.id)
        )
    )
    choice = (listing_id + check_in.toordinal()) % (len(ids) + 1)
    return ids[choice - 1] if choice else None


def _at(day: date, hour: int, minute: int = 0) -> datetime:
    return services.meeting_start(day, time(hour, minute))


def load_demo_governance(board: User) -> None:
    """Last year's costs, annual meeting (minutes signed) and close; this year's costs so far."""
    today = coop_date()
    year = today.year - 1
    if close.year_close(year) is not None:
        return
    hosts = list(
        db.session.scalars(
            select(User).where(User.email.like("host%@example.org")).order_by(User.id)
        )
    )
    for month, category, amount, note in [
        (12, "it", 150_000, "Servrar och e-post"),
        (12, "accounting", 250_000, "Bokföring"),
    ]:
        costs.enter_cost(date(year, month, 10), category, amount, note, board)
    for month in range(1, today.month):
        costs.enter_cost(date(today.year, month, 10), "it", 150_000, "Servrar och e-post", board)
    db.session.commit()

    held_on = max(min(date(year + 1, 5, 20), today - timedelta(days=14)), date(year + 1, 1, 2))
    meeting, _warnings = services.create_meeting(
        kind=MeetingKind.ORDINARY,
        format="hybrid",
        title=f"Årsstämma {year + 1}",
        starts_at=_at(held_on, 18),
        venue="Ekby bygdegård, Storgatan 1",
        join_info="Länk till det digitala mötet skickas till medlemmarna dagen före.",
        motion_deadline=held_on - timedelta(weeks=3),
        fiscal_year=year,
        by=board,
        today=held_on - timedelta(weeks=7),  # the demo town's past: the board planned ahead
    )
    # The founding meeting elected the auditor; the board hands over the accounts, then convenes.
    if not services.current_auditors(held_on - timedelta(weeks=6)):
        services.register_auditor(hosts[-1], date(year, 1, 1), board)
    services.deliver_accounts_to_auditor(meeting, board, on=held_on - timedelta(weeks=6))
    services.send_notice(meeting, board, on=held_on - timedelta(weeks=5))
    services.set_officers(meeting, chair=board, secretary=hosts[0], adjusters=[hosts[1]])
    figures = close.compute(year, 0)
    reserve = max(0, figures.surplus_ore // 10)
    close.save_draft(year, reserve)
    for motion in meeting.motions:
        if motion.kind == MotionKind.DISPOSITION:
            motion.reserve_ore = reserve
            motion.body = "Styrelsen föreslår att tio procent av överskottet sparas och resten återbärs efter bokade nätter."
        if motion.kind == MotionKind.ELECTION and motion.office == "auditor":
            for candidate in (hosts[-1], hosts[-2], hosts[-3]):
                services.add_candidate(motion, candidate)
        elif motion.kind == MotionKind.ELECTION:
            motion.seats = 2
            services.add_candidate(motion, board)
            services.add_candidate(motion, hosts[2])
            services.add_candidate(motion, hosts[3])
    services.grant_proxy(
        meeting, hosts[4], hosts[5], held_on - timedelta(days=6), registered_by=board
    )
    voters = [board, *(h for h in hosts[:12] if h.id != hosts[4].id)]  # hosts[4] by proxy
    start = _at(held_on, 18, 10)
    for n, motion in enumerate(meeting.motions):
        services.open_vote(motion, board, at=start + timedelta(minutes=5 * n))
        for k, voter in enumerate(voters):
            if motion.subject_member_id == voter.id:
                continue  # jäv
            if motion.is_election:
                choice = f"candidate:{motion.candidates[k % 3 if k % 4 else 0].id}"
            else:
                choice = "no" if k == 7 else ("abstain" if k == 9 else "yes")
            services.cast_vote(motion, voter, choice, at=start)
            if voter.id == hosts[5].id and motion.subject_member_id != hosts[4].id:
                services.cast_vote(motion, voter, choice, on_behalf_of=hosts[4], at=start)
        services.close_vote(motion, board, at=start + timedelta(minutes=5 * n + 3))
    services.close_meeting(meeting, at=_at(held_on, 20))
    for officer in (board, hosts[0], hosts[1]):
        services.sign_minutes(meeting, officer, at=_at(held_on + timedelta(days=5), 12))
    db.session.commit()
    # Nobody should get mail about the demo town's past.
    db.session.execute(
        update(OutboxMessage)
        .where(OutboxMessage.sent_at.is_(None), OutboxMessage.template == "meeting_notice")
        .values(sent_at=utcnow(), last_error="demo data: not sent")
    )
    db.session.commit()


def load_demo_meeting_today(board: User) -> None:
    """An extra meeting in progress on the day the demo is loaded (issue 16, build 4): convened
    three weeks ago, started an hour ago, with an open vote, a secret ballot and registered
    proxies, so voting, proxies and minutes can be tried at once. The first host-members have
    not voted, so they can; others have."""
    now = utcnow()
    today = coop_date(now)
    local = now.astimezone(services.COOP_TZ)
    start = max(
        local.replace(minute=0, second=0, microsecond=0) - timedelta(hours=1),
        local.replace(hour=0, minute=0, second=0, microsecond=0),
    )
    hosts = list(
        db.session.scalars(
            select(User).where(User.email.like("host%@example.org")).order_by(User.id)
        )
    )
    meeting, _warnings = services.create_meeting(
        kind=MeetingKind.EXTRA,
        format="hybrid",
        title="Extra föreningsstämma: badbrygga och samordnare",
        starts_at=start.astimezone(UTC),
        venue="Ekby bygdegård, Storgatan 1",
        join_info="Länk till det digitala mötet finns i kallelsen.",
        motion_deadline=today - timedelta(weeks=1),
        by=board,
        today=today - timedelta(weeks=3),  # the board convened it three weeks ago
    )
    services.set_officers(meeting, chair=board, secretary=hosts[10], adjusters=[hosts[11]])
    open_motion = services.add_motion(
        meeting,
        kind=MotionKind.OTHER,
        title="Föreningen bygger en badbrygga vid hamnen tillsammans med kommunen",
        body="Styrelsen föreslår att föreningen bidrar med arbete och 20 000 kr.",
        proposer=board,
        by_board=True,
        today=today - timedelta(weeks=3),
    )
    secret_motion = services.add_motion(
        meeting,
        kind=MotionKind.OTHER,
        title="Föreningen anställer en samordnare på deltid",
        body="Sluten omröstning, som stämman begärt.",
        ballot="secret",
        proposer=board,
        by_board=True,
        today=today - timedelta(weeks=3),
    )
    # The notice lists every matter to be decided, so it goes out once both are on the agenda.
    services.send_notice(meeting, board, on=today - timedelta(weeks=3))
    services.grant_proxy(
        meeting, hosts[12], hosts[13], today - timedelta(days=3), registered_by=board
    )
    services.grant_proxy(
        meeting, hosts[14], hosts[15], today - timedelta(days=2), registered_by=board
    )
    opened = now - timedelta(minutes=20)
    for motion in (open_motion, secret_motion):
        services.open_vote(motion, board, at=opened)
    voters = hosts[5:12]  # host1…host5 and the board have not voted yet
    for k, voter in enumerate(voters):
        services.cast_vote(open_motion, voter, "no" if k == 3 else "yes", at=opened)
        services.cast_vote(secret_motion, voter, "abstain" if k == 2 else "yes", at=opened)
    services.cast_vote(open_motion, hosts[13], "yes", on_behalf_of=hosts[12], at=opened)
    db.session.commit()
    # The demo's members are not real: their notices are not mailed.
    db.session.execute(
        update(OutboxMessage)
        .where(OutboxMessage.sent_at.is_(None), OutboxMessage.template == "meeting_notice")
        .values(sent_at=utcnow(), last_error="demo data: not sent")
    )
    db.session.commit()

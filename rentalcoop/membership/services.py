"""Joining and leaving the cooperative (DESIGN §1; lag 2018:672 on ekonomiska föreningar)."""

from __future__ import annotations

from datetime import date

from sqlalchemy import func, select
from sqlalchemy.orm import contains_eager, selectinload

from rentalcoop.accounts import services as accounts
from rentalcoop.accounts.models import (
    ApplicationState,
    Membership,
    MembershipApplication,
    MembershipPeriod,
    User,
)
from rentalcoop.db import utcnow
from rentalcoop.errors import DomainError
from rentalcoop.extensions import db
from rentalcoop.i18n import LazyDay, _l
from rentalcoop.listings.pricing import coop_date


class MembershipError(DomainError):
    status_code = 409


def pending_application(user: User) -> MembershipApplication | None:
    return db.session.scalar(
        select(MembershipApplication).where(
            MembershipApplication.user_id == user.id,
            MembershipApplication.state == ApplicationState.PENDING,
        )
    )


def apply_for_membership(user: User, motivation: str) -> MembershipApplication:
    """Ask the board to admit `user` as a host-member."""
    if user.is_municipality:
        raise MembershipError(_l("Municipality accounts cannot become members."))
    if user.is_member:
        raise MembershipError(_l("You are already a member."))
    if pending_application(user) is not None:
        raise MembershipError(_l("Your application is already waiting for the board."))
    application = MembershipApplication(user=user, motivation=motivation.strip())
    db.session.add(application)
    db.session.flush()
    return application


def _next_member_number() -> int:
    return (db.session.scalar(select(func.max(Membership.member_number))) or 0) + 1


def admit(user: User, board_member: User | None, joined_on: date | None = None) -> Membership:
    """Make `user` a host-member with the next member number (or re-admit a former member).

    A returning member keeps their number and starts a new period; the earlier period is kept,
    so its nights still count for that year's patronage and the register shows it (5 kap.).
    Dates are days in Sweden (the cooperative's time zone), not UTC days."""
    joined_on = joined_on or coop_date()
    approver = board_member.id if board_member else None
    membership = user.membership
    if membership is not None:
        if membership.is_current:
            raise MembershipError(_l("That person is already a member."))
        if joined_on < membership.left_on:
            raise MembershipError(
                _l("A new membership period cannot start before the last one ended (%(day)s)."),
                day=LazyDay(membership.left_on),
            )
        membership.earlier_periods.append(
            MembershipPeriod(
                joined_on=membership.joined_on,
                left_on=membership.left_on,
                approved_by_id=membership.approved_by_id,
            )
        )
        membership.joined_on, membership.left_on = joined_on, None
        membership.approved_by_id = approver
        db.session.flush()
        return membership
    membership = Membership(
        user=user,
        member_number=_next_member_number(),
        joined_on=joined_on,
        approved_by_id=approver,
    )
    db.session.add(membership)
    db.session.flush()
    return membership


def decide_application(
    application: MembershipApplication, board_member: User, approve: bool
) -> None:
    """The board admits or turns down an application; a decided one cannot be decided again."""
    if application.state != ApplicationState.PENDING:
        raise MembershipError(_l("This application has already been decided."))
    application.state = ApplicationState.APPROVED if approve else ApplicationState.REJECTED
    application.decided_at = utcnow()
    application.decided_by_id = board_member.id
    if approve:
        admit(application.user, board_member)


def leave(membership: Membership, on: date | None = None, *, by: User | None = None) -> None:
    """End a membership (the member keeps the account as a guest). A board member does not end
    their own from the register: another board member records it, so nobody drops out of the
    board's own count by a slip."""
    if not membership.is_current:
        raise MembershipError(_l("That membership has already ended."))
    if by is not None and by.id == membership.user_id:
        raise MembershipError(
            _l("You cannot end your own membership here. Another board member records it.")
        )
    on = on or coop_date()
    if on < membership.joined_on:
        raise MembershipError(_l("A membership cannot end before it began."))
    membership.left_on = on


def create_municipality_account(name: str, email: str, password: str, locale: str = "sv") -> User:
    """An account for the town that can read statistics releases and nothing else."""
    user = accounts.register_user(name, email, password, locale)
    user.is_municipality = True
    return user


def members() -> list[Membership]:
    return list(
        db.session.scalars(
            select(Membership)
            .join(Membership.user)
            .options(contains_eager(Membership.user), selectinload(Membership.earlier_periods))
            .order_by(Membership.member_number)
        )
    )


def applications(
    state: ApplicationState | None = ApplicationState.PENDING,
) -> list[MembershipApplication]:
    query = (
        select(MembershipApplication)
        .options(selectinload(MembershipApplication.user))
        .order_by(MembershipApplication.created_at)
    )
    if state is not None:
        query = query.where(MembershipApplication.state == state)
    return list(db.session.scalars(query))

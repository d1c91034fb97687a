"""The community fund (DESIGN §12): projects members propose and the meeting (or the board, when
the statutes delegate it) approves; guests choose one when booking; the fund's money per project
and month is public, read from the ledger (COMMUNITY_FUND credits, party = project id, None =
the general fund) — amounts only, never a booking, a name or a date finer than a month."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import extract, func, select

from rentalcoop.accounts.models import User
from rentalcoop.db import utcnow
from rentalcoop.extensions import db
from rentalcoop.governance.models import CommunityProject, Motion, ProjectState
from rentalcoop.governance.services import (
    BOARD_APPROVES_PROJECTS,
    GovernanceError,
    NotAllowed,
    setting_enabled,
)
from rentalcoop.i18n import _l
from rentalcoop.ledger.models import Account, LedgerEntry, LedgerTransaction


def propose_project(member: User, title: str, description: str = "") -> CommunityProject:
    """A member proposes a local project for the fund."""
    if not member.is_member:
        raise NotAllowed(_l("Only members propose projects."))
    if not title.strip():
        raise GovernanceError(_l("A project needs a name."))
    project = CommunityProject(
        title=title.strip(), description=description.strip(), proposed_by_id=member.id
    )
    db.session.add(project)
    db.session.flush()
    return project


def approve_project(
    project_id: int, by: User, *, motion: Motion | None = None, approve: bool = True
) -> CommunityProject:
    """Approve (or turn down) a proposed project: by a passed meeting motion, or by the board
    when the statutes setting `board_approves_projects` delegates it."""
    project = db.session.get(CommunityProject, project_id)
    if project is None:
        raise GovernanceError(_l("There is no such project."))
    if motion is None and not (by.is_board and setting_enabled(BOARD_APPROVES_PROJECTS)):
        raise NotAllowed(_l("Projects are approved by the meeting, unless the statutes say so."))
    if project.state != ProjectState.PROPOSED:
        raise GovernanceError(_l("This project has already been decided."))
    project.state = ProjectState.APPROVED if approve else ProjectState.REJECTED
    project.approved_at = utcnow()
    project.approved_by_id = by.id
    db.session.flush()
    return project


def approved_projects() -> list[CommunityProject]:
    """What a guest may choose when booking."""
    return list(
        db.session.scalars(
            select(CommunityProject)
            .where(CommunityProject.state == ProjectState.APPROVED)
            .order_by(CommunityProject.title)
        )
    )


def is_offered(project_id: int) -> bool:
    """Whether guests may give their community share to this project (approved, not closed)."""
    project = db.session.get(CommunityProject, project_id)
    return project is not None and project.state == ProjectState.APPROVED


def projects(states: tuple[str, ...] | None = None) -> list[CommunityProject]:
    query = select(CommunityProject).order_by(CommunityProject.id)
    if states:
        query = query.where(CommunityProject.state.in_(states))
    return list(db.session.scalars(query))


@dataclass(frozen=True)
class FundMonth:
    year: int
    month: int
    amounts: dict[int | None, int]  # party (project id, None = general fund) → öre

    @property
    def total_ore(self) -> int:
        return sum(self.amounts.values())


@dataclass(frozen=True)
class FundLedger:
    months: list[FundMonth]
    totals: dict[int | None, int]
    names: dict[int | None, str]

    @property
    def total_ore(self) -> int:
        return sum(self.totals.values())


def fund_ledger() -> FundLedger:
    """Money the fund received per project and month (net of the rare refund), one query."""
    year = extract("year", LedgerTransaction.booked_on)
    month = extract("month", LedgerTransaction.booked_on)
    rows = db.session.execute(
        select(year, month, LedgerEntry.party_id, -func.sum(LedgerEntry.amount_ore))
        .join(LedgerEntry.transaction)
        .where(LedgerEntry.account == Account.COMMUNITY_FUND)
        .group_by(year, month, LedgerEntry.party_id)
        .order_by(year.desc(), month.desc())
    ).all()
    months: dict[tuple[int, int], dict[int | None, int]] = {}
    totals: dict[int | None, int] = {}
    for y, m, party, amount in rows:
        amounts = months.setdefault((int(y), int(m)), {})
        amounts[party] = amounts.get(party, 0) + int(amount)
        totals[party] = totals.get(party, 0) + int(amount)
    names: dict[int | None, str] = {None: str(_l("General fund"))}
    for project in projects():
        names[project.id] = project.title
        if project.state == ProjectState.APPROVED:
            totals.setdefault(project.id, 0)  # an approved project shows even before money
    return FundLedger(
        [FundMonth(y, m, amounts) for (y, m), amounts in months.items()], totals, names
    )

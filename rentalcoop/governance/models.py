"""The cooperative's own business: meetings, motions, votes, minutes, the community fund's
projects, operating costs and the fiscal-year close (DESIGN §10–§12, lag 2018:672).

Secret ballots are two tables that share nothing but the motion: `ballot_receipts` says *who*
voted (one row per member and motion), `secret_votes` says *what* was chosen, with a random key,
no member and no timestamp, so not even the database can join a member to a choice.
"""

from __future__ import annotations

import enum
from datetime import date, datetime

from sqlalchemy import (
    CheckConstraint,
    Date,
    ForeignKey,
    Index,
    String,
    Text,
    UniqueConstraint,
    text,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from rentalcoop.accounts.models import User
from rentalcoop.db import UTCDateTime, utcnow
from rentalcoop.extensions import db
from rentalcoop.i18n import _l


class MeetingKind(enum.StrEnum):
    ORDINARY = "ordinary"  # the annual meeting (ordinarie föreningsstämma)
    EXTRA = "extra"


MEETING_KIND_LABELS = {
    MeetingKind.ORDINARY: _l("Annual meeting"),
    MeetingKind.EXTRA: _l("Extra meeting"),
}


class MeetingFormat(enum.StrEnum):
    PHYSICAL = "physical"
    HYBRID = "hybrid"
    DIGITAL = "digital"


MEETING_FORMAT_LABELS = {
    MeetingFormat.PHYSICAL: _l("In person"),
    MeetingFormat.HYBRID: _l("In person and online"),
    MeetingFormat.DIGITAL: _l("Online"),
}


class MeetingState(enum.StrEnum):
    DRAFT = "draft"  # being prepared by the board
    CONVENED = "convened"  # notice sent
    CLOSED = "closed"  # held; minutes being signed
    PUBLISHED = "published"  # minutes signed and published to members
    CANCELLED = "cancelled"  # called off by the board before it was held


MEETING_STATE_LABELS = {
    MeetingState.DRAFT: _l("Draft"),
    MeetingState.CONVENED: _l("Convened"),
    MeetingState.CLOSED: _l("Held, minutes being signed"),
    MeetingState.PUBLISHED: _l("Minutes published"),
    MeetingState.CANCELLED: _l("Cancelled"),
}


class MotionKind(enum.StrEnum):
    FEE = "fee"
    COMMUNITY_SHARE = "community_share"
    STATUTES = "statutes"
    ACCOUNTS = "accounts"
    DISPOSITION = "disposition"
    DISCHARGE = "discharge"
    ELECTION = "election"
    PROJECT = "project"  # approve a community-fund project (DESIGN §12)
    OTHER = "other"


MOTION_KIND_LABELS = {
    MotionKind.FEE: _l("Service fee level"),
    MotionKind.COMMUNITY_SHARE: _l("Community share of the fee"),
    MotionKind.STATUTES: _l("Statutes"),
    MotionKind.ACCOUNTS: _l("Adoption of the accounts"),
    MotionKind.DISPOSITION: _l("Disposition of the result"),
    MotionKind.DISCHARGE: _l("Discharge from liability"),
    MotionKind.ELECTION: _l("Election"),
    MotionKind.PROJECT: _l("Community-fund project"),
    MotionKind.OTHER: _l("Other"),
}


class Majority(enum.StrEnum):
    SIMPLE = "simple"  # more than half of the votes cast, tie → the chair (6:33)
    TWO_THIRDS = "two_thirds"  # statutes (6:35)
    THREE_QUARTERS = "three_quarters"  # statutes raising members' duties (6:36)


MAJORITY_LABELS = {
    Majority.SIMPLE: _l("Simple majority"),
    Majority.TWO_THIRDS: _l("Two thirds of the votes cast"),
    Majority.THREE_QUARTERS: _l("Three quarters of the votes cast"),
}


class BallotKind(enum.StrEnum):
    OPEN = "open"
    SECRET = "secret"  # noqa: S105 - a ballot kind, not a password


class MotionState(enum.StrEnum):
    SUBMITTED = "submitted"  # a member's motion, not yet on the agenda
    ON_AGENDA = "on_agenda"
    OPEN = "open"  # voting open
    DECIDED = "decided"
    REJECTED_BY_BOARD = "not_on_agenda"  # the board did not put it on the agenda


MOTION_STATE_LABELS = {
    MotionState.SUBMITTED: _l("Submitted"),
    MotionState.ON_AGENDA: _l("On the agenda"),
    MotionState.OPEN: _l("Voting open"),
    MotionState.DECIDED: _l("Decided"),
    MotionState.REJECTED_BY_BOARD: _l("Not on the agenda"),
}


class Choice(enum.StrEnum):
    YES = "yes"
    NO = "no"
    ABSTAIN = "abstain"


CHOICE_LABELS = {Choice.YES: _l("Yes"), Choice.NO: _l("No"), Choice.ABSTAIN: _l("Abstain")}


class Channel(enum.StrEnum):
    IN_PERSON = "in_person"
    PROXY = "proxy"
    POSTAL = "postal"


CHANNEL_LABELS = {
    Channel.IN_PERSON: _l("In person"),
    Channel.PROXY: _l("By proxy"),
    Channel.POSTAL: _l("Postal vote"),
}


class OfficerRole(enum.StrEnum):
    CHAIR = "chair"
    SECRETARY = "secretary"
    ADJUSTER = "adjuster"  # justerare


OFFICER_ROLE_LABELS = {
    OfficerRole.CHAIR: _l("Chair"),
    OfficerRole.SECRETARY: _l("Secretary"),
    OfficerRole.ADJUSTER: _l("Adjuster"),
}


# The rules of the statutes the app enforces, by key (`CoopSetting.key`).
POSTAL_VOTING = "postal_voting"
BOARD_APPROVES_PROJECTS = "board_approves_projects"
MAX_ACTIVE_LISTINGS = "max_active_listings_per_host"
# 6 kap. EFL: a meeting held only online needs a clause in the statutes permitting it.
DIGITAL_MEETINGS = "digital_meetings"
# A statutes clause letting one meeting decide a statutes change by two thirds (instead of two
# meetings in a row, the law's default for ekonomiska föreningar).
STATUTES_ONE_MEETING = "statutes_change_one_meeting"

SETTING_LABELS = {
    POSTAL_VOTING: _l("Postal voting (yes or no)"),
    DIGITAL_MEETINGS: _l("Meetings held only online (yes or no)"),
    STATUTES_ONE_MEETING: _l("One meeting may change the statutes by two thirds (yes or no)"),
    BOARD_APPROVES_PROJECTS: _l("The board approves community projects (yes or no)"),
    MAX_ACTIVE_LISTINGS: _l("Published listings per host (a number)"),
}


class CoopSetting(db.Model):
    """A rule of the statutes the app enforces (postal voting, who approves fund projects).

    Kept in the database, not in config: the meeting decides them (a passed statutes motion
    writes the new value and is linked here), and STYLE says values the cooperative decides
    live in the database."""

    __tablename__ = "coop_settings"

    key: Mapped[str] = mapped_column(String(60), primary_key=True)
    value: Mapped[str] = mapped_column(String(200))
    decided_by_motion_id: Mapped[int | None] = mapped_column(ForeignKey("motions.id"))
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class Meeting(db.Model):
    """A föreningsstämma: ordinary (annual) or extra, in person, hybrid or online."""

    __tablename__ = "meetings"
    __table_args__ = (
        CheckConstraint("kind IN ('ordinary', 'extra')", name="kind_known"),
        CheckConstraint("format IN ('physical', 'hybrid', 'digital')", name="format_known"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    kind: Mapped[str] = mapped_column(String(16))
    format: Mapped[str] = mapped_column(String(16))
    title: Mapped[str] = mapped_column(String(200))
    held_on: Mapped[date] = mapped_column(Date, index=True)
    starts_at: Mapped[datetime] = mapped_column(UTCDateTime)
    venue: Mapped[str] = mapped_column(Text, default="")
    join_info: Mapped[str] = mapped_column(Text, default="")  # how to join and vote online
    # The year whose accounts and result an annual meeting handles.
    fiscal_year: Mapped[int | None]
    changes_statutes: Mapped[bool] = mapped_column(default=False)
    motion_deadline: Mapped[date | None] = mapped_column(Date)
    state: Mapped[str] = mapped_column(String(16), default=MeetingState.DRAFT)
    notice_sent_on: Mapped[date | None] = mapped_column(Date)
    closed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    published_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # The röstlängd is taken when the meeting opens (6:39), then adjusted by the meeting.
    register_taken_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    cancelled_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # Annual meeting: the day the board delivered the year's accounts to the auditor, and to whom.
    accounts_to_auditor_on: Mapped[date | None] = mapped_column(Date)
    accounts_auditor_user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    # The written request this extra meeting answers (members or the auditor, see services).
    requested_by_id: Mapped[int | None] = mapped_column(ForeignKey("meeting_requests.id"))
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    motions: Mapped[list[Motion]] = relationship(
        back_populates="meeting", order_by="(Motion.position, Motion.id)"
    )
    officers: Mapped[list[MeetingOfficer]] = relationship(
        back_populates="meeting", order_by="MeetingOfficer.id"
    )

    @property
    def kind_label(self) -> str:
        return str(MEETING_KIND_LABELS[MeetingKind(self.kind)])

    @property
    def format_label(self) -> str:
        return str(MEETING_FORMAT_LABELS[MeetingFormat(self.format)])

    @property
    def state_label(self) -> str:
        return str(MEETING_STATE_LABELS[MeetingState(self.state)])

    def officer_ids(self, role: OfficerRole) -> list[int]:
        return [o.user_id for o in self.officers if o.role == role]


class MeetingOfficer(db.Model):
    """The meeting's chair, secretary and adjusters (justerare); each signs the minutes."""

    __tablename__ = "meeting_officers"
    __table_args__ = (UniqueConstraint("meeting_id", "user_id", "role"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    meeting_id: Mapped[int] = mapped_column(ForeignKey("meetings.id"), index=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    role: Mapped[str] = mapped_column(String(16))
    signed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    meeting: Mapped[Meeting] = relationship(back_populates="officers")
    user: Mapped[User] = relationship()

    @property
    def role_label(self) -> str:
        return str(OFFICER_ROLE_LABELS[OfficerRole(self.role)])


class Attendance(db.Model):
    """The voting register (röstlängd): who took part, and how."""

    __tablename__ = "meeting_attendance"
    __table_args__ = (UniqueConstraint("meeting_id", "member_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    meeting_id: Mapped[int] = mapped_column(ForeignKey("meetings.id"))
    member_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    channel: Mapped[str] = mapped_column(String(16))
    represented_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))

    member: Mapped[User] = relationship(foreign_keys=[member_id])
    represented_by: Mapped[User | None] = relationship(foreign_keys=[represented_by_id])


class Auditor(db.Model):
    """The cooperative's auditor (revisor, 8 kap. EFL), elected by a meeting for a period: from
    the election until the next auditor's election (`ended_on`)."""

    __tablename__ = "auditors"

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"), index=True)
    elected_on: Mapped[date] = mapped_column(Date)
    ended_on: Mapped[date | None] = mapped_column(Date)
    elected_by_motion_id: Mapped[int | None] = mapped_column(ForeignKey("motions.id"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    user: Mapped[User] = relationship()


class MeetingRequest(db.Model):
    """A written request for an extra meeting: by the auditor, or by members (one tenth of them
    sign it). Once it has enough signatures the board must convene within two weeks."""

    __tablename__ = "meeting_requests"

    id: Mapped[int] = mapped_column(primary_key=True)
    matter: Mapped[str] = mapped_column(Text)
    requested_by_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    by_auditor: Mapped[bool] = mapped_column(default=False)
    # When the request became valid (the auditor's at once; the members' at the tenth).
    received_on: Mapped[date | None] = mapped_column(Date)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    signatures: Mapped[list[MeetingRequestSignature]] = relationship(
        order_by="MeetingRequestSignature.id", cascade="all, delete-orphan"
    )


class MeetingRequestSignature(db.Model):
    __tablename__ = "meeting_request_signatures"
    __table_args__ = (UniqueConstraint("request_id", "member_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    request_id: Mapped[int] = mapped_column(ForeignKey("meeting_requests.id"), index=True)
    member_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    signed_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class Motion(db.Model):
    """An item the meeting decides, with its kind, majority rule, ballot and result."""

    __tablename__ = "motions"
    __table_args__ = (
        CheckConstraint(
            "majority IN ('simple', 'two_thirds', 'three_quarters')", name="majority_known"
        ),
        CheckConstraint("ballot IN ('open', 'secret')", name="ballot_known"),
        CheckConstraint("seats >= 1", name="seats_positive"),
        CheckConstraint("reserve_ore IS NULL OR reserve_ore >= 0", name="reserve_not_negative"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    meeting_id: Mapped[int] = mapped_column(ForeignKey("meetings.id"), index=True)
    position: Mapped[int] = mapped_column(default=0)
    kind: Mapped[str] = mapped_column(String(24))
    title: Mapped[str] = mapped_column(String(300))
    body: Mapped[str] = mapped_column(Text, default="")
    majority: Mapped[str] = mapped_column(String(16), default=Majority.SIMPLE)
    ballot: Mapped[str] = mapped_column(String(8), default=BallotKind.OPEN)
    state: Mapped[str] = mapped_column(String(16), default=MotionState.ON_AGENDA)
    proposer_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    # Jäv: the member whose discharge this is may not vote on it.
    subject_member_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    # Accounts and disposition: the year; disposition: the reserve the meeting keeps.
    fiscal_year: Mapped[int | None]
    reserve_ore: Mapped[int | None]
    # Fee and community-share motions: the new rates and when they apply.
    fee_bps: Mapped[int | None]
    community_bps: Mapped[int | None]
    effective_from: Mapped[date | None] = mapped_column(Date)
    fee_version_id: Mapped[int | None] = mapped_column(
        ForeignKey("fee_schedule_versions.id"), unique=True
    )
    # Statutes motions may change one setting the app enforces.
    setting_key: Mapped[str | None] = mapped_column(String(60))
    setting_value: Mapped[str | None] = mapped_column(String(200))
    project_id: Mapped[int | None] = mapped_column(ForeignKey("community_projects.id"))
    seats: Mapped[int] = mapped_column(default=1)
    # Elections: the office filled ("board" or "auditor").
    office: Mapped[str | None] = mapped_column(String(16))
    # Statutes: a decision confirming the same change decided by the previous meeting, the day
    # the change became a valid decision, and the day Bolagsverket registered it (in force).
    confirms_motion_id: Mapped[int | None] = mapped_column(ForeignKey("motions.id"))
    raises_member_duties: Mapped[bool] = mapped_column(default=False, server_default=text("false"))
    valid_on: Mapped[date | None] = mapped_column(Date)
    registered_on: Mapped[date | None] = mapped_column(Date)
    # Added after the notice went out: the meeting may discuss it but not decide it (the notice
    # must name every matter the meeting decides).
    is_discussion_only: Mapped[bool] = mapped_column(default=False, server_default=text("false"))

    opened_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    closed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    yes_count: Mapped[int | None]
    no_count: Mapped[int | None]
    abstain_count: Mapped[int | None]
    passed: Mapped[bool | None]
    # 6:33: on a tie the chair's view decides; recorded as given.
    chair_casting_vote: Mapped[str | None] = mapped_column(String(8))
    # Elections: ties broken by lot with this seed (random.Random(seed)), so anyone can redo it.
    lot_seed: Mapped[str | None] = mapped_column(String(32))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    meeting: Mapped[Meeting] = relationship(back_populates="motions")
    proposer: Mapped[User | None] = relationship(foreign_keys=[proposer_id])
    subject_member: Mapped[User | None] = relationship(foreign_keys=[subject_member_id])
    candidates: Mapped[list[Candidate]] = relationship(
        back_populates="motion", order_by="Candidate.id"
    )

    @property
    def kind_label(self) -> str:
        return str(MOTION_KIND_LABELS[MotionKind(self.kind)])

    @property
    def majority_label(self) -> str:
        return str(MAJORITY_LABELS[Majority(self.majority)])

    @property
    def state_label(self) -> str:
        return str(MOTION_STATE_LABELS[MotionState(self.state)])

    @property
    def setting_label(self) -> str:
        """The statutes rule this motion changes, in the reader's language."""
        label = SETTING_LABELS.get(self.setting_key or "")
        return str(label) if label is not None else (self.setting_key or "")

    @property
    def setting_value_label(self) -> str:
        label = CHOICE_LABELS.get(self.setting_value or "")  # "yes" / "no"
        return str(label) if label is not None else (self.setting_value or "")

    @property
    def is_election(self) -> bool:
        return self.kind == MotionKind.ELECTION

    @property
    def is_secret(self) -> bool:
        return self.ballot == BallotKind.SECRET


class Candidate(db.Model):
    """A person standing in an election motion, with the votes counted at the close."""

    __tablename__ = "election_candidates"
    __table_args__ = (UniqueConstraint("motion_id", "user_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    motion_id: Mapped[int] = mapped_column(ForeignKey("motions.id"))
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    votes: Mapped[int | None]
    is_elected: Mapped[bool | None]

    motion: Mapped[Motion] = relationship(back_populates="candidates")
    user: Mapped[User] = relationship()


class Proxy(db.Model):
    """A written, dated fullmakt: `holder` votes for `principal` at one meeting (6:4).

    One live proxy per principal and one principal per holder (the partial unique indexes);
    revoking keeps the row."""

    __tablename__ = "proxies"
    __table_args__ = (
        Index(
            "uq_proxies_live_principal",
            "meeting_id",
            "principal_id",
            unique=True,
            sqlite_where=text("revoked_at IS NULL"),
            postgresql_where=text("revoked_at IS NULL"),
        ),
        Index(
            "uq_proxies_live_holder",
            "meeting_id",
            "holder_id",
            unique=True,
            sqlite_where=text("revoked_at IS NULL"),
            postgresql_where=text("revoked_at IS NULL"),
        ),
        CheckConstraint("principal_id <> holder_id", name="not_self"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    meeting_id: Mapped[int] = mapped_column(ForeignKey("meetings.id"))
    principal_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    holder_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    signed_on: Mapped[date] = mapped_column(Date)
    note: Mapped[str] = mapped_column(Text, default="")
    registered_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    revoked_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    principal: Mapped[User] = relationship(foreign_keys=[principal_id])
    holder: Mapped[User] = relationship(foreign_keys=[holder_id])


class Vote(db.Model):
    """An open ballot: one counted row per member and motion (a new ballot replaces it)."""

    __tablename__ = "votes"
    __table_args__ = (UniqueConstraint("motion_id", "member_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    motion_id: Mapped[int] = mapped_column(ForeignKey("motions.id"))
    member_id: Mapped[int] = mapped_column(ForeignKey("users.id"))  # whose vote
    cast_by_id: Mapped[int] = mapped_column(ForeignKey("users.id"))  # who cast it
    channel: Mapped[str] = mapped_column(String(16))
    choice: Mapped[str] = mapped_column(String(40))
    cast_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    member: Mapped[User] = relationship(foreign_keys=[member_id])
    cast_by: Mapped[User] = relationship(foreign_keys=[cast_by_id])


class BallotReceipt(db.Model):
    """Secret ballot, part one: *who* voted (and how), never what. No timestamp: time would
    join it to the choice."""

    __tablename__ = "ballot_receipts"
    __table_args__ = (UniqueConstraint("motion_id", "member_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    motion_id: Mapped[int] = mapped_column(ForeignKey("motions.id"))
    member_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    cast_by_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    channel: Mapped[str] = mapped_column(String(16))


class SecretVote(db.Model):
    """Secret ballot, part two: *what* was chosen. A random key (so row order by key says
    nothing about who came first), the motion and the choice — no member, no time."""

    __tablename__ = "secret_votes"
    # SQLite would otherwise number the rows in the order they came (`rowid`), which is the
    # order of the receipts: stored by the random key alone (migration 0009).
    __table_args__ = {"sqlite_with_rowid": False}

    id: Mapped[str] = mapped_column(String(32), primary_key=True)
    motion_id: Mapped[int] = mapped_column(ForeignKey("motions.id"), index=True)
    choice: Mapped[str] = mapped_column(String(40))


class SecretTally(db.Model):
    """Secret ballot while the vote is open: only a count per choice (no row per ballot, so no
    row order or row version pairs a choice with a receipt). Every row of the motion is written
    by every ballot. When the vote closes the counts become `secret_votes` rows, in random
    order."""

    __tablename__ = "secret_tallies"

    motion_id: Mapped[int] = mapped_column(ForeignKey("motions.id"), primary_key=True)
    choice: Mapped[str] = mapped_column(String(40), primary_key=True)
    votes: Mapped[int] = mapped_column(default=0)


class SellerKind(enum.StrEnum):
    INDIVIDUAL = "individual"
    ENTITY = "entity"


SELLER_KIND_LABELS = {
    SellerKind.INDIVIDUAL: _l("Private person"),
    SellerKind.ENTITY: _l("Company or other organisation"),
}


class SellerDetails(db.Model):
    """What a host gives for the annual seller report (DAC7: lag 2022:1681 and 22 c kap.
    skatteförfarandelagen). Every field is optional to enter; the report lists what is missing
    so the board can ask for it."""

    __tablename__ = "seller_details"

    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"), primary_key=True)
    kind: Mapped[str] = mapped_column(String(12), default=SellerKind.INDIVIDUAL)
    legal_name: Mapped[str] = mapped_column(String(200), default="")
    address: Mapped[str] = mapped_column(Text, default="")
    # Personnummer/samordningsnummer (a person) or organisationsnummer (an entity), 10 digits.
    national_id: Mapped[str] = mapped_column(String(12), default="")
    date_of_birth: Mapped[date | None] = mapped_column(Date)
    # A foreign tax identification number, with the country that issued it (ISO 3166 alpha-2).
    tin: Mapped[str] = mapped_column(String(40), default="")
    tin_country: Mapped[str] = mapped_column(String(2), default="SE")
    vat_number: Mapped[str] = mapped_column(String(20), default="")
    iban: Mapped[str] = mapped_column(String(34), default="")
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class ProjectState(enum.StrEnum):
    PROPOSED = "proposed"
    APPROVED = "approved"
    REJECTED = "rejected"
    CLOSED = "closed"  # no longer offered to guests; its money stays shown


PROJECT_STATE_LABELS = {
    ProjectState.PROPOSED: _l("Proposed"),
    ProjectState.APPROVED: _l("Approved"),
    ProjectState.REJECTED: _l("Not approved"),
    ProjectState.CLOSED: _l("Closed"),
}


class CommunityProject(db.Model):
    """A local project members propose; once approved, guests may give it their booking's
    community share (DESIGN §12). Its ledger party is its id."""

    __tablename__ = "community_projects"

    id: Mapped[int] = mapped_column(primary_key=True)
    title: Mapped[str] = mapped_column(String(200))
    description: Mapped[str] = mapped_column(Text, default="")
    state: Mapped[str] = mapped_column(String(16), default=ProjectState.PROPOSED)
    proposed_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    approved_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    approved_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    @property
    def state_label(self) -> str:
        return str(PROJECT_STATE_LABELS[ProjectState(self.state)])


class CostCategory(enum.StrEnum):
    IT = "it"
    PAYMENTS = "payments"
    ACCOUNTING = "accounting"
    INSURANCE = "insurance"
    MEETINGS = "meetings"
    OFFICE = "office"
    OTHER = "other"


COST_CATEGORY_LABELS = {
    CostCategory.IT: _l("Hosting and software"),
    CostCategory.PAYMENTS: _l("Payment fees"),
    CostCategory.ACCOUNTING: _l("Accounting and audit"),
    CostCategory.INSURANCE: _l("Insurance"),
    CostCategory.MEETINGS: _l("Meetings"),
    CostCategory.OFFICE: _l("Office"),
    CostCategory.OTHER: _l("Other"),
}


class OperatingCost(db.Model):
    """A cost the board entered; the money is in the ledger transaction it points to."""

    __tablename__ = "operating_costs"
    __table_args__ = (CheckConstraint("amount_ore > 0", name="amount_positive"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    spent_on: Mapped[date] = mapped_column(Date, index=True)
    category: Mapped[str] = mapped_column(String(24))
    amount_ore: Mapped[int]
    note: Mapped[str] = mapped_column(Text, default="")
    transaction_id: Mapped[int] = mapped_column(ForeignKey("ledger_transactions.id"), unique=True)
    entered_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    @property
    def category_label(self) -> str:
        return str(COST_CATEGORY_LABELS[CostCategory(self.category)])


class CloseState(enum.StrEnum):
    DRAFT = "draft"
    POSTED = "posted"


class YearClose(db.Model):
    """The figures of a fiscal year's close (DESIGN §10): a draft until the meeting approves
    the disposition, then posted once and frozen."""

    __tablename__ = "year_closes"
    __table_args__ = (CheckConstraint("reserve_ore >= 0", name="reserve_not_negative"),)

    year: Mapped[int] = mapped_column(primary_key=True, autoincrement=False)
    state: Mapped[str] = mapped_column(String(8), default=CloseState.DRAFT)
    fees_ore: Mapped[int]  # F
    community_ore: Mapped[int]  # C
    costs_ore: Mapped[int]  # O
    surplus_ore: Mapped[int]  # S = F − C − O
    reserve_ore: Mapped[int]  # R
    # B: the result brought forward from earlier years (a carried loss is negative).
    carried_ore: Mapped[int] = mapped_column(default=0, server_default=text("0"))
    distributed_ore: Mapped[int]  # D = max(0, min(S − R, B + S))
    nights: Mapped[int]  # N
    computed_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    posted_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    disposition_motion_id: Mapped[int | None] = mapped_column(ForeignKey("motions.id"))
    transaction_id: Mapped[int | None] = mapped_column(ForeignKey("ledger_transactions.id"))

    shares: Mapped[list[PatronageShare]] = relationship(
        order_by="PatronageShare.member_id", cascade="all, delete-orphan"
    )


class PatronageShare(db.Model):
    """One host-member's part of D: their booked nights and the öre they get."""

    __tablename__ = "patronage_shares"

    year: Mapped[int] = mapped_column(ForeignKey("year_closes.year"), primary_key=True)
    member_id: Mapped[int] = mapped_column(ForeignKey("users.id"), primary_key=True)
    nights: Mapped[int]
    amount_ore: Mapped[int]

    member: Mapped[User] = relationship()

"""People: accounts, roles, membership of the cooperative (DESIGN §1)."""

from __future__ import annotations

import enum
from datetime import date, datetime

from flask_login import UserMixin
from sqlalchemy import CheckConstraint, ForeignKey, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from rentalcoop.db import UTCDateTime, utcnow
from rentalcoop.extensions import db
from rentalcoop.i18n import _l


class Role(enum.StrEnum):
    GUEST = "guest"
    HOST = "host"
    BOARD = "board"
    MUNICIPALITY = "municipality"


ROLE_LABELS = {
    Role.GUEST: _l("Guest"),
    Role.HOST: _l("Host member"),
    Role.BOARD: _l("Board"),
    Role.MUNICIPALITY: _l("Municipality"),
}


class ApplicationState(enum.StrEnum):
    PENDING = "pending"
    APPROVED = "approved"
    REJECTED = "rejected"


APPLICATION_STATE_LABELS = {
    ApplicationState.PENDING: _l("Waiting for the board"),
    ApplicationState.APPROVED: _l("Approved"),
    ApplicationState.REJECTED: _l("Not approved"),
}


class User(UserMixin, db.Model):
    __tablename__ = "users"

    id: Mapped[int] = mapped_column(primary_key=True)
    email: Mapped[str] = mapped_column(String(254), unique=True)
    name: Mapped[str] = mapped_column(String(120))
    password_hash: Mapped[str] = mapped_column(String(255))
    locale: Mapped[str] = mapped_column(String(5), default="sv")
    is_board: Mapped[bool] = mapped_column(default=False)
    is_municipality: Mapped[bool] = mapped_column(default=False)
    # Bumped on log-out everywhere, password change and deletion: the cookie session carries it,
    # so older sessions and remember-me cookies stop working (DESIGN §15, "Sessions").
    session_version: Mapped[int] = mapped_column(default=1)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    deleted_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # The terms of use the person accepted at registration (identity.LegalText version), and
    # when; None for accounts made before terms existed or by the board (municipality).
    terms_version: Mapped[int | None]
    terms_accepted_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    membership: Mapped[Membership | None] = relationship(
        back_populates="user", uselist=False, foreign_keys="Membership.user_id"
    )

    # The key of the session this user object was loaded for (not a column): set at log-in
    # and by the user loader, so the session cookie names its server-side `UserSession`.
    session_key = None

    def get_id(self) -> str:
        return f"{self.id}:{self.session_version}:{self.session_key or ''}"

    @property
    def is_active(self) -> bool:
        return self.deleted_at is None

    @property
    def is_member(self) -> bool:
        """A host-member: approved and not (yet) left."""
        return self.membership is not None and self.membership.is_current

    @property
    def roles(self) -> set[Role]:
        if self.is_municipality:
            return {Role.MUNICIPALITY}
        roles = {Role.GUEST}
        if self.is_member:
            roles.add(Role.HOST)
        if self.is_board:
            roles.add(Role.BOARD)
        return roles

    def has_role(self, *roles: Role) -> bool:
        return bool(self.roles & set(roles))

    def __repr__(self) -> str:
        return f"<User {self.id}>"


class Membership(db.Model):
    """A host's membership of the ekonomisk förening: numbered, with joined and left dates."""

    __tablename__ = "memberships"

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"), unique=True)
    member_number: Mapped[int] = mapped_column(unique=True)
    joined_on: Mapped[date]
    left_on: Mapped[date | None]
    approved_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))

    user: Mapped[User] = relationship(back_populates="membership", foreign_keys=[user_id])
    # The periods before the latest one (a member who left and came back); the latest period is
    # `joined_on`–`left_on` above. The register shows them all (lag 2018:672 5 kap.), and the
    # nights of each period count for that period's patronage.
    earlier_periods: Mapped[list[MembershipPeriod]] = relationship(
        order_by="MembershipPeriod.joined_on", cascade="all, delete-orphan"
    )

    @property
    def is_current(self) -> bool:
        return self.left_on is None

    @property
    def periods(self) -> list[tuple[date, date | None]]:
        """Every membership period, oldest first: (joined on, left on or None)."""
        earlier = [(p.joined_on, p.left_on) for p in self.earlier_periods]
        return [*earlier, (self.joined_on, self.left_on)]


class MembershipPeriod(db.Model):
    """An earlier, ended period of a membership: [joined_on, left_on)."""

    __tablename__ = "membership_periods"
    __table_args__ = (CheckConstraint("left_on >= joined_on", name="ends_after_start"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    membership_id: Mapped[int] = mapped_column(ForeignKey("memberships.id"), index=True)
    joined_on: Mapped[date]
    left_on: Mapped[date]
    approved_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))


class MembershipApplication(db.Model):
    __tablename__ = "membership_applications"

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"), index=True)
    motivation: Mapped[str] = mapped_column(String(2000), default="")
    state: Mapped[str] = mapped_column(String(16), default=ApplicationState.PENDING)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    decided_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    decided_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))

    user: Mapped[User] = relationship(foreign_keys=[user_id])

    @property
    def state_label(self) -> str:
        return str(APPLICATION_STATE_LABELS[ApplicationState(self.state)])


class PasswordResetToken(db.Model):
    """A single-use reset link; only a hash of the token is stored."""

    __tablename__ = "password_reset_tokens"
    __table_args__ = (UniqueConstraint("token_hash"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    token_hash: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime)
    used_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


class UserSession(db.Model):
    """One logged-in session (a browser): a plain log-out ends it, so a copy of its cookie
    stops working too; log-out everywhere bumps `User.session_version` instead. Only a hash
    of the key is stored (the cookie holds the key)."""

    __tablename__ = "user_sessions"
    __table_args__ = (UniqueConstraint("key_hash"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    key_hash: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    ended_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

"""Account rules: who may register, log in, reset a password or erase themselves."""

from __future__ import annotations

import hashlib
import secrets
from datetime import datetime, timedelta

from flask import current_app
from sqlalchemy import delete, func, or_, select, update
from werkzeug.security import check_password_hash, generate_password_hash

from rentalcoop.accounts.models import PasswordResetToken, User, UserSession
from rentalcoop.db import utcnow
from rentalcoop.errors import DomainError
from rentalcoop.extensions import db
from rentalcoop.i18n import _l

# Checked against when the email is unknown, so a missing account costs the same time: one
# verification, like a known account's. Made once per hash method (at start-up, see
# `warm_dummy_hash`), never in a log-in.
_DUMMY_HASH: dict[str, str] = {}


def dummy_hash(method: str) -> str:
    """A hash of no one's password, made once per method."""
    dummy = _DUMMY_HASH.get(method)
    if dummy is None:
        dummy = _DUMMY_HASH[method] = generate_password_hash(secrets.token_hex(8), method=method)
    return dummy


class AccountError(DomainError):
    status_code = 422


def normalise_email(email: str) -> str:
    return email.strip().lower()


def hash_password(password: str) -> str:
    return generate_password_hash(password, method=current_app.config["PASSWORD_HASH_METHOD"])


def find_user_by_email(email: str) -> User | None:
    return db.session.scalar(select(User).where(func.lower(User.email) == normalise_email(email)))


def register_user(
    name: str, email: str, password: str, locale: str = "sv", *, terms_version: int | None = None
) -> User:
    """Create a guest account, or explain why the email cannot be used. `terms_version` is the
    version of the terms the person accepted (recorded with the time)."""
    if find_user_by_email(email) is not None:
        raise AccountError(
            _l("An account with that email already exists. Log in or reset your password.")
        )
    user = User(
        name=name.strip(),
        email=normalise_email(email),
        password_hash=hash_password(password),
        locale=locale if locale in current_app.config["LANGUAGES"] else "sv",
        terms_version=terms_version,
        terms_accepted_at=utcnow() if terms_version is not None else None,
    )
    db.session.add(user)
    db.session.flush()
    return user


def authenticate(email: str, password: str) -> User | None:
    """The active user with these credentials, or None (same cost whether or not the email exists)."""
    user = find_user_by_email(email)
    if user is None or not user.is_active:
        check_password_hash(dummy_hash(current_app.config["PASSWORD_HASH_METHOD"]), password)
        return None
    if not check_password_hash(user.password_hash, password):
        return None
    return user


def verify_password(user: User, password: str) -> bool:
    return check_password_hash(user.password_hash, password)


def end_all_sessions(user: User) -> None:
    """Every session and remember-me cookie of `user` stops working (DESIGN §15, Sessions)."""
    user.session_version += 1


def _key_hash(key: str) -> str:
    return hashlib.sha256(key.encode()).hexdigest()


def start_session(user: User) -> str:
    """A new server-side session for `user`; the returned key goes into the cookie."""
    key = secrets.token_urlsafe(24)
    db.session.add(UserSession(user_id=user.id, key_hash=_key_hash(key)))
    db.session.flush()
    user.session_key = key
    return key


def session_cutoff() -> datetime:
    """Sessions started before this have lapsed (`SESSION_MAX_AGE_DAYS`)."""
    return utcnow() - timedelta(days=current_app.config.get("SESSION_MAX_AGE_DAYS", 90))


def session_user(user_id: int, version: int, key: str) -> User | None:
    """The active user of a cookie's session, if that session has neither ended nor lapsed
    (one query)."""
    user = db.session.scalar(
        select(User)
        .join(UserSession, UserSession.user_id == User.id)
        .where(
            User.id == user_id,
            User.session_version == version,
            User.deleted_at.is_(None),
            UserSession.key_hash == _key_hash(key),
            UserSession.ended_at.is_(None),
            UserSession.created_at >= session_cutoff(),
        )
    )
    if user is not None:
        user.session_key = key
    return user


def end_session(user: User) -> None:
    """End the session `user` was loaded for (a plain log-out): only this browser, the user's
    other devices stay logged in."""
    if user.session_key:
        db.session.execute(
            update(UserSession)
            .where(
                UserSession.user_id == user.id,
                UserSession.key_hash == _key_hash(user.session_key),
                UserSession.ended_at.is_(None),
            )
            .values(ended_at=utcnow())
        )


def purge_sessions() -> int:
    """Delete sessions that ended a day ago or lapsed: they can never log anyone in again."""
    result = db.session.execute(
        delete(UserSession).where(
            or_(
                UserSession.ended_at < utcnow() - timedelta(days=1),
                UserSession.created_at < session_cutoff(),
            )
        )
    )
    return result.rowcount or 0


def set_password(user: User, password: str) -> None:
    """Change the password and end every other session of this user."""
    user.password_hash = hash_password(password)
    end_all_sessions(user)


def change_email(user: User, new_email: str) -> str:
    """Move the account to a new address; returns the old one (to be told of the change)."""
    existing = find_user_by_email(new_email)
    if existing is not None and existing.id != user.id:
        raise AccountError(_l("An account with that email already exists."))
    old = user.email
    user.email = normalise_email(new_email)
    return old


def _token_hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def request_reset(email: str) -> tuple[User, str] | None:
    """A reset token for the active account of `email` (None when there is none). An unknown
    address makes and hashes a token too, so both cost the same hashing work."""
    user = find_user_by_email(email)
    if user is None or not user.is_active:
        _token_hash(secrets.token_urlsafe(32))
        return None
    return user, create_reset_token(user)


def create_reset_token(user: User) -> str:
    """A fresh single-use reset token for `user` (earlier unused ones stop working)."""
    now = utcnow()
    db.session.execute(
        update(PasswordResetToken)
        .where(PasswordResetToken.user_id == user.id, PasswordResetToken.used_at.is_(None))
        .values(used_at=now)
    )
    token = secrets.token_urlsafe(32)
    max_age = timedelta(seconds=current_app.config["PASSWORD_RESET_MAX_AGE_SECONDS"])
    db.session.add(
        PasswordResetToken(user_id=user.id, token_hash=_token_hash(token), expires_at=now + max_age)
    )
    db.session.flush()
    return token


def reset_token_user(token: str) -> User | None:
    """The user a still-valid token belongs to, or None (unknown, expired or already used)."""
    row = db.session.scalar(
        select(PasswordResetToken).where(PasswordResetToken.token_hash == _token_hash(token))
    )
    if row is None or row.used_at is not None or row.expires_at <= utcnow():
        return None
    user = db.session.get(User, row.user_id)
    return user if user is not None and user.is_active else None


def reset_password(token: str, password: str) -> User:
    """Use a reset token once to set a new password."""
    user = reset_token_user(token)
    if user is None:
        raise AccountError(
            _l("This reset link has expired or has already been used. Ask for a new one.")
        )
    # Mark used with a conditional update so two simultaneous submissions cannot both succeed.
    used = db.session.execute(
        update(PasswordResetToken)
        .where(
            PasswordResetToken.token_hash == _token_hash(token),
            PasswordResetToken.used_at.is_(None),
        )
        .values(used_at=utcnow())
    )
    if used.rowcount != 1:
        raise AccountError(
            _l("This reset link has expired or has already been used. Ask for a new one.")
        )
    set_password(user, password)
    return user


def delete_account(user: User) -> None:
    """Erase the person's data; rows that carry money keep their amounts and point to the husk."""
    now = utcnow()
    user.name = ""
    user.email = f"deleted-{user.id}@invalid"
    user.password_hash = "!"  # noqa: S105 - matches no password
    user.is_board = False
    user.is_municipality = False
    end_all_sessions(user)
    user.deleted_at = now
    if user.membership is not None and user.membership.left_on is None:
        from rentalcoop.listings.pricing import coop_date

        user.membership.left_on = coop_date(now)  # the membership's dates are Swedish days
    db.session.execute(
        update(PasswordResetToken).where(PasswordResetToken.user_id == user.id).values(used_at=now)
    )
    for erase in ERASERS:
        erase(user)


# Features that keep personal data about a user register a function here that erases it.
ERASERS: list = []


def register_eraser(erase) -> None:
    """Have `erase(user)` run when an account is deleted (once, however often imported)."""
    if erase not in ERASERS:
        ERASERS.append(erase)

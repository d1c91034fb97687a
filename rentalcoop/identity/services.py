"""Reading and changing the coop's identity. The board edits; everyone reads."""

from __future__ import annotations

from sqlalchemy import func, select

from rentalcoop.accounts.models import User
from rentalcoop.db import utcnow
from rentalcoop.extensions import db
from rentalcoop.identity.models import CoopProfile, LegalText, TextKind

PROFILE_ID = 1


def profile() -> CoopProfile | None:
    return db.session.get(CoopProfile, PROFILE_ID)


def current_text(kind: TextKind) -> LegalText | None:
    """The version in force: the latest published."""
    return db.session.scalar(
        select(LegalText).where(LegalText.kind == kind).order_by(LegalText.version.desc()).limit(1)
    )


def terms_version() -> int | None:
    """The terms version a person accepts when registering now."""
    text = current_text(TextKind.TERMS)
    return text.version if text else None


def update_profile(name: str, organisation_number: str, address: str, contact_email: str) -> None:
    """Save who the cooperative is."""
    row = profile()
    if row is None:
        row = CoopProfile(id=PROFILE_ID, name=name)
        db.session.add(row)
    row.name = name.strip()
    row.organisation_number = organisation_number.strip()
    row.address = address.strip()
    row.contact_email = contact_email.strip()
    row.updated_at = utcnow()
    db.session.flush()


def publish_text(kind: TextKind, body_sv: str, body_en: str, by: User) -> LegalText | None:
    """A new version when the text changed (nothing when it is the same): what earlier members
    accepted stays as it was, and registration from now on accepts the new version."""
    body_sv, body_en = body_sv.strip(), body_en.strip()
    latest = current_text(kind)
    if latest is not None and (latest.body_sv, latest.body_en) == (body_sv, body_en):
        return None
    version = (
        db.session.scalar(select(func.max(LegalText.version)).where(LegalText.kind == kind)) or 0
    ) + 1
    text = LegalText(
        kind=kind, version=version, body_sv=body_sv, body_en=body_en, published_by_id=by.id
    )
    db.session.add(text)
    db.session.flush()
    return text

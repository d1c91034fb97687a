"""The coop's profile (one row) and its legal texts, versioned: a new text is a new version,
so what a person accepted stays readable as it was."""

from __future__ import annotations

import enum
from datetime import datetime

from sqlalchemy import ForeignKey, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from rentalcoop.db import UTCDateTime, utcnow
from rentalcoop.extensions import db
from rentalcoop.i18n import _l


class TextKind(enum.StrEnum):
    PRIVACY = "privacy"
    TERMS = "terms"


TEXT_KIND_LABELS = {
    TextKind.PRIVACY: _l("Privacy policy"),
    TextKind.TERMS: _l("Terms of use"),
}


class CoopProfile(db.Model):
    """Who the cooperative is, as the footer and the contact page say it (one row, id 1)."""

    __tablename__ = "coop_profile"

    id: Mapped[int] = mapped_column(primary_key=True, autoincrement=False)
    name: Mapped[str] = mapped_column(String(200))
    organisation_number: Mapped[str] = mapped_column(String(20), default="")
    address: Mapped[str] = mapped_column(Text, default="")
    contact_email: Mapped[str] = mapped_column(String(254), default="")
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class LegalText(db.Model):
    """One version of the privacy policy or the terms, in Swedish and English."""

    __tablename__ = "legal_texts"
    __table_args__ = (UniqueConstraint("kind", "version"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    kind: Mapped[str] = mapped_column(String(10))
    version: Mapped[int]
    body_sv: Mapped[str] = mapped_column(Text)
    body_en: Mapped[str] = mapped_column(Text)
    published_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    published_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))

    def body(self, language: str) -> str:
        return self.body_en if language == "en" else self.body_sv

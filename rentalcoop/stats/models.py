"""Frozen statistics releases, their cells and the log of who downloaded them (DESIGN §13).

A release is written once and never changed; a correction is a new version that supersedes it.
Cells hold only aggregates: an area code (or "total"), a fixed period, a property type (or
"all"), a measure and its rounded value — or no value and the flag `c` when withheld.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import (
    JSON,
    CheckConstraint,
    Float,
    ForeignKey,
    Index,
    String,
    UniqueConstraint,
    false,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from rentalcoop.db import UTCDateTime, utcnow
from rentalcoop.extensions import db

WITHHELD = "c"  # the flag of a cell withheld by disclosure control


class StatsRelease(db.Model):
    """One version of the statistics of a finished month, with the rule parameters it used."""

    __tablename__ = "stats_releases"
    __table_args__ = (
        UniqueConstraint("period", "version"),
        CheckConstraint("version >= 1", name="version_positive"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    period: Mapped[str] = mapped_column(String(7))  # "YYYY-MM"
    version: Mapped[int] = mapped_column(default=1)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    published_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    parameters: Mapped[dict] = mapped_column(JSON)
    supersedes_id: Mapped[int | None] = mapped_column(ForeignKey("stats_releases.id"))
    # The LP audit it passed (rentalcoop.stats.lpaudit): cells checked, the narrowest
    # interval as a share of its protection level, failures (0), shown to the board.
    audit: Mapped[dict | None] = mapped_column(JSON)

    cells: Mapped[list[StatsCell]] = relationship(
        back_populates="release", order_by="StatsCell.id", cascade="all, delete-orphan"
    )
    supersedes: Mapped[StatsRelease | None] = relationship(remote_side=[id])

    @property
    def year(self) -> int:
        return int(self.period[:4])

    @property
    def month(self) -> int:
        return int(self.period[5:])

    def __repr__(self) -> str:
        return f"<StatsRelease {self.period} v{self.version}>"


class StatsCell(db.Model):
    """One published (or withheld) number of a release."""

    __tablename__ = "stats_cells"
    __table_args__ = (
        UniqueConstraint(
            "release_id",
            "area_code",
            "period_kind",
            "property_type",
            "measure",
            name="uq_stats_cells_key",  # the generated name is longer than PostgreSQL's 63
        ),
        CheckConstraint("period_kind IN ('month', 'quarter', 'ytd')", name="period_kind_known"),
        CheckConstraint("flag IN ('', 'c')", name="flag_known"),
        # A withheld cell carries no value, ever.
        CheckConstraint("flag <> 'c' OR value IS NULL", name="withheld_has_no_value"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    release_id: Mapped[int] = mapped_column(ForeignKey("stats_releases.id", ondelete="CASCADE"))
    area_code: Mapped[str] = mapped_column(String(16))  # a district code or "total"
    period_kind: Mapped[str] = mapped_column(String(8))  # month, quarter (to date), ytd
    period_label: Mapped[str] = mapped_column(String(7))  # 2026-10, 2026-Q4, 2026
    property_type: Mapped[str] = mapped_column(String(20))  # a PropertyType or "all"
    measure: Mapped[str] = mapped_column(String(32))
    value: Mapped[float | None] = mapped_column(Float)
    flag: Mapped[str] = mapped_column(String(1), default="")
    # Internal, never exported: a withheld cell that had no units at all. A correction must
    # know it, because a reader may take a withheld empty cell for zero (disclosure.protect).
    is_empty: Mapped[bool] = mapped_column(default=False, server_default=false())

    release: Mapped[StatsRelease] = relationship(back_populates="cells")

    @property
    def is_withheld(self) -> bool:
        return self.flag == WITHHELD


class StatsDownload(db.Model):
    """Who downloaded which release in which format, and when (no address, no agent)."""

    __tablename__ = "stats_downloads"
    __table_args__ = (
        CheckConstraint("format IN ('csv', 'json')", name="format_known"),
        Index("ix_stats_downloads_release_at", "release_id", "at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"), index=True)
    release_id: Mapped[int] = mapped_column(ForeignKey("stats_releases.id"))
    format: Mapped[str] = mapped_column(String(8))
    at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

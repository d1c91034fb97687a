"""Scheduled statistics: last month's release, once, after the month has ended."""

from __future__ import annotations

from rentalcoop.jobs import job


@job("stats-release")
def release_last_month() -> int:
    """Freeze last month's release if it is not there yet (CONTRACT: `flask jobs run`)."""
    from rentalcoop.stats.services import release_previous_month

    return 1 if release_previous_month() is not None else 0

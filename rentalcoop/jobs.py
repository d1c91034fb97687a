"""Scheduled work: `flask jobs run` runs everything that is due (cron, every few minutes).

Features register a job with `@job("name")`. Each job must be safe to run in two processes at
once (advisory locks or `SKIP LOCKED` on PostgreSQL; SQLite serialises writers) and to repeat.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import timedelta

import click
from flask import Flask
from sqlalchemy import delete

from rentalcoop.db import utcnow
from rentalcoop.extensions import db

log = logging.getLogger("rentalcoop.jobs")

JOBS: dict[str, Callable[[], int]] = {}


class JobCount(int):
    """What a job handled, and what failed (to be retried by the next run): `int(count)` is
    the number handled, `failures` names each failed item without personal data."""

    failures: tuple[str, ...]

    def __new__(cls, count: int, failures=()):
        value = super().__new__(cls, count)
        value.failures = tuple(failures)
        return value


def job(name: str) -> Callable:
    """Register a function that does what is due and returns how many things it handled."""

    def decorator(func: Callable[[], int]) -> Callable[[], int]:
        JOBS[name] = func
        return func

    return decorator


@job("purge-reset-tokens")
def purge_reset_tokens() -> int:
    """Forget reset tokens a day after they expired (they are useless and personal)."""
    from rentalcoop.accounts.models import PasswordResetToken

    result = db.session.execute(
        delete(PasswordResetToken).where(
            PasswordResetToken.expires_at < utcnow() - timedelta(days=1)
        )
    )
    db.session.commit()
    return result.rowcount or 0


@job("purge-sessions")
def purge_sessions() -> int:
    """Forget log-ins that ended or lapsed (`SESSION_MAX_AGE_DAYS`)."""
    from rentalcoop.accounts.services import purge_sessions as purge

    count = purge()
    db.session.commit()
    return count


def run_all(only: str | None = None) -> dict[str, int]:
    done = {}
    # Mail goes last, so what the other jobs queued this run goes out in the same run.
    for name, func in sorted(JOBS.items(), key=lambda item: item[0] == "send-mail"):
        if only and name != only:
            continue
        try:
            done[name] = func()
            db.session.commit()
        except Exception:
            db.session.rollback()
            log.exception("job %s failed", name)
            done[name] = -1
        finally:
            db.session.remove()  # each job starts from a fresh session and snapshot
    return done


def init_app(app: Flask) -> None:
    @app.cli.group()
    def jobs():
        """Scheduled jobs."""

    @jobs.command("run")
    @click.option("--only", help="Run just this job.")
    def run(only: str | None):
        """Run every job that is due."""
        failed = False
        for name, count in run_all(only).items():
            failed |= count < 0
            line = f"{name}: {'failed' if count < 0 else count}"
            failures = getattr(count, "failures", ())
            if failures:
                line += f" ({len(failures)} failed, retried next run: {', '.join(failures)})"
            click.echo(line)
        if failed:
            raise SystemExit(1)

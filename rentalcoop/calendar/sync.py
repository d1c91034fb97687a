"""Fetch imported feeds and replace their nights (DESIGN §8).

Per feed: claim it, fetch it with `safe_fetch.fetch` (the only way we fetch a user's URL), parse
it over the horizon (today … +2 years in the listing's zone) and then, in one short transaction,
replace its nights (a diff by (UID, night), so a UID whose nights move is updated, not added),
record conflicts with bookings made here and schedule the next run.

- **Claiming.** A feed is synced by whoever sets its `lease_until` with
  `UPDATE … WHERE id = ? AND (lease_until IS NULL OR lease_until < now) [AND next_run_at <= now]`
  and sees one row changed; a runner writes results only while the lease it set is still there.
  Claims are taken one feed at a time, just before its fetch starts, so a lease only has to
  outlast one fetch (≤ `safe_fetch.TOTAL_TIMEOUT`), not the whole run. Two runners (cron
  overlapping itself, "sync now" during a run) never sync a feed twice.
- **Concurrency.** The network runs in worker threads (a ThreadPoolExecutor,
  `CALENDAR_SYNC_WORKERS`); they touch no database. Parsing is CPU work the GIL keeps on one
  core, and a hostile feed can make it long: it runs in a few parser processes
  (`CALENDAR_SYNC_PARSE_PROCESSES`, see `ParserPool`), each feed under a CPU budget
  (`CALENDAR_PARSE_CPU_SECONDS`), so one slow feed holds one process for at most its budget
  while the others go on; a run starts no new feed after `CALENDAR_SYNC_RUN_SECONDS`, so the
  other jobs of `flask jobs run` do not wait behind the calendars. The main thread claims
  each feed and writes each result as it arrives. Why one writer: SQLite has one writer anyway,
  so 16 writing threads would only queue on its lock, and a writing thread that shares the GIL
  with parsing threads waited for it after every database call (measured: 3.9× instead of the
  8× goal). One writer keeps every transaction short and uses one session for the run.
- **Per remote host.** At most `CALENDAR_SYNC_PER_HOST` fetches to one host name at a time (most
  feeds come from airbnb.com). The main thread only hands a worker a feed whose host has a free
  slot, taking hosts in turn, so no worker sits blocked behind a busy host.
- **Errors.** A fetch or parse error keeps the last good nights, records the error in plain
  words and backs off: interval × 2^failures, capped (`CALENDAR_SYNC_MAX_BACKOFF_HOURS`).
- **Emptied feeds.** A feed that had future nights and comes back empty keeps them for one run
  and warns; a second empty run clears them (a broken export looks like an empty one).
"""

from __future__ import annotations

import hashlib
import logging
import multiprocessing
import os
import queue
import threading
import time
from collections import Counter, defaultdict, deque
from collections.abc import Callable, Iterable
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from urllib.parse import urlsplit
from zoneinfo import ZoneInfo

import click
from flask import current_app
from sqlalchemy import delete, insert, or_, select, tuple_, update

from rentalcoop import safe_fetch
from rentalcoop.calendar import bp, services
from rentalcoop.calendar.ical import _WARNING_TEXTS, ParsedFeed, parse_feed
from rentalcoop.calendar.models import CalendarFeed, ImportedBlock
from rentalcoop.db import begin_write, utcnow
from rentalcoop.errors import DomainError
from rentalcoop.extensions import db
from rentalcoop.i18n import _l
from rentalcoop.jobs import job
from rentalcoop.listings.availability import add_months
from rentalcoop.listings.models import Listing, ListingState

log = logging.getLogger("rentalcoop.calendar.sync")

HORIZON_MONTHS = 24
UID_MAX = 255

EMPTIED_HELD = _l(
    "The calendar came back empty although it blocked nights before. We kept its nights "
    "blocked for now, in case the other platform's export is broken. If it really is empty, "
    "the nights open again at the next update."
)
EMPTIED_CLEARED = _l(
    "The calendar was empty twice in a row, so the nights it blocked are open again."
)
BUSY = _l("This calendar is being updated right now. Look again in a minute.")


# --- settings --------------------------------------------------------------------------------


def _setting(name: str, default):
    return current_app.config.get(name, default)


def interval() -> timedelta:
    return timedelta(minutes=_setting("CALENDAR_SYNC_INTERVAL_MINUTES", 15))


def backoff(failures: int) -> timedelta:
    """How long to wait after `failures` failed runs in a row: interval × 2^failures, capped."""
    cap = timedelta(hours=_setting("CALENDAR_SYNC_MAX_BACKOFF_HOURS", 24))
    return min(interval() * (2 ** min(failures, 16)), cap)


def lease() -> timedelta:
    return timedelta(seconds=_setting("CALENDAR_SYNC_LEASE_SECONDS", 300))


# --- the work done in threads (no database, no app context) ---------------------------------


@dataclass(frozen=True)
class FeedTask:
    feed_id: int
    url: str
    etag: str | None
    tz: str
    since: date
    until: date
    remote_host: str
    lease_until: datetime | None = None


@dataclass
class Outcome:
    parsed: ParsedFeed | None = None
    not_modified: bool = False
    etag: str | None = None
    error: BaseException | dict | None = None  # dict: message parts from a parser process
    body: bytes | None = None  # fetched, not parsed yet


def fetch(task: FeedTask, *, allow_loopback: bool = False) -> Outcome:
    """The network part (worker threads): fetch one feed; errors are returned, never raised."""
    try:
        result = safe_fetch.fetch(task.url, etag=task.etag, allow_loopback=allow_loopback)
    except DomainError as err:
        return Outcome(error=err)
    except Exception as err:  # a bug must not stop the other feeds; the host sees plain words
        log.exception("calendar feed %s: unexpected fetch error", task.feed_id)
        return Outcome(error=err)
    if result.not_modified:
        return Outcome(not_modified=True, etag=result.etag)
    return Outcome(body=result.body, etag=result.etag)


def parse(task: FeedTask, outcome: Outcome) -> Outcome:
    """Read a fetched body into nights over the task's horizon (errors returned)."""
    if outcome.body is None:
        return outcome
    try:
        parsed = parse_feed(outcome.body, task.tz, since=task.since, until=task.until)
    except DomainError as err:
        return Outcome(error=err)
    except Exception as err:
        log.exception("calendar feed %s: unexpected parse error", task.feed_id)
        return Outcome(error=err)
    return Outcome(parsed=parsed, etag=outcome.etag)


def run_limited(
    tasks: Iterable[FeedTask],
    work: Callable[[FeedTask], Outcome],
    done: Callable[[FeedTask, Outcome], None],
    *,
    workers: int,
    per_host: int,
    claim: Callable[[FeedTask], FeedTask | None] = lambda task: task,
) -> None:
    """Run `work` over `tasks` in a pool of `workers` threads with at most `per_host` tasks of
    one remote host at a time; `claim` (main thread) just before a task starts may skip it
    (None); `done` (main thread) gets each result."""
    queues: dict[str, deque[FeedTask]] = defaultdict(deque)
    for task in tasks:
        queues[task.remote_host].append(task)
    busy: Counter[str] = Counter()
    running: dict[Future, FeedTask] = {}
    workers = max(1, workers)
    per_host = max(1, per_host)
    with ThreadPoolExecutor(max_workers=workers, thread_name_prefix="calendar-sync") as pool:

        def fill() -> None:
            started = True
            while started and len(running) < workers:
                started = False
                for host in list(queues):  # one per host per round: hosts take turns
                    if len(running) >= workers:
                        break
                    while queues[host] and busy[host] < per_host:
                        task = claim(queues[host].popleft())
                        if task is None:
                            continue
                        running[pool.submit(work, task)] = task
                        busy[host] += 1
                        started = True
                        break
                    if not queues[host]:
                        del queues[host]

        fill()
        while running:
            finished, _pending = wait(list(running), return_when=FIRST_COMPLETED)
            results = []
            for future in finished:
                task = running.pop(future)
                busy[task.remote_host] -= 1
                results.append((task, future.result()))
            fill()  # keep the pool busy while the results are written
            for task, outcome in results:
                done(task, outcome)


# --- claiming and writing (main thread, short transactions) ---------------------------------


def _remote_host(url: str) -> str:
    try:
        return (urlsplit(url).hostname or "").lower()
    except ValueError:
        return ""


def _horizon(tz: str, now: datetime) -> tuple[date, date]:
    today = now.astimezone(ZoneInfo(tz)).date()
    return today, add_months(today, HORIZON_MONTHS)


def candidates(
    now: datetime, *, listing_id: int | None = None, force: bool = False, feed_id: int | None = None
) -> list[FeedTask]:
    """Feeds that are due (or all, forced) and not claimed by another runner."""
    query = (
        select(CalendarFeed.id, CalendarFeed.url, CalendarFeed.etag, Listing.timezone)
        .join(Listing, Listing.id == CalendarFeed.listing_id)
        .where(
            or_(CalendarFeed.lease_until.is_(None), CalendarFeed.lease_until < now),
            Listing.state != ListingState.ARCHIVED,  # an archived home takes no bookings
        )
        .order_by(CalendarFeed.next_run_at, CalendarFeed.id)
    )
    if not force:
        query = query.where(CalendarFeed.next_run_at <= now)
    if listing_id is not None:
        query = query.where(CalendarFeed.listing_id == listing_id)
    if feed_id is not None:
        query = query.where(CalendarFeed.id == feed_id)
    rows = db.session.execute(query).all()
    db.session.commit()
    tasks = []
    for fid, url, etag, tz in rows:
        since, until = _horizon(tz, now)
        tasks.append(FeedTask(fid, url, etag, tz, since, until, _remote_host(url)))
    return tasks


def claim(task: FeedTask, *, force: bool = False) -> FeedTask | None:
    """Take the feed for this runner, or None when another runner has it (or it is gone)."""
    now = utcnow()
    until = now + lease()
    conditions = [
        CalendarFeed.id == task.feed_id,
        or_(CalendarFeed.lease_until.is_(None), CalendarFeed.lease_until < now),
    ]
    if not force:
        conditions.append(CalendarFeed.next_run_at <= now)
    begin_write(db.session)
    result = db.session.execute(
        update(CalendarFeed).where(*conditions).values(lease_until=until),
        execution_options={"synchronize_session": False},
    )
    db.session.commit()
    if result.rowcount != 1:
        return None
    since, until_day = _horizon(task.tz, now)
    return FeedTask(
        task.feed_id, task.url, task.etag, task.tz, since, until_day, task.remote_host, until
    )


def _uid_key(uid: str) -> str:
    if len(uid) <= UID_MAX:
        return uid
    return "sha256:" + hashlib.sha256(uid.encode("utf-8")).hexdigest()


@dataclass
class SyncReport:
    synced: int = 0
    failed: int = 0
    skipped: int = 0
    deferred: int = 0  # not started before the run's time was up; still due
    conflicts: int = 0
    changed_nights: int = 0

    @property
    def total(self) -> int:
        return self.synced + self.failed


def apply_outcome(task: FeedTask, outcome: Outcome, report: SyncReport | None = None) -> bool:
    """Write one feed's result in one transaction. False when the lease was lost (another
    runner took the feed after ours expired) or the feed was removed meanwhile."""
    report = report if report is not None else SyncReport()
    now = utcnow()
    begin_write(db.session)
    feed = db.session.get(CalendarFeed, task.feed_id, with_for_update=True, populate_existing=True)
    if feed is None or (task.lease_until is not None and feed.lease_until != task.lease_until):
        db.session.rollback()
        report.skipped += 1
        return False
    feed.lease_until = None
    if outcome.error is not None:
        feed.consecutive_failures += 1
        parts = (
            outcome.error
            if isinstance(outcome.error, dict)
            else services.error_parts(outcome.error)
        )
        feed.last_error = parts["msgid"]
        feed.last_error_params = parts["params"]
        feed.last_error_at = now
        feed.next_run_at = now + backoff(feed.consecutive_failures)
        report.failed += 1
    else:
        if outcome.parsed is not None:
            report.changed_nights += _replace_nights(feed, task, outcome.parsed)
            # A held empty feed must be read in full next time, not answered with a 304.
            feed.etag = None if feed.empty_held else outcome.etag
        feed.consecutive_failures = 0
        feed.last_success_at = now
        feed.next_run_at = now + interval()
        report.synced += 1
    report.conflicts += services.record_conflicts(feed, now)
    db.session.commit()
    return True


def _replace_nights(feed: CalendarFeed, task: FeedTask, parsed: ParsedFeed) -> int:
    """Make the feed's stored nights equal the parsed ones (by UID and night); returns how
    many rows changed. Holds the nights of a feed that emptied, once."""
    # Each event's problem is shown to the host with the event's UID (issue 13).
    warnings = [
        {**services.message_parts(_WARNING_TEXTS[w.kind], dict(w.params)), "uid": w.uid}
        for w in parsed.warnings
    ]
    wanted = {(_uid_key(uid), night) for uid, nights in parsed.blocks.items() for night in nights}
    existing = set(
        tuple(row)
        for row in db.session.execute(
            select(ImportedBlock.uid, ImportedBlock.night).where(ImportedBlock.feed_id == feed.id)
        )
    )
    had_future = any(night >= task.since for _uid, night in existing)
    if not wanted and had_future and not feed.empty_held:
        feed.empty_held = True
        feed.warnings = [*warnings, services.message_parts(EMPTIED_HELD)]
        return 0
    if not wanted and feed.empty_held:
        warnings.append(services.message_parts(EMPTIED_CLEARED))
    feed.empty_held = False
    feed.warnings = warnings
    gone = existing - wanted
    new = wanted - existing
    if gone:
        by_uid: dict[str, list[date]] = defaultdict(list)
        for uid, night in gone:
            by_uid[uid].append(night)
        if len(by_uid) == 1 or len(gone) > 500:
            for uid, nights in by_uid.items():
                db.session.execute(
                    delete(ImportedBlock).where(
                        ImportedBlock.feed_id == feed.id,
                        ImportedBlock.uid == uid,
                        ImportedBlock.night.in_(nights),
                    )
                )
        else:
            db.session.execute(
                delete(ImportedBlock).where(
                    ImportedBlock.feed_id == feed.id,
                    tuple_(ImportedBlock.uid, ImportedBlock.night).in_(sorted(gone)),
                )
            )
    if new:
        db.session.execute(
            insert(ImportedBlock.__table__),
            [
                {"feed_id": feed.id, "uid": uid, "night": night, "listing_id": feed.listing_id}
                for uid, night in sorted(new)
            ],
        )
    return len(gone) + len(new)


# --- entry points ---------------------------------------------------------------------------


def sync_due(
    *,
    listing_id: int | None = None,
    force: bool = False,
    workers: int | None = None,
    per_host: int | None = None,
) -> SyncReport:
    """Sync every due feed (all of them with `force`), concurrently; safe with two runners.
    Feeds not started within the run's time (`CALENDAR_SYNC_RUN_SECONDS`) stay due for the
    next run, so the other jobs of `flask jobs run` never wait long behind the calendars."""
    report = SyncReport()
    allow_loopback = bool(_setting("CALENDAR_ALLOW_LOOPBACK", False))
    tasks = candidates(utcnow(), listing_id=listing_id, force=force)
    if not tasks:
        return report
    deadline = time.monotonic() + _setting("CALENDAR_SYNC_RUN_SECONDS", 120)

    def take(task: FeedTask) -> FeedTask | None:
        if time.monotonic() > deadline:
            report.deferred += 1
            return None
        claimed = claim(task, force=force)
        if claimed is None:
            report.skipped += 1
        return claimed

    processes = _setting("CALENDAR_SYNC_PARSE_PROCESSES", None)
    if processes is None:
        processes = min(os.cpu_count() or 1, 4)

    with ParserPool(min(max(1, processes), len(tasks)), **parse_budget()) as parsers:

        def work(task: FeedTask) -> Outcome:
            outcome = fetch(task, allow_loopback=allow_loopback)
            if outcome.body is None:
                return outcome
            # This thread waits (without the GIL) while a parser process works.
            return parsers.parse(task, outcome)

        def done(task: FeedTask, outcome: Outcome) -> None:
            try:
                apply_outcome(task, outcome, report)
            except Exception:
                db.session.rollback()
                log.exception("calendar feed %s: saving the result failed", task.feed_id)
                report.failed += 1

        run_limited(
            tasks,
            work,
            done,
            workers=workers or _setting("CALENDAR_SYNC_WORKERS", 16),
            per_host=per_host or _setting("CALENDAR_SYNC_PER_HOST", 4),
            claim=take,
        )
    return report


# --- parser processes with a budget -----------------------------------------------------------

TOO_MUCH_WORK = _l(
    "This calendar takes too much work to read (more than %(seconds)s seconds), so it was "
    "not read this time. The nights it blocked before stay blocked. If it keeps happening, "
    "ask the other platform to shorten the calendar or remove unusual repeating events."
)


def parse_budget() -> dict:
    """The CPU seconds a feed's parse may use, and the wall-clock backstop (a loaded machine
    or a parser that waits instead of working)."""
    cpu = max(1, int(_setting("CALENDAR_PARSE_CPU_SECONDS", 10)))
    wall = float(_setting("CALENDAR_PARSE_WALL_SECONDS", None) or max(3 * cpu, cpu + 20))
    return {"cpu_seconds": cpu, "wall_seconds": wall}


class ParserPool:
    """Processes that read fetched feeds, each feed under a budget (issue 13).

    A child sets its own CPU limit (`RLIMIT_CPU`, its use so far + the budget) before each
    feed, so the kernel ends it with SIGXCPU once a feed used its budget; the parent also
    kills it when no answer came within the wall-clock backstop. Either way the feed fails
    with TOO_MUCH_WORK (its last good nights are kept) and a fresh process takes the slot.
    Children come from multiprocessing's fork server: a clean single-threaded process that
    imported this module once, so starting one from a worker thread is safe and cheap (forking
    this multi-threaded process could copy a lock another thread holds)."""

    def __init__(self, processes: int, *, cpu_seconds: int, wall_seconds: float):
        self.cpu_seconds = cpu_seconds
        self.wall_seconds = wall_seconds
        self.killed = 0
        self._context = multiprocessing.get_context(
            "forkserver" if "forkserver" in multiprocessing.get_all_start_methods() else "spawn"
        )
        if self._context.get_start_method() == "forkserver":
            self._context.set_forkserver_preload(["rentalcoop.calendar.sync"])
        self._slots: queue.SimpleQueue = queue.SimpleQueue()
        self._children: list = []
        self._lock = threading.Lock()
        for _ in range(max(1, processes)):
            self._slots.put(None)  # started when first needed

    def __enter__(self) -> ParserPool:
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def _start(self):
        ours, theirs = self._context.Pipe()
        child = self._context.Process(
            target=_parser_main, args=(theirs, self.cpu_seconds), daemon=True
        )
        child.start()
        theirs.close()
        with self._lock:
            self._children.append((child, ours))
        return child, ours

    def parse(self, task: FeedTask, outcome: Outcome) -> Outcome:
        """`parse` in a child process; an error Outcome when the budget ran out."""
        slot = self._slots.get()
        try:
            if slot is None or not slot[0].is_alive():
                slot = self._start()
            child, conn = slot
            conn.send((task, outcome))
            if conn.poll(self.wall_seconds):
                result = conn.recv()  # EOFError when the child was ended by its CPU limit
                self._slots.put(slot)
                slot = None
                return result
        except (EOFError, OSError):
            pass
        # Over budget (or the child died): end it; the slot gets a new process when needed.
        if slot is not None:
            slot[0].kill()
            slot[0].join(5)
        self._slots.put(None)
        slot = None
        with self._lock:
            self.killed += 1
        log.warning("calendar feed %s: parsing stopped after its budget", task.feed_id)
        return Outcome(error=services.message_parts(TOO_MUCH_WORK, {"seconds": self.cpu_seconds}))

    def close(self) -> None:
        with self._lock:
            children, self._children = self._children, []
        for _child, conn in children:
            conn.close()  # the child reads EOF and ends
        for child, _conn in children:
            child.join(5)
            if child.is_alive():
                child.kill()
                child.join(5)


def _parser_main(conn, cpu_seconds: int) -> None:
    """A parser process: read (task, fetched outcome) pairs, answer parsed outcomes."""
    import resource
    import signal

    signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C is the parent's to handle
    _soft, hard = resource.getrlimit(resource.RLIMIT_CPU)
    while True:
        try:
            task, outcome = conn.recv()
        except (EOFError, OSError):
            return
        usage = resource.getrusage(resource.RUSAGE_SELF)
        limit = int(usage.ru_utime + usage.ru_stime) + 1 + cpu_seconds
        if hard != resource.RLIM_INFINITY:
            limit = min(limit, hard)
        resource.setrlimit(resource.RLIMIT_CPU, (limit, hard))
        conn.send(parse_detached(task, outcome))


def parse_detached(task: FeedTask, outcome: Outcome) -> Outcome:
    """`parse` in a parser process: errors travel back as plain message parts (a lazily
    translated message does not cross processes)."""
    result = parse(task, outcome)
    if result.error is not None:
        return Outcome(error=services.error_parts(result.error))
    return result


def sync_feed_now(feed: CalendarFeed) -> bool:
    """The host's "sync now": fetch this feed at once, whatever its schedule. Raises
    CalendarError when another runner is syncing it. Returns whether it succeeded."""
    feed_id = feed.id
    db.session.commit()  # never hold the SQLite write lock across a fetch
    tasks = candidates(utcnow(), force=True, feed_id=feed_id)
    claimed = claim(tasks[0], force=True) if tasks else None
    if claimed is None:
        raise services.CalendarError(BUSY)
    outcome = fetch(claimed, allow_loopback=bool(_setting("CALENDAR_ALLOW_LOOPBACK", False)))
    if outcome.body is not None:
        with ParserPool(1, **parse_budget()) as parsers:
            outcome = parsers.parse(claimed, outcome)
    report = SyncReport()
    apply_outcome(claimed, outcome, report)
    return report.synced == 1


@job("calendar-sync")
def calendar_sync_job() -> int:
    """Fetch the feeds that are due (every 15 minutes by default)."""
    return sync_due().total


@bp.cli.command("sync")
@click.option("--listing", "listing_id", type=int, help="Only this listing's feeds.")
@click.option("--force", is_flag=True, help="All feeds, due or not.")
def sync_command(listing_id: int | None, force: bool) -> None:
    """Fetch due (or, with --force, all) imported calendar feeds."""
    started = time.monotonic()
    report = sync_due(listing_id=listing_id, force=force)
    click.echo(
        f"feeds synced: {report.synced}, failed: {report.failed}, "
        f"skipped (another runner): {report.skipped}, left for the next run: {report.deferred}, "
        f"nights changed: {report.changed_nights}, "
        f"new conflicts: {report.conflicts} ({time.monotonic() - started:.1f} s)"
    )

"""Calendar sync benchmark (issue 5; DESIGN §8).

400 imported feeds, each about 50 events in the shape of one of the sample feeds
(tests/calendar/samples: Airbnb, Booking.com, Vrbo, Google, iCloud, Outlook, OwnerRez, …), are
served by four local "platforms" on 127.0.0.2–127.0.0.5 that answer every request after 200 ms
(each address its own server process with a thread per request, so the servers' CPU is not
counted as ours). The real sync (`sync_due`, with loopback allowed for the benchmark only) runs
against a fresh copy of the same database twice, in one run:

- sequentially: one worker, one fetch per host at a time (what a simple loop would do);
- concurrently: the configured pool (16 workers, 4 per remote host by default).

Both do exactly the same work (fetch, parse over the two-year horizon, write every night in one
transaction per feed, check conflicts). Printed: feeds/s, CPU milliseconds per feed (process
time of all our threads ÷ feeds; since issue 13 the parser processes are the fork server's
children and are not counted) and the speed-up, plus a steady-state re-run (nothing changed).

    .venv/bin/python benchmarks/calendar_sync.py
    .venv/bin/python benchmarks/calendar_sync.py --feeds 400 --delay 0.2 --workers 16 --per-host 4
"""

from __future__ import annotations

import argparse
import multiprocessing
import os
import re
import resource
import shutil
import socket
import sys
import tempfile
import time
from datetime import date, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

SAMPLES = ROOT / "tests" / "calendar" / "samples"
SHAPES = (
    "airbnb_listing_current.ics",
    "airbnb_listing_ri_cal.ics",
    "booking_com_closed.ics",
    "abritel_vrbo_fr.ics",
    "google_owner_recurring.ics",
    "google_owner_timed_utc.ics",
    "icloud_shared_calendar.ics",
    "ics_npm_duration.ics",
    "nextcloud_davx5_export.ics",
    "office365_windows_tzid.ics",
    "ownerrez_icalnet_tz.ics",
    "rust_icalendar_same_day.ics",
)
ADDRESSES = ("127.0.0.2", "127.0.0.3", "127.0.0.4", "127.0.0.5")
EVENTS_PER_FEED = 50

_EVENT = re.compile(r"BEGIN:VEVENT\r?\n.*?END:VEVENT\r?\n", re.DOTALL)
_DATED = re.compile(r"^(DTSTART|DTEND|RECURRENCE-ID|EXDATE|RDATE)([;:].*)$", re.MULTILINE)
_UID = re.compile(r"^UID:(.*?)(\r?)$", re.MULTILINE)
_DAY = re.compile(r"(?<!\d)(\d{4})(\d{2})(\d{2})(?!\d)")


def _shift(event: str, days: int, copy: int) -> str:
    def shift_dates(line: re.Match) -> str:
        def one(m: re.Match) -> str:
            day = date(int(m[1]), int(m[2]), int(m[3])) + timedelta(days=days)
            return day.strftime("%Y%m%d")

        return line[1] + _DAY.sub(one, line[2])

    event = _DATED.sub(shift_dates, event)
    return _UID.sub(lambda m: f"UID:{m[1]}-c{copy}{m[2]}", event)


def feed_body(shape: str, events: int = EVENTS_PER_FEED) -> bytes:
    """A feed in `shape`'s form with about `events` events (its events repeated, moved on)."""
    text = (SAMPLES / shape).read_text(encoding="utf-8")
    originals = _EVENT.findall(text)
    rest = _EVENT.sub("", text)
    copies = []
    for n in range(max(1, -(-events // max(1, len(originals))))):
        copies += [_shift(e, 11 * n, n) for e in originals]
    copies = copies[:events]
    cut = rest.rindex("END:VCALENDAR")
    return (rest[:cut] + "".join(copies) + rest[cut:]).encode("utf-8")


# --- the four "platforms" (separate processes) ----------------------------------------------


def _serve(address: str, port: int, bodies: dict[str, bytes], delay: float, ready) -> None:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, format, *args):  # noqa: A002
            pass

        def setup(self):
            super().setup()
            # Headers and body go out in two writes; without this, Nagle's algorithm holds the
            # body until the client's delayed ACK (40 ms) — a delay no real platform adds.
            self.request.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)

        def do_GET(self):  # noqa: N802
            time.sleep(delay)
            body = bodies.get(self.path)
            status = 200 if body is not None else 404
            body = body or b""
            self.send_response(status)
            self.send_header("Content-Type", "text/calendar; charset=utf-8")
            self.send_header("Content-Length", str(len(body)))
            self.send_header("Connection", "close")
            self.end_headers()
            self.wfile.write(body)

    class Server(ThreadingHTTPServer):
        daemon_threads = True
        request_queue_size = 128

    server = Server((address, port), Handler)
    ready.set()
    server.serve_forever(poll_interval=0.05)


def start_platforms(port: int, bodies: dict[str, bytes], delay: float):
    processes = []
    for address in ADDRESSES:
        ready = multiprocessing.Event()
        mine = {path: body for path, body in bodies.items() if path.startswith(f"/{address}/")}
        process = multiprocessing.Process(
            target=_serve, args=(address, port, mine, delay, ready), daemon=True
        )
        process.start()
        if not ready.wait(10):
            raise SystemExit(f"the server on {address} did not start")
        processes.append(process)
    return processes


# --- the database -----------------------------------------------------------------------------


def _app(url: str, **settings):
    from config import Config
    from rentalcoop import create_app

    return create_app(
        Config,
        SQLALCHEMY_DATABASE_URI=url,
        CALENDAR_ALLOW_LOOPBACK=True,
        CALENDAR_SYNC_RUN_SECONDS=10**6,  # measure whole runs (cron would leave the rest due)
        RATELIMIT_ENABLED=False,
        **settings,
    )


def build_database(path: Path, urls: list[str]) -> None:
    from flask_migrate import upgrade

    from rentalcoop.accounts.models import User
    from rentalcoop.calendar.models import CalendarFeed
    from rentalcoop.db import utcnow
    from rentalcoop.extensions import db
    from rentalcoop.listings.models import Area, Listing

    app = _app(f"sqlite:///{path}")
    with app.app_context():
        upgrade()
        host = User(name="Bench Host", email="bench@example.org", password_hash="!")  # noqa: S106 - no log-in
        area = Area(code="B01", name="Bench")
        db.session.add_all([host, area])
        db.session.flush()
        for n, url in enumerate(urls):
            listing = Listing(
                host_id=host.id,
                area_id=area.id,
                title=f"Home {n}",
                nightly_price_ore=90_000,
                state="published",
            )
            db.session.add(listing)
            db.session.flush()
            db.session.add(
                CalendarFeed(listing_id=listing.id, name="Feed", url=url, next_run_at=utcnow())
            )
        db.session.commit()
        db.engine.dispose()


def _cpu() -> float:
    """CPU seconds of this process and of its finished children (not the platform servers,
    still running, nor the parser processes, which are the fork server's children)."""
    children = resource.getrusage(resource.RUSAGE_CHILDREN)
    return time.process_time() + children.ru_utime + children.ru_stime


def run_sync(path: Path, workers: int, per_host: int, processes: int | None = None) -> dict:
    from sqlalchemy import func, select

    from rentalcoop.calendar import sync
    from rentalcoop.calendar.models import ImportedBlock
    from rentalcoop.extensions import db

    app = _app(f"sqlite:///{path}", CALENDAR_SYNC_PARSE_PROCESSES=processes)
    with app.app_context():
        db.session.execute(select(1))  # connect before timing
        db.session.commit()
        wall, cpu = time.perf_counter(), _cpu()
        report = sync.sync_due(force=True, workers=workers, per_host=per_host)
        wall, cpu = time.perf_counter() - wall, _cpu() - cpu
        nights = db.session.scalar(select(func.count()).select_from(ImportedBlock))
        db.engine.dispose()
    return {"report": report, "wall": wall, "cpu": cpu, "nights": nights}


def _parser_processes(configured: int | None) -> int:
    return min(os.cpu_count() or 1, 4) if configured is None else configured


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--feeds", type=int, default=400)
    parser.add_argument("--delay", type=float, default=0.2, help="server answer delay (s)")
    parser.add_argument("--workers", type=int, default=16)
    parser.add_argument("--per-host", type=int, default=4)
    parser.add_argument("--port", type=int, default=18_765)
    parser.add_argument(
        "--parse-processes",
        type=int,
        default=None,
        help="parser processes (default: the CPUs, at most 4)",
    )
    args = parser.parse_args()

    bodies, urls = {}, []
    for n in range(args.feeds):
        address = ADDRESSES[n % len(ADDRESSES)]
        path = f"/{address}/feed-{n}.ics"
        bodies[path] = feed_body(SHAPES[n % len(SHAPES)])
        urls.append(f"http://{address}:{args.port}{path}")
    load_before = os.getloadavg()[0]
    events = sum(body.count(b"BEGIN:VEVENT") for body in bodies.values())
    platforms = start_platforms(args.port, bodies, args.delay)
    try:
        with tempfile.TemporaryDirectory(prefix="rc-calbench-") as tmp:
            seed = Path(tmp) / "seed.sqlite"
            build_database(seed, urls)
            runs = {}
            for name, workers, per_host in (
                ("sequential", 1, 1),
                ("concurrent", args.workers, args.per_host),
            ):
                copy = Path(tmp) / f"{name}.sqlite"
                shutil.copyfile(seed, copy)
                runs[name] = run_sync(copy, workers, per_host, args.parse_processes)
            runs["concurrent, nothing changed"] = run_sync(
                Path(tmp) / "concurrent.sqlite", args.workers, args.per_host, args.parse_processes
            )
    finally:
        for process in platforms:
            process.terminate()
            process.join(5)

    print(
        f"{args.feeds} feeds, {events / args.feeds:.0f} events each on average, "
        f"{len(ADDRESSES)} hosts answering after {args.delay * 1000:.0f} ms; "
        f"workers={args.workers}, per host={args.per_host}, parser processes="
        f"{_parser_processes(args.parse_processes)}; SQLite; {os.cpu_count()} CPUs, load average "
        f"{load_before:.1f} before and {os.getloadavg()[0]:.1f} after"
    )
    print(
        f"{'run':30} {'feeds ok':>8} {'wall s':>8} {'feeds/s':>8} {'CPU ms/feed':>12} {'nights':>8}"
    )
    for name, run in runs.items():
        report = run["report"]
        print(
            f"{name:30} {report.synced:>8} {run['wall']:>8.2f} "
            f"{report.synced / run['wall']:>8.1f} {run['cpu'] * 1000 / args.feeds:>12.1f} "
            f"{run['nights']:>8}"
        )
    speedup = runs["sequential"]["wall"] / runs["concurrent"]["wall"]
    print(f"speed-up of the concurrent sync over the sequential one: {speedup:.1f}x (goal >= 8x)")
    assert runs["sequential"]["nights"] == runs["concurrent"]["nights"], "runs disagree"
    assert all(run["report"].failed == 0 for run in runs.values()), "some feeds failed"


if __name__ == "__main__":
    main()

"""Search and listing-page benchmark (issue 3; DESIGN §15).

Builds databases of 1k, 10k and 100k published listings with about a year of unavailable nights
each (≈ 100 per listing, denser in the summer), three photos each, and weekend prices of their
own for one listing in ten, on SQLite and PostgreSQL, then measures in one run:

- in process (Flask test client, median of many requests): a city-wide search for a week in the
  busy season, a listing page with a quote for that week, and `/healthz`;
  printed as t(10k)/t(1k), t(100k)/t(1k) and t(search)/t(/healthz);
- under gunicorn with two sync workers and `wrk` as the load: the search page's requests/s as
  a ratio of a trivial route's (`/healthz`) in the same run (and the listing page's), the
  routes taking turns for a few rounds, with the workers' CPU time per request beside it.

    .venv/bin/python benchmarks/search.py                     # SQLite and PostgreSQL
    .venv/bin/python benchmarks/search.py --backends sqlite --sizes 1000 10000
    BENCH_PG_URL=postgresql+psycopg://postgres@127.0.0.1:5432/postgres  (the default)

Databases are cached in benchmarks/out/ (SQLite files) and as PostgreSQL databases
`rc_bench_<size>`; `--rebuild` makes them again.
"""

from __future__ import annotations

import argparse
import os
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import time
import urllib.request
from datetime import date, timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from sqlalchemy import create_engine, text  # noqa: E402
from sqlalchemy.engine import make_url  # noqa: E402

OUT = ROOT / "benchmarks" / "out"
PG_URL = os.environ.get("BENCH_PG_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/postgres")
AREAS = 20  # a town's districts (DESIGN §15 measured a 20-district search)


def busy_week(today: date) -> tuple[date, date]:
    """A Monday-to-Monday week in July of the coming summer."""
    year = today.year if today < date(today.year, 6, 1) else today.year + 1
    start = date(year, 7, 5)
    start += timedelta(days=(7 - start.weekday()) % 7)
    return start, start + timedelta(days=7)


def _app(url: str):
    from config import DevelopmentConfig
    from rentalcoop import create_app

    return create_app(DevelopmentConfig, SQLALCHEMY_DATABASE_URI=url, RATELIMIT_ENABLED=False)


def _fill_sql(dialect: str, size: int, today: date) -> list[str]:
    """Rows made by the database itself: users, areas, listings, ~100 blocked nights each."""
    summer_from = (date(busy_week(today)[0].year, 6, 10) - today).days
    summer_to = (date(busy_week(today)[0].year, 8, 20) - today).days
    hosts = min(size, 5000)
    if dialect == "sqlite":
        series = "WITH RECURSIVE s(n) AS (SELECT 1 UNION ALL SELECT n + 1 FROM s WHERE n < {})"
        night = f"date('{today.isoformat()}', '+' || d.n || ' days')"
        now = "'2026-01-01 00:00:00.000000'"
        true = "1"
        nights_from = (
            "WITH RECURSIVE d(n) AS (SELECT 0 UNION ALL SELECT n + 1 FROM d WHERE n < 364)"
        )
        nights_src = "listings l CROSS JOIN d"
        photo_name = "printf('%032d', l.id * 3 + p.n)"
    else:
        series = "WITH s(n) AS (SELECT generate_series(1, {}))"
        night = f"DATE '{today.isoformat()}' + d.n"
        now = "TIMESTAMPTZ '2026-01-01 00:00:00+00'"
        true = "true"
        nights_from = "WITH d(n) AS (SELECT generate_series(0, 364))"
        nights_src = "listings l CROSS JOIN d"
        photo_name = "lpad((l.id * 3 + p.n)::text, 32, '0')"
    # A night is blocked in runs of 4 (a stay), with a probability of 1/2 in the summer and
    # 1/5 otherwise: ≈ 100 nights a year. The mix is deterministic so every run sees the same.
    chance = f"CASE WHEN d.n BETWEEN {summer_from} AND {summer_to} THEN 500 ELSE 200 END"
    mix = "((((l.id * 7919) + (d.n / 4) * 104729) % 10007) * 613) % 1000"
    return [
        series.format(AREAS)
        + " INSERT INTO areas (code, name, requires_registration) "
        + "SELECT 'B' || n, 'District ' || n, "
        + ("0" if dialect == "sqlite" else "false")
        + " FROM s",
        series.format(hosts)
        + " INSERT INTO users (email, name, password_hash, locale, is_board, is_municipality,"
        + " session_version, created_at) SELECT 'host' || n || '@bench.example', 'Host ' || n,"
        + " 'x', 'sv', "
        + ("0, 0" if dialect == "sqlite" else "false, false")
        + f", 1, {now} FROM s",
        series.format(size)
        + " INSERT INTO listings (host_id, area_id, title, description, property_type,"
        + " max_guests, nightly_price_ore, cleaning_fee_ore, state, created_at, published_at,"
        + " min_nights, max_nights, advance_notice_days, booking_window_months, is_instant_book)"
        + f" SELECT 1 + (n % {hosts}), 1 + (n % {AREAS}), 'Home ' || n, 'A home to stay in.',"
        + " CASE n % 3 WHEN 0 THEN 'entire_home' WHEN 1 THEN 'private_room'"
        + " ELSE 'shared_room' END, 1 + (n * 7) % 6, 40000 + ((n * 7919) % 2600) * 100,"
        + f" (n % 4) * 10000, 'published', {now}, {now}, 1 + n % 3, 14 + n % 17, n % 3, 12,"
        + f" {true} FROM s",
        f"{nights_from} INSERT INTO blocked_nights (listing_id, night, created_at)"
        + f" SELECT l.id, {night}, {now} FROM {nights_src} WHERE {mix} < {chance}",
        # Three photos a listing (the card shows the first), as a host's page would have.
        "WITH p(n) AS (SELECT 0 UNION ALL SELECT 1 UNION ALL SELECT 2)"
        + " INSERT INTO listing_photos (listing_id, position, token, width, height, alt_text,"
        + f" created_at) SELECT l.id, p.n, {photo_name}, 1600, 1067, 'Photo ' || p.n, {now}"
        + " FROM listings l CROSS JOIN p",
        # One listing in ten asks more on Fridays and Saturdays (its own nightly prices).
        f"{nights_from} INSERT INTO night_prices (listing_id, night, price_ore)"
        + f" SELECT l.id, {night}, l.nightly_price_ore + 20000 FROM {nights_src}"
        + " WHERE l.id % 10 = 0 AND d.n % 7 IN (4, 5)",
    ]


def _upgraded(url: str) -> str:
    """A cached database brought to the current schema (new tables of later features)."""
    from flask_migrate import upgrade

    from rentalcoop.extensions import db

    app = _app(url)
    with app.app_context():
        upgrade()
        db.engine.dispose()
    return url


def build(dialect: str, size: int, rebuild: bool) -> str:
    """The URL of a migrated and filled database of `size` listings (cached)."""
    from flask_migrate import upgrade

    from rentalcoop.extensions import db
    from rentalcoop.listings.pricing import coop_date

    if dialect == "sqlite":
        OUT.mkdir(parents=True, exist_ok=True)
        path = OUT / f"search-{size}.sqlite"
        url = f"sqlite:///{path}"
        if path.exists() and not rebuild:
            return _upgraded(url)
        for suffix in ("", "-wal", "-shm"):
            Path(f"{path}{suffix}").unlink(missing_ok=True)
    else:
        name = f"rc_bench_{size}"
        url = make_url(PG_URL).set(database=name).render_as_string(hide_password=False)
        admin = create_engine(PG_URL, isolation_level="AUTOCOMMIT")
        with admin.connect() as conn:
            exists = conn.scalar(text("SELECT 1 FROM pg_database WHERE datname = :n"), {"n": name})
            if exists and not rebuild:
                admin.dispose()
                return _upgraded(url)
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
            conn.execute(text(f'CREATE DATABASE "{name}"'))
        admin.dispose()
    started = time.perf_counter()
    app = _app(url)
    with app.app_context():
        upgrade()
        with db.engine.begin() as conn:
            for statement in _fill_sql(dialect, size, coop_date()):
                conn.execute(text(statement))
        with db.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
            conn.execute(text("VACUUM ANALYZE" if dialect == "postgresql" else "ANALYZE"))
            nights = conn.scalar(text("SELECT count(*) FROM blocked_nights"))
        db.engine.dispose()
    print(
        f"  built {dialect} {size:>7,} listings, {nights:>10,} blocked nights "
        f"({nights / size:.0f} per listing) in {time.perf_counter() - started:.0f} s",
        flush=True,
    )
    return url


def median_ms(client, path: str, repeat: int) -> tuple[float, float]:
    """Median wall-clock and CPU (this thread) milliseconds of a request.

    CPU time is what the app spends itself; on a machine shared with other work it moves far
    less than wall-clock time. For PostgreSQL it leaves out the server's own work.
    """
    for _ in range(5):
        assert client.get(path).status_code == 200, path
    wall, cpu = [], []
    for _ in range(repeat):
        started, started_cpu = time.perf_counter(), time.thread_time()
        response = client.get(path)
        cpu.append(time.thread_time() - started_cpu)
        wall.append(time.perf_counter() - started)
        assert response.status_code == 200, path
    return statistics.median(wall) * 1000, statistics.median(cpu) * 1000


def measure_inprocess(url: str, repeat: int) -> dict[str, float]:
    from rentalcoop.extensions import db
    from rentalcoop.listings.pricing import coop_date

    app = _app(url)
    check_in, check_out = busy_week(coop_date())
    client = app.test_client()
    search = f"/?check_in={check_in}&check_out={check_out}&guests=2"
    page = client.get(search).get_data(as_text=True)
    first = page.split('data-listing-id="', 1)[1].split('"', 1)[0]
    listing = f"/listings/{first}?check_in={check_in}&check_out={check_out}&guests=2"
    (search_ms, search_cpu), (listing_ms, listing_cpu), (healthz_ms, healthz_cpu) = (
        median_ms(client, path, repeat) for path in (search, listing, "/healthz")
    )
    result = {
        "search": search_ms,
        "listing": listing_ms,
        "healthz": healthz_ms,
        "search_cpu": search_cpu,
        "listing_cpu": listing_cpu,
        "healthz_cpu": healthz_cpu,
        "results": page.count('class="card"'),
        "count": page.split('id="results-heading" class="section-title">', 1)[1]
        .split("<", 1)[0]
        .strip(),
    }
    with app.app_context():
        db.engine.dispose()
    return result


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _wrk(url: str, seconds: int) -> float:
    out = subprocess.run(
        ["wrk", "-t1", "-c16", f"-d{seconds}s", url], capture_output=True, text=True, check=True
    ).stdout
    line = next(line for line in out.splitlines() if line.startswith("Requests/sec"))
    errors = [line for line in out.splitlines() if "Non-2xx" in line or "Socket errors" in line]
    if errors:
        print("   wrk:", "; ".join(errors), flush=True)
    return float(line.split()[1])


def _cpu_seconds(parent: int) -> float:
    """User + system CPU seconds of the gunicorn workers (the children of `parent`)."""
    total, tick = 0.0, os.sysconf("SC_CLK_TCK")
    for pid in os.listdir("/proc"):
        if not pid.isdigit():
            continue
        try:
            fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if int(fields[1]) == parent:
            total += (int(fields[11]) + int(fields[12])) / tick
    return total


def measure_gunicorn(url: str, seconds: int, rounds: int) -> dict[str, list[float]]:
    """Requests/s of `/healthz`, the search page and its first listing page under wrk.

    The routes take turns, `rounds` times, so that load from other work on a shared machine
    falls on all of them alike; each round gives one ratio. Next to requests/s it records the
    workers' own CPU time per request (/proc), which such load disturbs much less.
    """
    from rentalcoop.listings.pricing import coop_date

    if shutil.which("wrk") is None:
        raise SystemExit("wrk is not installed (Debian: apt-get install wrk)")
    port = _free_port()
    env = dict(
        os.environ,
        DATABASE_URL=url,
        RENTALCOOP_ENV="development",  # DEBUG off; template auto-reload off
        SECRET_KEY="benchmark-secret-key-benchmark-secret-key",  # noqa: S106 - local run only
    )
    server = subprocess.Popen(
        [
            str(Path(sys.executable).with_name("gunicorn")),
            "-w",
            "2",
            "-k",
            "sync",
            "-b",
            f"127.0.0.1:{port}",
            "--log-level",
            "warning",  # no access log
            "wsgi:app",
        ],
        cwd=ROOT,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )
    try:
        base = f"http://127.0.0.1:{port}"
        for _ in range(100):
            try:
                with socket.create_connection(("127.0.0.1", port), timeout=0.2):
                    break
            except OSError:
                time.sleep(0.1)
        check_in, check_out = busy_week(coop_date())
        stay = f"check_in={check_in}&check_out={check_out}&guests=2"
        search = f"{base}/?{stay}"
        with urllib.request.urlopen(search, timeout=30) as response:  # noqa: S310 - loopback
            first = response.read().decode().split('data-listing-id="', 1)[1].split('"', 1)[0]
        routes = {
            "trivial": f"{base}/healthz",
            "search": search,
            "listing": f"{base}/listings/{first}?{stay}",
        }
        # Warm-up: each worker's first request loads templates, catalogs and mappers (seconds).
        for _ in range(20):
            for route in routes.values():
                with urllib.request.urlopen(route, timeout=30) as response:  # noqa: S310
                    response.read()
        for route in routes.values():
            _wrk(route, 2)
        found: dict[str, list[float]] = {f"{k}{x}": [] for k in routes for x in ("", "_cpu")}
        for _ in range(rounds):
            for name, route in routes.items():
                cpu = _cpu_seconds(server.pid)
                served = _wrk(route, seconds)
                cpu = _cpu_seconds(server.pid) - cpu
                found[name].append(served)
                found[f"{name}_cpu"].append(cpu * 1000 / (served * seconds))
    finally:
        os.killpg(server.pid, signal.SIGTERM)
        server.wait(timeout=10)
    return found


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--backends", nargs="+", default=["sqlite", "postgresql"])
    parser.add_argument("--sizes", nargs="+", type=int, default=[1_000, 10_000, 100_000])
    parser.add_argument("--repeat", type=int, default=200, help="requests per in-process median")
    parser.add_argument("--wrk-size", type=int, default=10_000, help="dataset for the wrk run")
    parser.add_argument("--wrk-seconds", type=int, default=8)
    parser.add_argument("--wrk-rounds", type=int, default=2, help="turns of the wrk routes")
    parser.add_argument("--rebuild", action="store_true")
    parser.add_argument("--build-only", action="store_true", help="make the databases and stop")
    args = parser.parse_args()
    if args.build_only:
        for dialect in args.backends:
            for size in args.sizes:
                build(dialect, size, args.rebuild)
        return

    from rentalcoop.listings.pricing import coop_date

    check_in, check_out = busy_week(coop_date())
    print(f"City-wide search for {check_in} – {check_out}, 2 guests; cpus: {os.cpu_count()}")
    for dialect in args.backends:
        print(f"\n== {dialect} ==", flush=True)
        results = {}
        for size in args.sizes:
            url = build(dialect, size, args.rebuild)
            results[size] = measure_inprocess(url, args.repeat)
            r = results[size]
            print(
                f"  {size:>7,} listings: search {r['search']:6.2f} ms (cpu {r['search_cpu']:5.2f}; "
                f"{r['results']} cards, {r['count']!r}), listing page {r['listing']:6.2f} ms "
                f"(cpu {r['listing_cpu']:5.2f}), /healthz {r['healthz']:5.2f} ms "
                f"(cpu {r['healthz_cpu']:4.2f})",
                flush=True,
            )
        base = results[args.sizes[0]]
        for size in args.sizes[1:]:
            r = results[size]
            print(
                f"  t({size // 1000}k)/t({args.sizes[0] // 1000}k): search "
                f"{r['search'] / base['search']:.2f} (cpu {r['search_cpu'] / base['search_cpu']:.2f})"
                f", listing page {r['listing'] / base['listing']:.2f} "
                f"(cpu {r['listing_cpu'] / base['listing_cpu']:.2f})"
            )
        for size in args.sizes:
            r = results[size]
            print(
                f"  at {size // 1000}k: t(search)/t(/healthz) {r['search'] / r['healthz']:.1f} "
                f"(cpu {r['search_cpu'] / r['healthz_cpu']:.1f}); t(listing)/t(/healthz) "
                f"{r['listing'] / r['healthz']:.1f} (cpu {r['listing_cpu'] / r['healthz_cpu']:.1f})"
            )
        if args.wrk_size:
            url = build(dialect, args.wrk_size, False)
            served = measure_gunicorn(url, args.wrk_seconds, args.wrk_rounds)
            print(
                f"  gunicorn -w 2 sync + wrk -t1 -c16 -d{args.wrk_seconds}s at "
                f"{args.wrk_size // 1000}k, {args.wrk_rounds} rounds taking turns:"
            )
            for n in range(args.wrk_rounds):
                t, s, p = (served[k][n] for k in ("trivial", "search", "listing"))
                print(
                    f"    round {n + 1}: /healthz {t:,.0f} req/s, search {s:,.0f} req/s "
                    f"(ratio {s / t:.2f}), listing page {p:,.0f} req/s (ratio {p / t:.2f})"
                )
            t, s, p = (sum(served[k]) for k in ("trivial", "search", "listing"))
            tc, sc, pc = (
                statistics.median(served[f"{k}_cpu"]) for k in ("trivial", "search", "listing")
            )
            print(
                f"    all rounds: search/healthz ratio {s / t:.2f}, listing/healthz {p / t:.2f}; "
                f"worker CPU per request: /healthz {tc:.2f} ms, search {sc:.2f} ms "
                f"({tc / sc:.2f}), listing page {pc:.2f} ms ({tc / pc:.2f})",
                flush=True,
            )


if __name__ == "__main__":
    main()

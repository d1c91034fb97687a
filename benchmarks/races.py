"""Two people, one booking, under gunicorn with 4 sync workers (issue 12, acceptance).

For each database (a scratch PostgreSQL database made and dropped here, and a scratch SQLite
file) this migrates the schema, starts the real app under `gunicorn -w 4`, logs the people in
over HTTP (real forms, real CSRF tokens, real session cookies), and fires each pair of
conflicting actions ROUNDS times, both requests released together at a barrier:

- the guest cancels while the board marks the booking paid;
- the guest cancels while Stripe's `checkout.session.completed` arrives (a second server on
  `PAYMENT_PROVIDER=stripe`, with a signed webhook; its outgoing Stripe calls go to a loopback
  port where nothing listens, so refunds stay owed for the job to send);
- the guest and the host cancel a paid stay at once;
- the host accepts a request while the guest cancels it;
- the expiry job runs (in this process) while the board marks the lapsed hold paid;
- a principal revokes a proxy while its holder votes with it.

Then it runs `flask check invariants` on the database and prints, per pair, the answers'
status codes and how many were 5xx, and the violations found.

    .venv/bin/python benchmarks/races.py                      # PostgreSQL and SQLite, 8 rounds
    .venv/bin/python benchmarks/races.py --databases sqlite --rounds 3
    RACES_PG_URL=postgresql+psycopg://postgres@127.0.0.1:5432/postgres  (the default)
"""

from __future__ import annotations

import argparse
import json
import os
import re
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from collections import Counter
from datetime import time as clock
from datetime import timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import requests  # noqa: E402
import stripe  # noqa: E402
from sqlalchemy import create_engine, text  # noqa: E402
from sqlalchemy.engine import make_url  # noqa: E402

from config import DevelopmentConfig  # noqa: E402
from rentalcoop import create_app  # noqa: E402
from rentalcoop.extensions import db  # noqa: E402

PG_ADMIN_URL = os.environ.get(
    "RACES_PG_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/postgres"
)
BIN = ROOT / ".venv" / "bin"
SECRET_KEY = "races-benchmark-" + "x" * 32
WEBHOOK_SECRET = "whsec_races"  # noqa: S105 - a local test secret
CSRF_RE = re.compile(r'name="csrf_token" type="hidden" value="([^"]+)"')
PEOPLE = ("board", "host", "guest", "principal", "holder")


# --- databases -----------------------------------------------------------------------------------


def scratch_postgres() -> tuple[str, callable]:
    admin = create_engine(PG_ADMIN_URL, isolation_level="AUTOCOMMIT")
    name = f"rc_races_{uuid.uuid4().hex[:8]}"
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    url = make_url(PG_ADMIN_URL).set(database=name).render_as_string(hide_password=False)

    def drop():
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()

    return url, drop


def scratch_sqlite() -> tuple[str, callable]:
    folder = Path(tempfile.mkdtemp(prefix="rc_races_"))
    path = folder / "races.sqlite"

    def drop():
        for file in folder.iterdir():
            file.unlink()
        folder.rmdir()

    return f"sqlite:///{path}", drop


def env_for(url: str, **extra) -> dict:
    env = dict(os.environ)
    env.update(
        DATABASE_URL=url,
        SECRET_KEY=SECRET_KEY,
        RENTALCOOP_ENV="development",
        PAYMENT_PROVIDER="manual",
        MAIL_SERVER="",
    )
    env.update(extra)
    return env


def flask(url: str, *args: str) -> subprocess.CompletedProcess:
    return subprocess.run(  # noqa: S603 - our own venv's flask
        [str(BIN / "flask"), "--app", "wsgi", *args],
        cwd=ROOT,
        env=env_for(url),
        capture_output=True,
        text=True,
        check=False,
    )


# --- the server ----------------------------------------------------------------------------------


class Server:
    """`gunicorn -w 4` (sync workers) on a loopback port, stopped by `stop()`."""

    def __init__(self, url: str, port: int, **env):
        self.base = f"http://127.0.0.1:{port}"
        self.log = tempfile.TemporaryFile()
        self.process = subprocess.Popen(  # noqa: S603 - our own venv's gunicorn
            [str(BIN / "gunicorn"), "-w", "4", "-b", f"127.0.0.1:{port}", "wsgi:app"],
            cwd=ROOT,
            env=env_for(url, **env),
            stdout=self.log,
            stderr=subprocess.STDOUT,
        )
        for _ in range(200):
            try:
                if requests.get(self.base + "/healthz", timeout=10).status_code == 200:
                    return
            except requests.RequestException:
                pass
            time.sleep(0.1)
        raise RuntimeError("gunicorn did not start:\n" + self.stop()[-3000:])

    def stop(self) -> str:
        self.process.terminate()
        self.process.wait(20)
        self.log.seek(0)
        return self.log.read().decode(errors="replace")


def logged_in(server: Server, email: str, password: str) -> tuple[requests.Session, str]:
    """A browser session of `email` and its form token."""
    session = requests.Session()
    token = CSRF_RE.search(session.get(server.base + "/login").text).group(1)
    answer = session.post(
        server.base + "/login",
        data={"csrf_token": token, "email": email, "password": password},
        allow_redirects=False,
    )
    if answer.status_code != 303:
        raise RuntimeError(f"log-in of {email} answered {answer.status_code}")
    return session, CSRF_RE.search(session.get(server.base + "/account").text).group(1)


# --- racing --------------------------------------------------------------------------------------


def race(*actions) -> list:
    """Run the actions in threads released at one barrier; their results in order."""
    barrier = threading.Barrier(len(actions))
    results: list = [None] * len(actions)

    def run(i):
        barrier.wait()
        try:
            results[i] = actions[i]()
        except Exception as err:  # noqa: BLE001 - a failed request counts as an error
            results[i] = f"error: {err!r}"

    threads = [threading.Thread(target=run, args=(i,)) for i in range(len(actions))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(120)
    return results


def poster(server, who, path, **data):
    session, token = who
    return lambda: (
        session.post(
            server.base + path,
            data={"csrf_token": token, **data},
            allow_redirects=False,
            timeout=60,
        ).status_code
    )


class Town:
    """The people, the home and a meeting, and the rows each round starts from (made in this
    process, straight through the app's models and services, on the same database)."""

    def __init__(self, url: str, rounds: int):
        self.app = create_app(DevelopmentConfig, SQLALCHEMY_DATABASE_URI=url, MAIL_SERVER=None)
        self.round = 0
        with self.app.app_context():
            from rentalcoop.governance import services as governance
            from rentalcoop.listings.pricing import coop_date
            from tests import factories

            self.password = factories.PASSWORD
            ids = {}
            for who in PEOPLE:
                person = factories.user(
                    email=f"{who}@example.org", board=who == "board", member=who != "guest"
                )
                ids[who] = person.id
            home = factories.listing(
                host=db.session.get(factories.User, ids["host"]),
                nightly_price_ore=100_000,
                cleaning_fee_ore=30_000,
                cancellation_policy="flexible",
                max_nights=30,
            )
            today = coop_date()
            board = db.session.get(factories.User, ids["board"])
            meeting, _ = governance.create_meeting(
                kind="extra",
                format="physical",
                title="Extrastämma",
                starts_at=governance.meeting_start(today, clock(0, 1)),
                venue="Bygdegården",
                by=board,
                today=today - timedelta(weeks=3),
            )
            # Every round's matter is on the notice, which freezes the agenda (issue 14).
            motions = [
                governance.add_motion(
                    meeting,
                    kind="other",
                    title=f"Motion {n + 1}",
                    proposer=board,
                    by_board=True,
                    today=today - timedelta(weeks=3),
                )
                for n in range(rounds)
            ]
            governance.send_notice(meeting, board, on=today - timedelta(weeks=3))
            governance.set_officers(
                meeting, chair=board, secretary=factories.host(), adjusters=[factories.host()]
            )
            db.session.commit()
            self.ids, self.listing_id, self.meeting_id = ids, home.id, meeting.id
            self.motion_ids = [motion.id for motion in motions]

    def booking(self, state: str, *, paid: bool = False, lapsed: bool = False) -> int:
        from rentalcoop.db import utcnow
        from rentalcoop.payments import services as payments
        from tests import factories

        self.round += 1
        with self.app.app_context():
            booking = factories.booking(
                listing=db.session.get(factories.Listing, self.listing_id),
                guest=db.session.get(factories.User, self.ids["guest"]),
                check_in=utcnow().date() + timedelta(days=40 + 4 * self.round),
                state="pending_payment" if paid else state,
                paid=False,
            )
            if paid:
                board = db.session.get(factories.User, self.ids["board"])
                payments.record_payment_succeeded(booking, by=board)
            if lapsed:
                booking.expires_at = utcnow() - timedelta(minutes=1)
            db.session.commit()
            return booking.id

    def proxy_vote(self) -> tuple[int, int]:
        """A motion open for voting and a fresh proxy from the principal to the holder."""
        from rentalcoop.governance import services as governance
        from rentalcoop.governance.models import Meeting, Motion
        from tests import factories

        with self.app.app_context():
            meeting = db.session.get(Meeting, self.meeting_id)
            board = db.session.get(factories.User, self.ids["board"])
            motion = db.session.get(Motion, self.motion_ids.pop(0))
            governance.open_vote(motion, board)
            proxy = governance.grant_proxy(
                meeting,
                db.session.get(factories.User, self.ids["principal"]),
                db.session.get(factories.User, self.ids["holder"]),
                None,
                registered_by=db.session.get(factories.User, self.ids["principal"]),
            )
            db.session.commit()
            return motion.id, proxy.id

    def expire_job(self):
        from rentalcoop.bookings import services

        with self.app.app_context():
            try:
                return f"job expired {services.expire_due()}"
            finally:
                db.session.remove()

    def close(self):
        with self.app.app_context():
            db.engine.dispose()


def checkout_completed(booking_id: int, n: int) -> tuple[bytes, dict]:
    """A signed `checkout.session.completed` for the booking, as Stripe sends it."""
    session_id = f"cs_test_races_{booking_id}"
    body = json.dumps(
        {
            "id": f"evt_races_{booking_id}_{n}",
            "object": "event",
            "api_version": "2026-10-28.endive",
            "created": int(time.time()),
            "type": "checkout.session.completed",
            "livemode": False,
            "data": {
                "object": {
                    "id": session_id,
                    "object": "checkout.session",
                    "payment_status": "paid",
                    "status": "complete",
                    "payment_intent": f"pi_races_{booking_id}",
                    "metadata": {"booking_id": str(booking_id)},
                    "client_reference_id": str(booking_id),
                }
            },
        }
    )
    header = stripe.WebhookSignature.generate_signature_header(body, WEBHOOK_SECRET)
    return body.encode(), {"Stripe-Signature": header, "Content-Type": "application/json"}


def run_database(kind: str, rounds: int, port: int) -> dict:
    url, drop = scratch_postgres() if kind == "postgresql" else scratch_sqlite()
    results: dict[str, Counter] = {}
    try:
        upgraded = flask(url, "db", "upgrade")
        if upgraded.returncode != 0:
            raise RuntimeError(upgraded.stderr)
        town = Town(url, rounds)
        logs = []

        def tally(pair, statuses):
            results.setdefault(pair, Counter()).update(str(s) for s in statuses)

        server = Server(url, port)
        try:
            p = {who: logged_in(server, f"{who}@example.org", town.password) for who in PEOPLE}
            for _ in range(rounds):
                b = town.booking("pending_payment")
                tally(
                    "guest cancel | board marks paid",
                    race(
                        poster(server, p["guest"], f"/bookings/{b}/cancel"),
                        poster(server, p["board"], f"/board/payments/{b}/paid"),
                    ),
                )
            for _ in range(rounds):
                b = town.booking("confirmed", paid=True)
                tally(
                    "guest cancel | host cancel (paid)",
                    race(
                        poster(server, p["guest"], f"/bookings/{b}/cancel"),
                        poster(server, p["host"], f"/bookings/{b}/host-cancel", reason="Läcka"),
                    ),
                )
            for _ in range(rounds):
                b = town.booking("requested")
                tally(
                    "host accept | guest cancel (request)",
                    race(
                        poster(server, p["host"], f"/bookings/{b}/accept"),
                        poster(server, p["guest"], f"/bookings/{b}/cancel"),
                    ),
                )
            for _ in range(rounds):
                b = town.booking("pending_payment", lapsed=True)
                tally(
                    "expire job | board marks paid",
                    race(town.expire_job, poster(server, p["board"], f"/board/payments/{b}/paid")),
                )
            for _ in range(rounds):
                motion_id, proxy_id = town.proxy_vote()
                tally(
                    "proxy vote | proxy revoke",
                    race(
                        poster(
                            server,
                            p["holder"],
                            f"/motions/{motion_id}/vote",
                            **{
                                f"m{motion_id}-choice": "yes",
                                f"m{motion_id}-on_behalf_of": str(town.ids["principal"]),
                            },
                        ),
                        poster(server, p["principal"], f"/proxies/{proxy_id}/revoke"),
                    ),
                )
        finally:
            logs.append(server.stop())

        stripe_server = Server(
            url,
            port + 1,
            PAYMENT_PROVIDER="stripe",
            STRIPE_SECRET_KEY="sk_test_races",  # noqa: S106 - a fake key; calls stay local
            STRIPE_WEBHOOK_SECRET=WEBHOOK_SECRET,
            STRIPE_API_BASE=f"http://127.0.0.1:{port + 8}",  # nothing listens: calls fail fast
        )
        try:
            guest = logged_in(stripe_server, "guest@example.org", town.password)
            for n in range(rounds):
                b = town.booking("pending_payment")
                body, headers = checkout_completed(b, n)
                tally(
                    "guest cancel | checkout.session.completed",
                    race(
                        poster(stripe_server, guest, f"/bookings/{b}/cancel"),
                        lambda body=body, headers=headers: (
                            requests.post(
                                stripe_server.base + "/webhooks/stripe",
                                data=body,
                                headers=headers,
                                timeout=60,
                            ).status_code
                        ),
                    ),
                )
        finally:
            logs.append(stripe_server.stop())
        town.close()
        check = flask(url, "check", "invariants")
        tracebacks = sum(log.count("Traceback") for log in logs)
        return {
            "results": results,
            "check": (check.returncode, (check.stdout + check.stderr).strip()),
            "tracebacks": tracebacks,
        }
    finally:
        drop()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--databases", nargs="+", default=["postgresql", "sqlite"])
    parser.add_argument("--rounds", type=int, default=8)
    parser.add_argument("--port", type=int, default=5101)
    args = parser.parse_args()
    failed = False
    for kind in args.databases:
        started = time.monotonic()
        outcome = run_database(kind, args.rounds, args.port)
        print(f"\n== {kind}: gunicorn -w 4 (sync), {args.rounds} rounds per pair ==")
        print(f"{'pair':45} {'answers':32} 5xx")
        total_5xx = 0
        for pair, statuses in outcome["results"].items():
            errors = sum(
                n
                for s, n in statuses.items()
                if s.startswith("error") or (s.isdigit() and int(s) >= 500)
            )
            total_5xx += errors
            answers = ", ".join(f"{s}×{n}" for s, n in sorted(statuses.items()))
            print(f"{pair:45} {answers:32} {errors}")
        code, report = outcome["check"]
        violations = 0 if code == 0 else max(len(report.splitlines()) - 1, 1)
        print(f"5xx answers: {total_5xx}; tracebacks in the server logs: {outcome['tracebacks']}")
        print(f"flask check invariants (exit {code}): {violations} violation(s)")
        for line in report.splitlines():
            print(f"  {line}")
        print(f"({time.monotonic() - started:.0f} s)")
        failed |= bool(total_5xx or code or outcome["tracebacks"])
    sys.exit(1 if failed else 0)


if __name__ == "__main__":
    main()

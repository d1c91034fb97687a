"""The demo town's whole year of statistics releases, audited and attacked (issue 19;
docs/statistics-disclosure.md). Too long for the test suite (tests/stats/test_demo_year.py
runs three months of it); run once and report.

On a fresh SQLite database with the demo town (`flask demo-data`, which publishes the last
full month), two scenarios, each from that same town:

- **in order**: the demo's release removed, every month of the year published in order,
  with a correction of the fifth month before the sixth (a home that was missed, with a
  stay) and one of the last month at the end;
- **out of order**: the demo's last month first (as loaded), then the other months in
  order except two swapped (July before June), then a correction of the last month.

(A correction is never followed by nothing but months released before it: see
tests/stats/demo_year.py.)

For each release it prints the time (wall and CPU), the share of cells published and the
audit's figures; then the independent attacker (tests/stats/lp_attacker.py, not the
production audit) with every published version of the year: withheld cells checked,
recovered exactly, failing their ±30 % interval outside, failing inside (the cell's largest
host, and the single host of a withheld cell beside it).

    .venv/bin/python benchmarks/stats_demo_year.py
    .venv/bin/python benchmarks/stats_demo_year.py --scenario in-order
"""

from __future__ import annotations

import argparse
import logging
import os
import resource
import shutil
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

from config import TestingConfig  # noqa: E402
from rentalcoop import create_app  # noqa: E402
from rentalcoop.extensions import db  # noqa: E402


def cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def build(path: str) -> tuple[int, int]:
    """A migrated database with the demo town; the year and month of its release."""
    from flask_migrate import upgrade

    from rentalcoop.demo import load_demo_data
    from rentalcoop.stats import services

    app = create_app(TestingConfig, SQLALCHEMY_DATABASE_URI=f"sqlite:///{path}")
    with app.app_context():
        upgrade()
        load_demo_data()
        period = services.previous_month()
        db.engine.dispose()
    return services.parse_period(period)


def scenario(name: str, path: str, year: int, last: int, attack: bool = True) -> bool:
    """Run one scenario on `path`; True when the attack found nothing."""
    from rentalcoop.stats.models import StatsCell, StatsDownload, StatsRelease
    from tests.stats.attack import attack_year
    from tests.stats.demo_year import correct, day_after, publish

    app = create_app(TestingConfig, SQLALCHEMY_DATABASE_URI=f"sqlite:///{path}")
    today = day_after(year, last)
    print(f"\n== {name} ({year}, months 1–{last}) ==")
    with app.app_context():
        if name == "in-order":
            for model in (StatsDownload, StatsCell, StatsRelease):
                db.session.execute(db.delete(model))
            db.session.commit()
            steps = [(m, False) for m in range(1, last + 1)]
            if last > 5:
                steps.insert(5, (5, True))
            steps.append((last, True))
        else:
            rest = list(range(1, last))
            if len(rest) >= 7:
                rest[5], rest[6] = rest[6], rest[5]  # July before June
            steps = [(m, False) for m in rest] + [(last, True)]
        total_wall = total_cpu = 0.0
        for month, is_correction in steps:
            wall, used = time.perf_counter(), cpu()
            release = correct(year, month, today) if is_correction else publish(year, month, today)
            wall, used = time.perf_counter() - wall, cpu() - used
            total_wall += wall
            total_cpu += used
            a = release.audit
            print(
                f"{year}-{month:02d} v{release.version}: {wall:5.1f} s (cpu {used:5.1f} s), "
                f"published {a['cells_published']}/{a['cells']} "
                f"({a['cells_published'] / a['cells']:.1%}), {a['checks']} checks, "
                f"{a['lp_solved']} LPs, failing {a['failing']}, narrowest {a['narrowest_share']}",
                flush=True,
            )
        print(f"releases: {total_wall:.1f} s (cpu {total_cpu:.1f} s)")
        if not attack:
            return True
        wall, used = time.perf_counter(), cpu()
        found = attack_year(year)
        wall, used = time.perf_counter() - wall, cpu() - used
        print(
            f"attack with every version: {wall:.1f} s (cpu {used:.1f} s); "
            f"{found.checked} withheld cell-measures checked; exact {len(found.exact)}, "
            f"failing outside {len(found.outside)}, failing inside {len(found.inside)}"
        )
        for item in (found.exact + found.outside + found.inside)[:10]:
            print("  ", item)
        db.engine.dispose()
    return not found


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--scenario", choices=("in-order", "out-of-order", "both"), default="both")
    parser.add_argument("--no-attack", action="store_true", help="the releases only")
    args = parser.parse_args()
    logging.getLogger("alembic").setLevel(logging.WARNING)
    with tempfile.TemporaryDirectory() as tmp:
        base = os.path.join(tmp, "demo.sqlite")
        wall = time.perf_counter()
        year, last = build(base)
        print(f"demo town loaded in {time.perf_counter() - wall:.1f} s")
        names = ("in-order", "out-of-order") if args.scenario == "both" else (args.scenario,)
        safe = True
        for name in names:
            path = os.path.join(tmp, f"{name}.sqlite")
            shutil.copy(base, path)
            safe = scenario(name, path, year, last, not args.no_attack) and safe
    print("\nacceptance:", "0 exact, 0 outside, 0 inside" if safe else "ATTACK SUCCEEDED")
    sys.exit(0 if safe else 1)


if __name__ == "__main__":
    main()

"""Statistics release audit benchmark (issue 19; docs/statistics-disclosure.md).

A synthetic town of 40 districts with 40 listings each (1,600 units: 60 % entire homes, 30 %
private rooms, 10 % shared rooms; one host in ten with a second home; random stays all year),
built in memory. For a month of the year it plans a release exactly as `flask stats release`
does (primary rules, secondary suppression, the LP audit and more suppression until it
passes, every earlier month of the year an unknown), and prints in one run:

- the time to compute the cells alone and the time of the whole plan, and their ratio;
- the LP audit's figures (cells and checks, insider checks, LPs solved, the narrowest
  interval as a share of its protection level, failures);
- the share of cells published.

- with `--repeat N`, the plan N times over (each from scratch), so that run-to-run spread
  shows in one run; the figures above are the median's.

    .venv/bin/python benchmarks/stats_audit.py                 # March, three times
    .venv/bin/python benchmarks/stats_audit.py --month 6 --districts 40 --per-district 40
"""

from __future__ import annotations

import argparse
import os
import random
import statistics
import sys
import time
from datetime import date, timedelta

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

from rentalcoop.stats import services  # noqa: E402
from rentalcoop.stats.disclosure import Rules  # noqa: E402
from rentalcoop.stats.services import Unit  # noqa: E402

YEAR = 2026


def town(districts: int, per_district: int, seed: int = 19) -> tuple[list[str], list[Unit]]:
    """Districts D01…, each with `per_district` listings of random hosts and types."""
    rng = random.Random(seed)
    areas = [f"D{n:02d}" for n in range(1, districts + 1)]
    units: list[Unit] = []
    host = 0
    for area in areas:
        for n in range(per_district):
            if n % 10 != 9:  # one host in ten has a second home here
                host += 1
            ptype = rng.choices(("entire_home", "private_room", "shared_room"), weights=(6, 3, 1))[
                0
            ]
            unit = Unit(area, ptype, host, date(YEAR - 1, 6, 1), None)
            day = date(YEAR, 1, 1) + timedelta(days=rng.randrange(0, 20))
            while day.year == YEAR:
                nights = rng.choice((1, 2, 2, 3, 4, 7))
                unit.stays.append((day, nights))
                guests = rng.randint(1, 4)
                for d in range(nights):
                    night = day + timedelta(days=d)
                    if night.year == YEAR:
                        unit.guests_by_night[night] = guests
                day += timedelta(days=nights + rng.randrange(1, 25))
            units.append(unit)
    return areas, units


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--month", type=int, default=3)
    parser.add_argument("--districts", type=int, default=40)
    parser.add_argument("--per-district", type=int, default=40)
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    areas, units = town(args.districts, args.per_district)
    period = f"{YEAR}-{args.month:02d}"

    started = time.perf_counter()
    services.compute_cells(units, YEAR, args.month, areas)
    cells_s = time.perf_counter() - started

    times = []
    for _ in range(max(1, args.repeat)):
        started = time.perf_counter()
        plan = services.plan_from(period, Rules(), areas, units, [])
        times.append(time.perf_counter() - started)
    plan_s = statistics.median(times)

    summary = plan.summary()
    print(f"town: {args.districts} districts × {args.per_district} listings, release {period}")
    print("plans: " + ", ".join(f"{t:.2f} s" for t in times))
    print(f"cells alone: {cells_s:.2f} s; plan with the LP audit: {plan_s:.2f} s (median)")
    print(f"ratio plan / cells: {plan_s / cells_s:.1f}")
    print(
        "audit: {cells_checked} cells, {checks} checks ({insider_checks} insider), "
        "{lp_solved} LPs, narrowest share {narrowest_share}, failing {failing}".format(**summary)
    )
    share = summary["cells_published"] / summary["cells"]
    print(f"published: {summary['cells_published']} of {summary['cells']} cells ({share:.0%})")


if __name__ == "__main__":
    main()

"""What one repeating event costs to read, against a plain 50-event feed (issue 13).

In one run, each feed is parsed over the two-year sync horizon `--repeat` times and the best
CPU time is kept:

- a plain feed of 50 all-day stays (the size of a busy Airbnb listing's feed);
- one open-ended `FREQ=HOURLY` series (a 161-byte feed kept the old sync busy for minutes);
- one open-ended daily all-day series;
- one rule listing every hour, minute and second of the day;
- one open-ended daily series that started in 1990 (only the window may be expanded).

Printed: CPU ms, occurrences expanded and the ratio to the plain feed; the goal is ≤ 40× each.
The suite asserts the same bound by counting occurrences (tests/calendar/test_ical_recurrence.py).

    .venv/bin/python benchmarks/calendar_parse_cost.py
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from datetime import date, timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

SINCE = date(2026, 12, 1)
UNTIL = date(2028, 12, 1)


def feed(*events: str) -> bytes:
    body = "".join(
        "BEGIN:VEVENT\r\nDTSTAMP:20261201T000000Z\r\n"
        + e.replace("\n", "\r\n")
        + "\r\nEND:VEVENT\r\n"
        for e in events
    )
    return (
        "BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:-//bench//EN\r\n" + body + "END:VCALENDAR\r\n"
    ).encode()


def plain(events: int = 50) -> bytes:
    stays = []
    for n in range(events):
        first = SINCE + timedelta(days=5 + 9 * n)
        stays.append(
            f"UID:stay-{n}@airbnb.com\nSUMMARY:Reserved\n"
            f"DTSTART;VALUE=DATE:{first:%Y%m%d}\nDTEND;VALUE=DATE:{first + timedelta(days=3):%Y%m%d}"
        )
    return feed(*stays)


def every(name: str, values: range) -> str:
    return f"{name}=" + ",".join(map(str, values))


CASES = {
    "hourly open-ended": feed("UID:h\nDTSTART:20261201T000000Z\nDURATION:PT1H\nRRULE:FREQ=HOURLY"),
    "daily all-day open-ended": feed(
        "UID:d\nDTSTART;VALUE=DATE:20261201\nDTEND;VALUE=DATE:20261202\nRRULE:FREQ=DAILY"
    ),
    "every hour, minute and second": feed(
        "UID:s\nDTSTART:20261201T000000Z\nRRULE:FREQ=DAILY;"
        + ";".join(
            (every("BYHOUR", range(24)), every("BYMINUTE", range(60)), every("BYSECOND", range(60)))
        )
    ),
    "daily since 1990": feed("UID:o\nDTSTART;VALUE=DATE:19900101\nRRULE:FREQ=DAILY"),
}


def cost(data: bytes, repeat: int) -> tuple[float, int]:
    from rentalcoop.calendar.ical import parse_feed

    best, occurrences = float("inf"), 0
    for _ in range(repeat):
        started = time.process_time()
        result = parse_feed(data, "Europe/Stockholm", since=SINCE, until=UNTIL)
        best = min(best, time.process_time() - started)
        occurrences = result.occurrences
    return best, occurrences


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args()
    cost(plain(), 1)  # warm up imports and caches
    base, base_occurrences = cost(plain(), args.repeat)
    print(
        f"{os.cpu_count()} CPUs, load average {os.getloadavg()[0]:.1f}; best of {args.repeat}; "
        f"window {SINCE} .. {UNTIL}"
    )
    print(f"{'feed':32} {'CPU ms':>8} {'occurrences':>12} {'× plain':>8}")
    print(f"{'plain, 50 stays':32} {base * 1000:>8.1f} {base_occurrences:>12} {1:>8.1f}")
    worst = 0.0
    for name, data in CASES.items():
        seconds, occurrences = cost(data, args.repeat)
        ratio = seconds / base
        worst = max(worst, ratio)
        print(f"{name:32} {seconds * 1000:>8.1f} {occurrences:>12} {ratio:>8.1f}")
    print(f"worst ratio {worst:.1f}x (goal <= 40x)")


if __name__ == "__main__":
    main()

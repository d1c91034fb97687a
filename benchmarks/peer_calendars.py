"""Compare `blocked_nights` with recurring-ical-events on other projects' test calendars (issue 13).

Give it folders of .ics files (for example the test calendars of niccokunzmann/
python-recurring-ical-events and collective/icalendar, checked out anywhere; nothing of theirs is
kept here). For every file it computes, over a two-year window starting at the file's first
event (our sync horizon):

- ours: `blocked_nights(data, tz, since=…, until=…)`;
- the peer's: `recurring_ical_events.of(calendar).between(since, until)`, each occurrence turned
  into nights by the rules of DESIGN §8 (DATE: start ≤ night < end, one night when the end is
  not after the start; DATE-TIME: local start date ≤ night < local end date, one night on the
  same date; `STATUS:CANCELLED` blocks nothing; floating times are the listing's wall time);

and prints the files that differ with the nights only one side blocks. With `--corrupt`, it
also breaks one property at a time (its value replaced by garbage, then its parameters) in
every VEVENT of every file and counts what `blocked_nights` raises: anything but `FeedError` is
a crash.

    .venv/bin/python benchmarks/peer_calendars.py /tmp/peers/rie/calendars /tmp/peers/icalendar
    .venv/bin/python benchmarks/peer_calendars.py --corrupt --max-lines 80 FOLDER ...
"""

from __future__ import annotations

import argparse
import re
import sys
import traceback
from collections import Counter
from datetime import date, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

TZ = "Europe/Stockholm"
DAY = timedelta(days=1)


def window(data: bytes) -> tuple[date, date] | None:
    """Two years from the earliest DTSTART date in the file (None without any)."""
    days = []
    for match in re.finditer(rb"^DTSTART[^:\r\n]*:(\d{8})", data, re.MULTILINE):
        try:
            days.append(datetime.strptime(match[1].decode(), "%Y%m%d").date())
        except ValueError:
            continue
    days = [d for d in days if 1900 < d.year < 9000]
    if not days:
        return None
    since = min(days) - 7 * DAY
    return since, since.replace(year=since.year + 2) if not (
        since.month == 2 and since.day == 29
    ) else date(since.year + 2, 3, 1)


def _local(value, zone: ZoneInfo):
    if isinstance(value, datetime):
        if value.tzinfo is None:
            return value.replace(tzinfo=zone)
        return value.astimezone(zone)
    return value


def peer_nights(data: bytes, since: date, until: date) -> set[date]:
    import icalendar
    import recurring_ical_events

    zone = ZoneInfo(TZ)
    calendar = icalendar.Calendar.from_ical(data)
    result: set[date] = set()
    for event in recurring_ical_events.of(calendar).between(since, until):
        if str(event.get("STATUS", "")).upper() == "CANCELLED" or "DTSTART" not in event:
            continue
        start = _local(event["DTSTART"].dt, zone)
        end = _local(event["DTEND"].dt, zone) if event.get("DTEND") is not None else start
        if isinstance(start, datetime) and isinstance(end, datetime):
            if end < start:
                continue
            first, stop = start.date(), end.date()
        else:
            first = start.date() if isinstance(start, datetime) else start
            stop = end.date() if isinstance(end, datetime) else end
            if stop < first:
                continue
        stop = max(stop, first + DAY)
        night = max(first, since)
        while night < min(stop, until):
            result.add(night)
            night += DAY
    return result


def compare(files: list[Path]) -> None:
    from rentalcoop.calendar.ical import FeedError, blocked_nights

    counts = Counter()
    for path in files:
        data = path.read_bytes()
        span = window(data) or (date(2026, 1, 1), date(2028, 1, 1))
        try:
            theirs = peer_nights(data, *span)
        except Exception as err:  # noqa: BLE001 - the peer refuses some of its own files
            theirs = err
        try:
            ours = blocked_nights(data, TZ, since=span[0], until=span[1])
        except FeedError:
            ours = "FeedError"
        except Exception:  # noqa: BLE001 - reported
            counts["crash"] += 1
            print(f"CRASH {path.name}\n{traceback.format_exc(limit=3)}")
            continue
        if isinstance(theirs, Exception):
            counts["peer fails"] += 1
            print(f"peer fails  {path.name}: {type(theirs).__name__}; ours: {_short(ours)}")
            continue
        if ours == theirs:
            counts["match"] += 1
            continue
        counts["differ"] += 1
        if isinstance(ours, str):
            print(f"DIFFER {path.name}: ours {ours}, peer {len(theirs)} nights")
            continue
        only_ours, only_theirs = sorted(ours - theirs), sorted(theirs - ours)
        print(
            f"DIFFER {path.name} [{span[0]}..{span[1]}): ours {len(ours)}, peer {len(theirs)}; "
            f"only ours {len(only_ours)} {_days(only_ours)}; "
            f"only peer {len(only_theirs)} {_days(only_theirs)}"
        )
    total = sum(counts[k] for k in ("match", "differ", "peer fails", "crash"))
    print(
        f"{len(files)} files: match {counts['match']} of {total}, differ {counts['differ']}, "
        f"peer cannot read {counts['peer fails']}, crashes {counts['crash']}"
    )


def _short(value) -> str:
    return value if isinstance(value, str) else f"{len(value)} nights"


def _days(days: list[date]) -> str:
    shown = ", ".join(d.isoformat() for d in days[:4])
    return f"[{shown}{', …' if len(days) > 4 else ''}]"


_GARBAGE = ("\x7f!!garbage;;,,", "")


def corruptions(text: str, max_lines: int):
    """Copies of `text` with one VEVENT property line broken: its value, then its parameters."""
    lines = text.replace("\r\n ", "").replace("\n ", "").splitlines()
    inside, candidates = False, []
    for i, line in enumerate(lines):
        if line.startswith("BEGIN:VEVENT"):
            inside = True
        elif line.startswith("END:VEVENT"):
            inside = False
        elif inside and ":" in line and not line.startswith(("BEGIN:", "END:")):
            candidates.append(i)
    if len(candidates) > max_lines:
        step = len(candidates) / max_lines
        candidates = [candidates[int(n * step)] for n in range(max_lines)]
    for i in candidates:
        name_params, _, value = lines[i].partition(":")
        name = name_params.split(";")[0]
        for replacement in (
            f"{name_params}:{_GARBAGE[0]}",
            f"{name_params}:{_GARBAGE[1]}",
            f"{name};VALUE=DATE;TZID=Nowhere/Else;RANGE=BOGUS:{value}",
        ):
            yield name, "\r\n".join([*lines[:i], replacement, *lines[i + 1 :]]) + "\r\n"


def corrupt(files: list[Path], max_lines: int) -> None:
    from rentalcoop.calendar.ical import FeedError, blocked_nights

    counts, crashes = Counter(), Counter()
    for path in files:
        text = path.read_bytes().decode("utf-8", errors="replace")
        span = window(text.encode()) or (date(2026, 1, 1), date(2028, 1, 1))
        for name, variant in corruptions(text, max_lines):
            counts["variants"] += 1
            try:
                blocked_nights(variant.encode(), TZ, since=span[0], until=span[1])
                counts["nights"] += 1
            except FeedError:
                counts["FeedError"] += 1
            except Exception as err:  # noqa: BLE001 - counted
                crashes[(path.name, name, type(err).__name__)] += 1
    for (file, name, kind), n in sorted(crashes.items()):
        print(f"CRASH {file} {name}: {kind} ×{n}")
    print(
        f"{counts['variants']} one-property corruptions: nights {counts['nights']}, "
        f"FeedError {counts['FeedError']}, other exceptions {sum(crashes.values())}"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("folders", nargs="+", type=Path)
    parser.add_argument("--corrupt", action="store_true", help="also break one property at a time")
    parser.add_argument("--max-lines", type=int, default=60, help="properties broken per file")
    args = parser.parse_args()
    for folder in args.folders:
        files = sorted(folder.rglob("*.ics"))
        print(f"== {folder} ({len(files)} files)")
        compare(files)
        if args.corrupt:
            corrupt(files, args.max_lines)


if __name__ == "__main__":
    main()

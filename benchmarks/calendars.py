"""Calendars import benchmark: a clinician's 2,000-event calendar imported at the 20k clinic.

    python benchmarks/calendars.py [--runs 5] [--keep DIR]

The clinic is benchmarks/availability.py's "20k" one (50 clinicians, 20,000 appointments in
the 30 days queried, random ids). The calendar (made with `icalendar`) has 2,000 events of
one clinician over two years around the clock's day, as a personal calendar exported from a
calendar program holds them: 200 weekly series without end (a standing meeting, a school
run) and 1,800 single events, 30 to 90 minutes, in Europe/London with its VTIMEZONE.

It prints the median time of `import_calendar` (parse, expand over its year, replace the
source's rows; target under 2 s), and the 30-day availability query after the import
(in-process, and as a process beside a bare `python -c "import sqlalchemy.orm"` process as
benchmarks/availability.py measures it; target ratio <= 1.7).
"""

from __future__ import annotations

import argparse
import random
import sqlite3
import statistics
import tempfile
import time
from datetime import datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import icalendar
from availability import NOW, QUERY, build, in_process, process_times
from installed import compile_like_an_install

from frontdesk.clock import FakeClock
from frontdesk.services.calendars import import_calendar
from frontdesk.services.context import Context

CLINICIAN = "cli_00"  # London
EVENTS, WEEKLY = 2_000, 200


def make_calendar(path: Path, seed: int = 1) -> None:
    rng = random.Random(seed)
    london = ZoneInfo("Europe/London")
    cal = icalendar.Calendar()
    cal.add("prodid", "-//frontdesk benchmark//EN")
    cal.add("version", "2.0")
    cal.add_component(icalendar.Timezone.from_tzid("Europe/London"))
    first = datetime(NOW.year - 1, NOW.month, 1, tzinfo=london)
    for i in range(EVENTS):
        event = icalendar.Event()
        event.add("uid", f"{i:05d}-{rng.getrandbits(64):016x}@example.com")
        event.add("dtstamp", NOW)
        event.add("summary", f"Private {i}")
        start = first + timedelta(days=rng.randrange(730), minutes=7 * 60 + 15 * rng.randrange(48))
        event.add("dtstart", start)
        event.add("dtend", start + timedelta(minutes=rng.choice((30, 45, 60, 90))))
        if i < WEEKLY:
            event.add("rrule", {"freq": "weekly"})
        cal.add_component(event)
    path.write_bytes(cal.to_ical())


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--runs", type=int, default=5, help="runs per measurement (the median is printed)")
    parser.add_argument("--keep", type=Path, help="build the database in this folder and keep it")
    args = parser.parse_args()
    compile_like_an_install()

    folder = args.keep or Path(tempfile.mkdtemp(prefix="frontdesk-bench-"))
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / "bench-20k.db"
    if not path.exists():
        t0 = time.perf_counter()
        build(path, 0)
        print(f"built {path} (20k appointments) in {time.perf_counter() - t0:.1f} s", flush=True)
    with sqlite3.connect(path) as conn:  # a kept database: the last run's import undone
        conn.execute("DELETE FROM external_busy")
    query_before, slots_before = in_process(path, args.runs)

    calendar = folder / "private.ics"
    make_calendar(calendar)
    ctx = Context.open(f"sqlite:///{path}", clock=FakeClock(NOW), operator="bench")
    times, cpu, report = [], [], None
    for _ in range(args.runs):  # each run replaces the last one's rows, as a sync does
        t0, c0 = time.perf_counter(), time.process_time()
        report = import_calendar(ctx, CLINICIAN, calendar, source="private")
        times.append((time.perf_counter() - t0) * 1000)
        cpu.append((time.process_time() - c0) * 1000)
    ctx.db.dispose()
    assert report is not None
    print(
        f"import: {statistics.median(times):7.1f} ms median, worst {max(times):.1f} ms (target < 2000), "
        f"CPU {statistics.median(cpu):.0f} ms | "
        f"{calendar.stat().st_size // 1024} KiB, {report.events} events, {report.busy_periods} busy periods "
        f"from {report.horizon_start:%Y-%m-%d} to {report.horizon_end:%Y-%m-%d}",
        flush=True,
    )
    query_ms, slots = in_process(path, args.runs)
    (bare, bare_cpu), _get, (process_ms, process_cpu) = process_times(path, args.runs).values()
    print(
        f"availability 30 days ({QUERY.start_date} to {QUERY.end_date}): in-process {query_before:.1f} ms "
        f"({slots_before} slots) before the import, {query_ms:.1f} ms ({slots} slots) after | "
        f"availability process {process_ms:.1f} ms | import sqlalchemy.orm process {bare:.1f} ms | "
        f"ratio {process_ms / bare:.2f} (as benchmarks/availability.py: target <= 1.7) | "
        f"CPU ratio {process_cpu / bare_cpu:.2f}",
        flush=True,
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

"""Availability benchmark: a synthetic clinic, a 30-day NONE query, medians.

    python benchmarks/availability.py [--runs 7] [--keep DIR]

Builds two SQLite databases with bulk inserts (SQLAlchemy Core executemany):
50 clinicians at 3 sites in London, New York and Sydney (Mon-Fri 08:00-18:00 local, a
recurring lunch block), a 15-minute type on a 5-minute grid, and

- "20k":  20,000 appointments in the 30 days queried;
- "200k": the same 20,000 plus 180,000 in the months before (the history).

It prints the median time of the 30-day `round_robin=NONE` query in-process, and of whole
processes run in turn: a bare `python -c "import sqlalchemy.orm"` (what any SQLAlchemy
program pays to start), a trivial `frontdesk appointments get` and the 30-day `frontdesk
availability`, with issue #16's targets: `appointments get` <= 1.5x the bare import,
`availability` <= 1.7x, and the 200k query <= 1.2x the 20k one.
"""

from __future__ import annotations

import argparse
import random
import resource
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

from installed import compile_like_an_install
from sqlalchemy import insert

from frontdesk.clock import FakeClock
from frontdesk.domain.blocks import block_span
from frontdesk.domain.statuses import ACTIVE_APPOINTMENT_STATUSES
from frontdesk.services.availability import query_availability
from frontdesk.services.context import Context
from frontdesk.services.objects import AvailabilityQuery
from frontdesk.store.models import (
    Appointment,
    AppointmentType,
    Block,
    BusyTime,
    Clinic,
    Location,
    Resource,
    ScheduleRule,
    appointment_resources,
    type_clinicians,
    type_locations,
)

SITES = [
    ("loc_london", "London", "Europe/London"),
    ("loc_newyork", "New York", "America/New_York"),
    ("loc_sydney", "Sydney", "Australia/Sydney"),
]
CLINICIANS = 50
TYPE_ID = "type_quick"
FIRST_DAY = date(2025, 2, 3)  # a Monday; the query runs 30 days from here
DAYS = 30
NOW = datetime(2025, 2, 1, tzinfo=UTC)
QUERY = AvailabilityQuery(
    appointment_type_id=TYPE_ID,
    start_date=FIRST_DAY.isoformat(),
    end_date=(FIRST_DAY + timedelta(days=DAYS - 1)).isoformat(),
    round_robin="NONE",
)
OPEN, CLOSE = 8 * 60, 18 * 60  # working hours, minutes since local midnight
QUARTERS_PER_DAY = (CLOSE - OPEN) // 15


def clinician_site(index: int) -> tuple[str, str, str]:
    return SITES[index % len(SITES)]


def working_quarters(first: date, days: int, tz: ZoneInfo) -> list[datetime]:
    """Every 15-minute start in working hours on weekdays, as UTC instants."""
    out = []
    for n in range(days):
        day = first + timedelta(days=n)
        if day.weekday() >= 5:
            continue
        midnight = datetime(day.year, day.month, day.day)
        for q in range(QUARTERS_PER_DAY):
            local = midnight + timedelta(minutes=OPEN + 15 * q)
            out.append(local.replace(tzinfo=tz).astimezone(UTC))
    return out


def build(path: Path, history: int, seed: int = 1) -> None:
    """A synthetic clinic with 20,000 appointments in the window and `history` before it."""
    rng = random.Random(seed)
    ctx = Context.open(f"sqlite:///{path}", clock=FakeClock(NOW), operator="bench")
    engine = ctx.db.engine
    with engine.begin() as conn:
        conn.execute(insert(Clinic.__table__), [{"id": 1, "name": "Benchmark Clinic", "hold_minutes": 15}])
        conn.execute(insert(Location.__table__), [{"id": i, "name": n, "timezone": z} for i, n, z in SITES])
        conn.execute(
            insert(Resource.__table__),
            [
                {"id": f"cli_{i:02d}", "kind": "clinician", "name": f"Clinician {i:02d}", "timezone": None,
                 "location_id": None}
                for i in range(CLINICIANS)
            ],
        )
        conn.execute(
            insert(AppointmentType.__table__),
            [{"id": TYPE_ID, "name": "Quick check", "duration_minutes": 15, "interval_minutes": 5,
              "padding_before_minutes": 0, "padding_after_minutes": 0, "duration_options": [],
              "min_notice_minutes": 0, "capacity": 1, "modes": ["in_person"]}],
        )
        conn.execute(insert(type_locations), [{"appointment_type_id": TYPE_ID, "location_id": s[0]} for s in SITES])
        conn.execute(
            insert(type_clinicians),
            [{"appointment_type_id": TYPE_ID, "clinician_id": f"cli_{i:02d}"} for i in range(CLINICIANS)],
        )
        rules, blocks = [], []
        for i in range(CLINICIANS):
            site, _, zone = clinician_site(i)
            rules.append({"key": f"rule_{i}", "clinician_id": f"cli_{i:02d}", "location_id": site, "remote": False,
                          "weekdays": [0, 1, 2, 3, 4], "start_minute": OPEN, "end_minute": CLOSE,
                          "valid_from": None, "valid_until": None})
            start, end = datetime(2024, 1, 1, 12, 30), datetime(2024, 1, 1, 13, 15)
            rule = "FREQ=WEEKLY;BYDAY=MO,TU,WE,TH,FR"
            span = block_span(start, end, rule, ZoneInfo(zone))
            blocks.append({"key": f"lunch_{i}", "resource_id": f"cli_{i:02d}", "start_local": start,
                           "end_local": end, "rrule": rule, "reason": "Lunch",
                           "span_start": span[0], "span_end": span[1]})
        conn.execute(insert(ScheduleRule.__table__), rules)
        conn.execute(insert(Block.__table__), blocks)

        def appointments(first: date, days: int, per_clinician: int, statuses: list[str], prefix: str):
            rows, links, busy = [], [], []
            for i in range(CLINICIANS):
                site, _, zone = clinician_site(i)
                quarters = working_quarters(first, days, ZoneInfo(zone))
                for n, start in enumerate(sorted(rng.sample(quarters, min(per_clinician, len(quarters))))):
                    # Random ids, as the product writes them: clustered ones flatter the reads.
                    aid = f"apt_{uuid.UUID(int=rng.getrandbits(128), version=4)}"
                    end = start + timedelta(minutes=15)
                    status = rng.choice(statuses)
                    rows.append({"id": aid, "patient_id": None, "clinician_profile_id": f"cli_{i:02d}",
                                 "title": "Quick check", "start_time": start, "end_time": end,
                                 "status": status, "appointment_type_id": TYPE_ID,
                                 "location_id": site, "is_remote": False, "duration_minutes": 15,
                                 "booking_source": "bench", "created_at": NOW, "updated_at": NOW})
                    links.append({"appointment_id": aid, "resource_id": f"cli_{i:02d}"})
                    if status in ACTIVE_APPOINTMENT_STATUSES:  # only active bookings take time
                        busy.append({"resource_id": f"cli_{i:02d}", "busy_start": start, "busy_end": end,
                                     "appointment_id": aid, "appointment_type_id": TYPE_ID, "booked_start": start,
                                     "share_key": aid, "exempt": False})
            for chunk in range(0, len(rows), 20_000):
                conn.execute(insert(Appointment.__table__), rows[chunk : chunk + 20_000])
                conn.execute(insert(appointment_resources), links[chunk : chunk + 20_000])
            for chunk in range(0, len(busy), 20_000):
                conn.execute(insert(BusyTime.__table__), busy[chunk : chunk + 20_000])
            return len(rows)

        made = appointments(FIRST_DAY, DAYS, 20_000 // CLINICIANS, ["confirmed"] * 9 + ["pending"], "apt")
        assert made == 20_000, made
        if history:
            # The months before the window, dense enough to hold the history.
            weeks = -(-history // (CLINICIANS * 5 * QUARTERS_PER_DAY // 2))
            first = FIRST_DAY - timedelta(weeks=weeks)
            made += appointments(first, weeks * 7, history // CLINICIANS,
                                 ["completed"] * 8 + ["cancelled", "no_show"], "old")
    ctx.db.dispose()


def median_ms(fn, runs: int) -> float:
    times = []
    for _ in range(runs):
        t0 = time.perf_counter()
        fn()
        times.append((time.perf_counter() - t0) * 1000)
    return statistics.median(times)


def in_process(path: Path, runs: int) -> tuple[float, int]:
    ctx = Context.open(f"sqlite:///{path}", clock=FakeClock(NOW), operator="bench")
    count = len(query_availability(ctx, QUERY).slots)  # warm up the connection and caches
    ms = median_ms(lambda: query_availability(ctx, QUERY), runs)
    ctx.db.dispose()
    return ms, count


def an_appointment_id(path: Path) -> str:
    """An id that exists: the trivial process must find its appointment (ids are random)."""
    with sqlite3.connect(path) as conn:
        return conn.execute("SELECT min(id) FROM appointments").fetchone()[0]


def process_times(path: Path, runs: int) -> dict[str, tuple[float, float]]:
    """Median wall-clock and CPU ms (user + system) of three processes run in turn: a bare
    `python -c "import sqlalchemy.orm"` (what any SQLAlchemy program pays to start), a
    trivial `frontdesk appointments get` and the 30-day `frontdesk availability`. Run
    interleaved, so drift in the machine's speed hits all three alike; the CPU times say the
    same thing when other work on the machine makes wall-clock times drift."""
    base = [sys.executable, "-m", "frontdesk", "--db", str(path), "--now", NOW.isoformat()]
    commands = {
        "import sqlalchemy.orm": [sys.executable, "-c", "import sqlalchemy.orm"],
        "appointments get": base + ["appointments", "get", an_appointment_id(path)],
        "availability": base + ["availability", "--appointment-type", TYPE_ID, "--start-date", QUERY.start_date,
                                "--end-date", QUERY.end_date, "--round-robin", "NONE"],
    }

    def run(cmd) -> tuple[float, float]:
        before = resource.getrusage(resource.RUSAGE_CHILDREN)
        t0 = time.perf_counter()
        done = subprocess.run(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        wall = (time.perf_counter() - t0) * 1000
        after = resource.getrusage(resource.RUSAGE_CHILDREN)
        if done.returncode != 0:
            raise SystemExit(f"{' '.join(cmd)} failed: {done.stderr.decode()[-2000:]}")
        return wall, (after.ru_utime - before.ru_utime + after.ru_stime - before.ru_stime) * 1000

    for cmd in commands.values():
        run(cmd)  # warm the page cache
    times: dict[str, list[tuple[float, float]]] = {name: [] for name in commands}
    for _ in range(runs):
        for name, cmd in commands.items():
            times[name].append(run(cmd))
    return {name: (statistics.median(w for w, _ in pairs), statistics.median(c for _, c in pairs))
            for name, pairs in times.items()}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--runs", type=int, default=7, help="runs per measurement (the median is printed)")
    parser.add_argument("--keep", type=Path, help="build the databases in this folder and keep them")
    args = parser.parse_args()
    compile_like_an_install()

    folder = args.keep or Path(tempfile.mkdtemp(prefix="frontdesk-bench-"))
    folder.mkdir(parents=True, exist_ok=True)
    results = {}
    for name, history in (("20k", 0), ("200k", 180_000)):
        path = folder / f"bench-{name}.db"
        if not path.exists():
            t0 = time.perf_counter()
            build(path, history)
            print(f"built {path} ({name} appointments) in {time.perf_counter() - t0:.1f} s", flush=True)
        query_ms, slots = in_process(path, args.runs)
        times = process_times(path, args.runs)
        (bare, bare_cpu), (get, get_cpu), (avail, avail_cpu) = times.values()
        results[name] = (query_ms, avail, get)
        print(
            f"{name:>5}: in-process query {query_ms:7.1f} ms ({slots} slots) | processes: "
            f"import sqlalchemy.orm {bare:.0f} ms, appointments get {get:.0f} ms, availability {avail:.0f} ms | "
            f"ratios to import sqlalchemy.orm: get {get / bare:.2f} (target <= 1.5, CPU {get_cpu / bare_cpu:.2f}), "
            f"availability {avail / bare:.2f} (target <= 1.7, CPU {avail_cpu / bare_cpu:.2f})",
            flush=True,
        )
    q20, p20, _ = results["20k"]
    q200, p200, _ = results["200k"]
    print(f"history 200k vs 20k: in-process {q200 / q20:.2f}x, process {p200 / p20:.2f}x (target <= 1.20)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

"""A group of ten clinics: does a question cost what its answer needs, not what the database
holds? (issue #16)

    python benchmarks/group.py [--engine sqlite|postgres|both] [--appointments 10000000]
                               [--runs 9] [--keep DIR]

Builds, once (kept in DIR between runs; building 10M rows takes minutes):

- "one site": one clinic (London), 50 clinicians, a 15-minute type on a 5-minute grid,
  Mon-Fri 08:00-18:00 with a lunch block, 20,000 appointments in the 30 days queried;
- "ten sites": ten clinics in ten timezones, 50 clinicians each (500), the same type and
  hours, N appointments (default 10,000,000) with the ids the product writes
  (`apt_<uuid4>`, random): 10% in the future (the 30 days queried exactly as full as in the
  one-site clinic, then five months more), 90% history (completed, cancelled, no-show) over
  the years before.

Then it asks each database, in-process and alternating between the two (so drift in the
machine's speed hits both alike), the London site's 30-day `round_robin=NONE` question
(its 50 clinicians) and the same for one day, and prints the medians and the ratios: targets
30 days within 1.2x (SQLite) / 1.3x (PostgreSQL, the group's engine) and one day within 1.2x.
PostgreSQL runs on a cluster kept in DIR (tests/postgres_cluster.py), durable defaults.
"""

from __future__ import annotations

import argparse
import gc
import random
import sqlite3
import statistics
import sys
import time
import uuid
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tests"))  # postgres_cluster

from sqlalchemy import insert  # noqa: E402

from frontdesk.clock import FakeClock  # noqa: E402
from frontdesk.domain.blocks import block_span  # noqa: E402
from frontdesk.services.availability import query_availability  # noqa: E402
from frontdesk.services.context import Context  # noqa: E402
from frontdesk.services.objects import AvailabilityQuery  # noqa: E402
from frontdesk.store.models import (  # noqa: E402
    AppointmentType,
    Block,
    Clinic,
    Location,
    Resource,
    ScheduleRule,
    type_clinicians,
    type_locations,
)

SITES = [
    ("loc_london", "London", "Europe/London"), ("loc_newyork", "New York", "America/New_York"),
    ("loc_sydney", "Sydney", "Australia/Sydney"), ("loc_paris", "Paris", "Europe/Paris"),
    ("loc_chicago", "Chicago", "America/Chicago"), ("loc_la", "Los Angeles", "America/Los_Angeles"),
    ("loc_tokyo", "Tokyo", "Asia/Tokyo"), ("loc_berlin", "Berlin", "Europe/Berlin"),
    ("loc_toronto", "Toronto", "America/Toronto"), ("loc_dublin", "Dublin", "Europe/Dublin"),
]
PER_SITE = 50
TYPE_ID = "type_quick"
NOW = datetime(2025, 2, 1, tzinfo=UTC)
FIRST_DAY = date(2025, 2, 3)  # a Monday: the 30 days asked about start here
WINDOW_DAYS, FUTURE_DAYS = 30, 180
OPEN, CLOSE = 8 * 60, 18 * 60
QUARTERS = (CLOSE - OPEN) // 15
FULL = 20_000 / (PER_SITE * 22 * QUARTERS)  # how full the 30 days are in the one-site clinic
MONTH = AvailabilityQuery(TYPE_ID, FIRST_DAY.isoformat(), (FIRST_DAY + timedelta(days=WINDOW_DAYS - 1)).isoformat(),
                          location_id="loc_london", round_robin="NONE")
DAY = AvailabilityQuery(TYPE_ID, FIRST_DAY.isoformat(), FIRST_DAY.isoformat(), location_id="loc_london",
                        round_robin="NONE")
COLUMNS = ("id", "clinician_profile_id", "title", "start_time", "end_time", "status", "appointment_type_id",
           "location_id", "is_remote", "duration_minutes", "booking_source", "created_at", "updated_at")
BUSY = ("resource_id", "busy_start", "busy_end", "appointment_id", "appointment_type_id", "booked_start",
        "share_key", "exempt", "seats", "long_span")


def clinicians(sites: int) -> list[tuple[str, str, str]]:
    """(clinician id, site id, zone) for every clinician of the first `sites` sites."""
    return [(f"cli_{s:02d}_{n:02d}", SITES[s][0], SITES[s][2]) for s in range(sites) for n in range(PER_SITE)]


def setup(ctx: Context, sites: int) -> None:
    """The clinic's setup: sites, clinicians, the type, hours and a lunch block each."""
    staff = clinicians(sites)
    with ctx.db.engine.begin() as conn:
        conn.execute(insert(Clinic.__table__), [{"id": 1, "name": "Benchmark Group", "hold_minutes": 15}])
        conn.execute(insert(Location.__table__), [{"id": i, "name": n, "timezone": z} for i, n, z in SITES[:sites]])
        conn.execute(insert(Resource.__table__), [{"id": c, "kind": "clinician", "name": c, "timezone": None,
                                                   "location_id": None} for c, _, _ in staff])
        conn.execute(insert(AppointmentType.__table__), [{
            "id": TYPE_ID, "name": "Quick check", "duration_minutes": 15, "interval_minutes": 5,
            "padding_before_minutes": 0, "padding_after_minutes": 0, "duration_options": [],
            "min_notice_minutes": 0, "capacity": 1, "modes": ["in_person"]}])
        conn.execute(insert(type_locations), [{"appointment_type_id": TYPE_ID, "location_id": s[0]}
                                              for s in SITES[:sites]])
        conn.execute(insert(type_clinicians), [{"appointment_type_id": TYPE_ID, "clinician_id": c} for c, _, _ in staff])
        rules, blocks = [], []
        lunch_start, lunch_end, weekdays = datetime(2024, 1, 1, 12, 30), datetime(2024, 1, 1, 13, 15), "FREQ=WEEKLY;BYDAY=MO,TU,WE,TH,FR"
        for cid, site, zone in staff:
            rules.append({"key": f"rule_{cid}", "clinician_id": cid, "location_id": site, "remote": False,
                          "weekdays": [0, 1, 2, 3, 4], "start_minute": OPEN, "end_minute": CLOSE,
                          "valid_from": None, "valid_until": None})
            span = block_span(lunch_start, lunch_end, weekdays, ZoneInfo(zone))
            blocks.append({"key": f"lunch_{cid}", "resource_id": cid, "start_local": lunch_start,
                           "end_local": lunch_end, "rrule": weekdays, "reason": "Lunch",
                           "span_start": span[0], "span_end": span[1]})
        conn.execute(insert(ScheduleRule.__table__), rules)
        conn.execute(insert(Block.__table__), blocks)


def quarters(first: date, days: int, zone: ZoneInfo) -> list[datetime]:
    """Every 15-minute start in working hours on weekdays, as naive UTC."""
    out = []
    for n in range(days):
        day = first + timedelta(days=n)
        if day.weekday() < 5:
            midnight = datetime(day.year, day.month, day.day)
            out += [(midnight + timedelta(minutes=OPEN + 15 * q)).replace(tzinfo=zone).astimezone(UTC).replace(tzinfo=None)
                    for q in range(QUARTERS)]
    return out


def split(sites: int, total: int) -> tuple[int, int, int]:
    """Appointments per clinician in the future, over how many days (as full as the one-site
    clinic's 30 days, which holds them all), and in the history (the rest)."""
    each = total // (sites * PER_SITE)
    in_window = round(FULL * 22 * QUARTERS)
    if each <= in_window:
        return each, WINDOW_DAYS, 0
    future = min(each, round(in_window * FUTURE_DAYS / WINDOW_DAYS))
    return future, FUTURE_DAYS, each - future


def future_appointments(sites: int, per_clinician: int, days: int, rng: random.Random):
    """(appointment row, busy row) in chunks: confirmed or pending, in working hours."""
    chunk = []
    for cid, site, zone_name in clinicians(sites):
        future = quarters(FIRST_DAY, days, ZoneInfo(zone_name))
        for start in sorted(rng.sample(future, min(per_clinician, len(future)))):
            aid = f"apt_{uuid.UUID(int=rng.getrandbits(128), version=4)}"
            end = start + timedelta(minutes=15)
            status = rng.choice(("confirmed",) * 9 + ("pending",))
            chunk.append(((aid, cid, "Quick check", start, end, status, TYPE_ID, site, False, 15, "bench", NOW, NOW),
                          (cid, start, end, aid, TYPE_ID, start, aid, False, 1, False)))
        if len(chunk) >= 100_000:
            yield chunk
            chunk = []
    if chunk:
        yield chunk


# The history, written by the database itself (millions of rows): each clinician's visits
# every half hour from 09:00 UTC, day after day back from the window, completed but for one
# in ten cancelled or a no-show. Only lists read them; the ids are random as ever.
COLUMN_LIST = ", ".join(COLUMNS)
SQLITE_HISTORY = f"""
WITH RECURSIVE k(n) AS (SELECT 0 UNION ALL SELECT n + 1 FROM k WHERE n + 1 < :per)
INSERT INTO appointments ({COLUMN_LIST})
SELECT 'apt_' || lower(printf('%s-%s-4%s-%s%s-%s', hex(randomblob(4)), hex(randomblob(2)),
           substr(hex(randomblob(2)), 2), substr('89ab', 1 + abs(random()) % 4, 1),
           substr(hex(randomblob(2)), 2), hex(randomblob(6)))),
       r.clinician_id, 'Quick check', t.at || '.000000', datetime(t.at, '+15 minutes') || '.000000',
       CASE abs(random()) % 10 WHEN 8 THEN 'cancelled' WHEN 9 THEN 'no_show' ELSE 'completed' END,
       '{TYPE_ID}', r.location_id, 0, 15, 'history', :now, :now
FROM schedule_rules AS r,
     (SELECT datetime(:first, '-' || (n / 18 + 3) || ' days', '+' || (540 + (n % 18) * 30) || ' minutes') AS at
      FROM k) AS t
"""
POSTGRES_HISTORY = f"""
INSERT INTO appointments ({COLUMN_LIST})
SELECT 'apt_' || gen_random_uuid(), r.clinician_id, 'Quick check', t.at, t.at + interval '15 minutes',
       CASE floor(random() * 10)::int WHEN 8 THEN 'cancelled' WHEN 9 THEN 'no_show' ELSE 'completed' END,
       '{TYPE_ID}', r.location_id, false, 15, 'history', %(now)s, %(now)s
FROM schedule_rules AS r,
     (SELECT %(first)s::timestamp - make_interval(days => n / 18 + 3) + make_interval(mins => 540 + (n %% 18) * 30) AS at
      FROM generate_series(0, %(per)s - 1) AS n) AS t
"""
LINKS = "INSERT INTO appointment_resources (appointment_id, resource_id) SELECT id, clinician_profile_id FROM appointments"


def fill_sqlite(path: Path, sites: int, total: int) -> int:
    future_each, days, history_each = split(sites, total)
    conn = sqlite3.connect(path)
    conn.execute("PRAGMA synchronous = OFF")
    conn.execute("PRAGMA cache_size = -2000000")  # 2 GB while building
    # Indexes are made again after the rows (far faster than kept up row by row), and the
    # triggers refusing overlapping busy rows too (these rows never overlap).
    kept = conn.execute(
        "SELECT type, name, sql FROM sqlite_master WHERE type IN ('index', 'trigger') AND sql IS NOT NULL"
        " AND tbl_name IN ('appointments', 'appointment_resources', 'busy_times')").fetchall()
    for kind, name, _ in kept:
        conn.execute(f'DROP {kind.upper()} "{name}"')
    stamp = "%Y-%m-%d %H:%M:%S.%f"  # SQLAlchemy's own text for a DateTime on SQLite
    made = 0
    for chunk in future_appointments(sites, future_each, days, random.Random(1)):
        conn.executemany(f"INSERT INTO appointments ({COLUMN_LIST}) VALUES ({', '.join('?' * len(COLUMNS))})",
                         [tuple(v.strftime(stamp) if isinstance(v, datetime) else v for v in a) for a, _ in chunk])
        conn.executemany(f"INSERT INTO busy_times ({', '.join(BUSY)}) VALUES ({', '.join('?' * len(BUSY))})",
                         [tuple(v.strftime(stamp) if isinstance(v, datetime) else v for v in b) for _, b in chunk])
        made += len(chunk)
        print(f"  {made:,} appointments in the future", flush=True)
    if history_each:
        print(f"  {history_each * sites * PER_SITE:,} appointments of history", flush=True)
        conn.execute(SQLITE_HISTORY, {"per": history_each, "now": NOW.strftime(stamp), "first": FIRST_DAY.isoformat()})
    conn.execute(LINKS)
    for _, name, sql in kept:
        print(f"  making {name}", flush=True)
        conn.execute(sql)
    conn.commit()
    conn.execute("ANALYZE")
    made = conn.execute("SELECT count(*) FROM appointments").fetchone()[0]
    conn.close()
    return made


def fill_postgres(url: str, sites: int, total: int) -> int:
    import psycopg

    future_each, days, history_each = split(sites, total)
    with psycopg.connect(url.replace("postgresql+psycopg", "postgresql")) as conn:
        for chunk in future_appointments(sites, future_each, days, random.Random(1)):
            with conn.cursor() as cur:
                with cur.copy(f"COPY appointments ({COLUMN_LIST}) FROM STDIN") as copy:
                    for a, _ in chunk:
                        copy.write_row(a)
                with cur.copy(f"COPY busy_times ({', '.join(BUSY)}) FROM STDIN") as copy:
                    for _, b in chunk:
                        copy.write_row(b)
            print(f"  {sum(1 for _ in chunk):,} more appointments in the future", flush=True)
        if history_each:
            print(f"  {history_each * sites * PER_SITE:,} appointments of history", flush=True)
            conn.execute(POSTGRES_HISTORY, {"per": history_each, "now": NOW.replace(tzinfo=None),
                                            "first": FIRST_DAY.isoformat()})
        conn.execute(LINKS)
        conn.commit()
        conn.autocommit = True
        conn.execute("VACUUM ANALYZE")
        return conn.execute("SELECT count(*) FROM appointments").fetchone()[0]


def build(url: str, sites: int, total: int, is_sqlite: bool) -> None:
    t0 = time.perf_counter()
    ctx = Context.open(url, clock=FakeClock(NOW), operator="bench")
    setup(ctx, sites)
    ctx.db.dispose()
    made = fill_sqlite(Path(url.removeprefix("sqlite:///")), sites, total) if is_sqlite else fill_postgres(url, sites, total)
    print(f"  built {sites} site(s), {made:,} appointments in {time.perf_counter() - t0:.0f} s", flush=True)


def measure(urls: dict[str, str], runs: int) -> dict[tuple[str, str], float]:
    """Median ms of each question on each database, asked in turn."""
    contexts = {name: Context.open(url, clock=FakeClock(NOW), operator="bench") for name, url in urls.items()}
    questions = {"30 days": MONTH, "1 day": DAY}
    times: dict[tuple[str, str], list[float]] = {(d, q): [] for d in urls for q in questions}
    slots = {}
    for name, ctx in contexts.items():  # warm: connections, caches, the setup
        for q, query in questions.items():
            slots[name, q] = len(query_availability(ctx, query).slots)
    for _ in range(runs):
        for q, query in questions.items():
            for name, ctx in contexts.items():
                gc.collect()  # a full collection falls where the last one left it: not inside this one
                t0 = time.perf_counter()
                query_availability(ctx, query)
                times[name, q].append((time.perf_counter() - t0) * 1000)
    for ctx in contexts.values():
        ctx.db.dispose()
    for (name, q), values in times.items():
        print(f"    {name:>9} {q:>7}: median {statistics.median(values):7.1f} ms, min {min(values):7.1f} ms "
              f"({slots[name, q]} slots)")
    return {key: statistics.median(values) for key, values in times.items()}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--engine", choices=("sqlite", "postgres", "both"), default="both")
    parser.add_argument("--appointments", type=int, default=10_000_000, help="appointments of the ten-site group")
    parser.add_argument("--runs", type=int, default=9)
    parser.add_argument("--keep", type=Path, default=Path("/var/tmp/frontdesk-bench"),
                        help="folder for the databases and the PostgreSQL cluster, kept between runs (the "
                             "server's own user must reach it, so not under /root)")
    args = parser.parse_args()
    args.keep.mkdir(parents=True, exist_ok=True)
    size = f"{args.appointments // 1_000_000}M" if args.appointments >= 1_000_000 else f"{args.appointments // 1000}k"
    print(f"ten sites, {args.appointments:,} appointments vs one site, 20,000; {args.runs} runs each, alternating")

    if args.engine in ("sqlite", "both"):
        urls = {"one site": f"sqlite:///{args.keep / 'one-site-20k.db'}",
                "ten sites": f"sqlite:///{args.keep / f'ten-sites-{size}.db'}"}
        for name, url in urls.items():
            if not Path(url.removeprefix("sqlite:///")).exists():
                print(f"building {url}", flush=True)
                build(url, 1 if name == "one site" else 10, 20_000 if name == "one site" else args.appointments, True)
        print("SQLite")
        report(measure(urls, args.runs), 1.2)

    if args.engine in ("postgres", "both"):
        from postgres_cluster import Cluster, find_bindir

        bindir = find_bindir()
        if bindir is None:
            print("PostgreSQL: skipped, no server binaries (initdb, pg_ctl) installed")
            return 0
        cluster = Cluster(bindir, durable=True, folder=args.keep / "postgres").start()
        try:
            urls = {"one site": cluster.database("one_site_20k"), "ten sites": cluster.database(f"ten_sites_{size.lower()}")}
            for name, url in urls.items():
                if cluster.created(url):
                    print(f"building {url}", flush=True)
                    build(url, 1 if name == "one site" else 10, 20_000 if name == "one site" else args.appointments, False)
            print("PostgreSQL")
            report(measure(urls, args.runs), 1.3)
        finally:
            cluster.stop(remove=False)
    return 0


def report(medians: dict[tuple[str, str], float], month_target: float) -> None:
    for q, target in (("30 days", month_target), ("1 day", 1.2)):
        ratio = medians["ten sites", q] / medians["one site", q]
        print(f"    {q}: ten sites / one site = {ratio:.2f}x (target <= {target})")


if __name__ == "__main__":
    raise SystemExit(main())

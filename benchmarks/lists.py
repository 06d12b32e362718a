"""Lists and search benchmark: a page costs what the page needs, not what the table holds.

    python benchmarks/lists.py [--runs 15] [--cache DIR] [--small 20000] [--large 1000000]
                               [--patients-small 10000] [--patients-large 300000]

Builds (once; kept in the cache folder between runs, default $TMPDIR/frontdesk-lists) SQLite
databases through the migrations, filled with bulk inserts (SQLAlchemy Core executemany) and
random ids as the product writes them (`apt_<uuid4>`, `pat_<uuid4>`):

- appointments, 20k and 1M: 50 clinicians at 5 locations, 10 types, a patient for every ten
  appointments, starts on a quarter-hour grid over two years (so many share a start), seven
  statuses, 1 in 200 staff time with a second clinician;
- patients, 10k and 300k: first names with accents from a list, surnames drawn with Zipf
  weights from 5,000 (the commonest about 1%; `--few-names`: benchmarks/patients.py's 20
  surnames instead), a date of birth, a UK mobile.

Then, in-process (one read transaction a call, as the CLI and UI call them), the median of
`--runs` calls of `appointments list` with each filter of cli.md: the first page, and the
page 90% deep read by its cursor (`next_cursor`) and by `offset` (the index-only path); and
of patient search, keystroke by keystroke, for a name's start, a part of a name, a phone and
a date of birth, plus the everyone-list 90% deep. Targets: 1M within 1.5x of 20k (lists,
first page and cursor page), 300k within 2x of 10k (search).
"""

from __future__ import annotations

import argparse
import itertools
import random
import statistics
import tempfile
import time
import uuid
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

from sqlalchemy import func, insert, select

from frontdesk.clock import FakeClock
from frontdesk.domain.errors import FrontdeskError
from frontdesk.domain.patients import phone_display, search_name
from frontdesk.services.appointments import list_appointments, list_branches
from frontdesk.services.context import Context
from frontdesk.services.objects import AppointmentFilter
from frontdesk.services.paging import encode_cursor, read_keys
from frontdesk.services.patients import search_patients
from frontdesk.store.db import HEAD_REVISION, Database
from frontdesk.store.models import (
    Appointment,
    AppointmentType,
    Clinic,
    Location,
    Patient,
    Resource,
    appointment_resources,
)
from frontdesk.store.search_keys import renumber_search_keys

NOW = datetime(2025, 1, 20, 8, 0, tzinfo=UTC)
FIRST = datetime(2024, 1, 1, tzinfo=UTC)
QUARTERS = 2 * 365 * 96  # two years of quarter hours
CLINICIANS, LOCATIONS, TYPES = 50, 5, 10
STATUS_WEIGHTS = {"confirmed": 35, "completed": 35, "cancelled": 10, "pending": 8, "scheduled": 5, "no_show": 4,
                  "pending_approval": 3}
FIRST_NAMES = ["José", "Jo", "Mary", "Ann", "Zoë", "Amélie", "Oliver", "Aisha", "Chen", "Priya", "Liam", "Søren",
               "Fatima", "Noah", "Émile", "Grace", "Yusuf", "Isla", "Mateo", "Hannah"]
LAST_NAMES = ["Bloggs", "Smith", "Jones", "Álvarez", "Müller", "O'Brien", "Nguyen", "Patel", "Kowalski", "Brown",
              "Dubois", "García", "Taylor", "Wilson", "Khan", "Novák", "Rossi", "Evans", "Murphy", "Walsh"]
LIST_TARGET, SEARCH_TARGET = 1.5, 2.0
CHUNK = 20_000


def uid(rng: random.Random, prefix: str) -> str:
    return f"{prefix}{uuid.UUID(int=rng.getrandbits(128), version=4)}"


SYLLABLES = ["ab", "ba", "ko", "ri", "men", "dal", "ton", "ser", "vi", "lo", "gar", "ne", "stu", "har", "fi",
             "wen", "ol", "ash", "ke", "mur", "zan", "pe", "ly", "dor"]


def surnames(rng: random.Random, count: int = 5000) -> tuple[list[str], list[float]]:
    """Surnames as a clinic sees them, drawn with Zipf-like weights: the 20 listed ones are the
    commonest (the first about 1% of patients, the twentieth 0.5%), then made-up ones, most rare."""
    made = {"".join(rng.choice(SYLLABLES) for _ in range(rng.randint(2, 4))).capitalize() for _ in range(count * 2)}
    names = LAST_NAMES + sorted(made - set(LAST_NAMES))[: count - len(LAST_NAMES)]
    return names, list(itertools.accumulate(1 / (rank + 20) for rank in range(len(names))))


def patient_rows(count: int, rng: random.Random, few_names: bool = False) -> list[dict]:
    rows = []
    lasts, cumulative = surnames(rng)
    for i in range(count):
        if few_names:  # benchmarks/patients.py's names: 20 surnames, a number after two in three
            first, last = rng.choice(FIRST_NAMES), rng.choice(LAST_NAMES) + (str(i % 997) if i % 3 else "")
        else:
            first, last = rng.choice(FIRST_NAMES), rng.choices(lasts, cum_weights=cumulative)[0]
        e164 = f"+447700{i:06d}"
        rows.append({
            "id": uid(rng, "pat_"), "first_name": first, "last_name": last,
            "date_of_birth": date(1930, 1, 1) + timedelta(days=rng.randrange(365 * 90)),
            "email": f"{first.lower()}.{i}@example.org", "phone": phone_display(e164, "GB"), "phone_e164": e164,
            "search_name": search_name(first, last), "version": 1, "created_at": NOW, "updated_at": NOW,
        })
    return rows


def _open(path: Path) -> Context:
    return Context.open(f"sqlite:///{path}", clock=FakeClock(NOW), operator="bench")


def _cached(path: Path) -> bool:
    """A database kept from an earlier run, upgraded through the migrations if it is older
    (timed); one they cannot upgrade is built again."""
    if not path.exists():
        return False
    db = Database(f"sqlite:///{path}")
    try:
        if db.current_revision() != HEAD_REVISION:
            started = time.perf_counter()
            try:
                db.ensure_schema()
            except FrontdeskError:
                return False
            print(f"  {path.name}: upgraded to {HEAD_REVISION} in {time.perf_counter() - started:.1f} s")
        with db.engine.connect() as conn:
            return conn.execute(select(func.count()).select_from(Clinic)).scalar() == 1
    finally:
        db.dispose()


def _without_indexes(conn, tables: tuple[str, ...]) -> list[str]:
    """Drop the tables' indexes and triggers, answering the SQL that makes them again: an
    index built from sorted keys costs a fraction of one kept up row by row under random ids."""
    names = ", ".join(f"'{t}'" for t in tables)
    saved = conn.exec_driver_sql(
        f"SELECT type, name, sql FROM sqlite_master WHERE tbl_name IN ({names})"
        " AND type IN ('index', 'trigger') AND sql IS NOT NULL").all()
    for kind, name, _ in saved:
        conn.exec_driver_sql(f"DROP {kind.upper()} {name}")
    conn.exec_driver_sql("PRAGMA cache_size = -400000")
    return [sql for _, _, sql in saved]


def _with_indexes(conn, saved: list[str]) -> None:
    """The indexes and triggers made again; the patients (loaded without search keys, as the
    bulk insert bypasses the models) given their keys in name order and both search indexes
    filled, as migration 0009 does."""
    for sql in saved:
        conn.exec_driver_sql(sql)
    renumber_search_keys(conn)


def build_appointments(path: Path, count: int) -> None:
    rng = random.Random(count)
    path.unlink(missing_ok=True)
    ctx = _open(path)
    weights = list(STATUS_WEIGHTS.values())
    with ctx.db.engine.begin() as conn:
        saved = _without_indexes(conn, ("appointments", "appointment_resources", "patients"))
        conn.execute(insert(Clinic.__table__), [{"id": 1, "name": "Bench", "country": "GB", "date_order": "DMY"}])
        conn.execute(insert(Location.__table__),
                     [{"id": f"loc_{i}", "name": f"Site {i}", "timezone": "Europe/London"} for i in range(LOCATIONS)])
        conn.execute(insert(Resource.__table__), [{"id": f"cli_{i:02d}", "kind": "clinician", "name": f"Clinician {i}"}
                                                  for i in range(CLINICIANS)])
        conn.execute(insert(AppointmentType.__table__), [
            {"id": f"type_{i}", "name": f"Type {i}", "duration_minutes": 15, "interval_minutes": 15,
             "padding_before_minutes": 0, "padding_after_minutes": 0, "duration_options": [],
             "min_notice_minutes": 0, "capacity": 1, "modes": ["in_person"]} for i in range(TYPES)])
        patients = patient_rows(max(1, count // 10), rng)
        for start in range(0, len(patients), CHUNK):
            conn.execute(insert(Patient.__table__), patients[start : start + CHUNK])
        patient_ids = [p["id"] for p in patients]
        rows, links = [], []

        def flush() -> None:
            conn.execute(insert(Appointment.__table__), rows)
            conn.execute(insert(appointment_resources), links)
            rows.clear()
            links.clear()

        for n in range(count):
            aid = uid(rng, "apt_")
            clinician = rng.randrange(CLINICIANS)
            start = FIRST + timedelta(minutes=15 * rng.randrange(QUARTERS))
            internal = n % 200 == 0
            rows.append({
                "id": aid, "patient_id": None if internal else rng.choice(patient_ids),
                "clinician_profile_id": f"cli_{clinician:02d}", "title": "Visit", "start_time": start,
                "end_time": start + timedelta(minutes=15),
                "status": rng.choices(list(STATUS_WEIGHTS), weights)[0],
                "appointment_type_id": None if internal else f"type_{rng.randrange(TYPES)}",
                "location_id": f"loc_{clinician % LOCATIONS}", "is_remote": False, "duration_minutes": 15,
                "booking_source": "bench", "internal": internal, "created_at": NOW, "updated_at": NOW,
            })
            links.append({"appointment_id": aid, "resource_id": f"cli_{clinician:02d}"})
            if internal:  # staff time: a second clinician on it
                links.append({"appointment_id": aid, "resource_id": f"cli_{(clinician + 1) % CLINICIANS:02d}"})
            if len(rows) == CHUNK:
                flush()
        if rows:
            flush()
        _with_indexes(conn, saved)
    ctx.db.dispose()


def build_patients(path: Path, count: int) -> None:
    path.unlink(missing_ok=True)
    ctx = _open(path)
    rows = patient_rows(count, random.Random(count), few_names="few-names" in path.name)
    with ctx.db.engine.begin() as conn:
        saved = _without_indexes(conn, ("patients",))
        conn.execute(insert(Clinic.__table__), [{"id": 1, "name": "Bench", "country": "GB", "date_order": "DMY"}])
        for start in range(0, len(rows), CHUNK):
            conn.execute(insert(Patient.__table__), rows[start : start + CHUNK])
        _with_indexes(conn, saved)
    ctx.db.dispose()


def database(folder: Path, name: str, build, count: int) -> Context:
    path = folder / f"{name}-{count}.db"
    if _cached(path):
        print(f"  {path.name}: kept from an earlier run")
    else:
        started = time.perf_counter()
        build(path, count)
        print(f"  {path.name}: built in {time.perf_counter() - started:.1f} s")
    return _open(path)


def paired_ms(small, large, runs: int) -> tuple[float, float]:
    """Median ms of each call, the two taken in turn (a busy machine slows both alike)."""
    small(), large()  # warm
    times: tuple[list[float], list[float]] = ([], [])
    for _ in range(runs):
        for call, into in ((small, times[0]), (large, times[1])):
            t0 = time.perf_counter()
            call()
            into.append((time.perf_counter() - t0) * 1000)
    return statistics.median(times[0]), statistics.median(times[1])


def filters(ctx: Context) -> dict[str, dict]:
    """Each filter of cli.md, with values found in this database."""
    with ctx.db.session(write=False) as session:
        patient = session.scalar(select(Appointment.patient_id).where(Appointment.patient_id.is_not(None)).limit(1))
    return {
        "(none)": {},
        "--patient": {"patient_id": patient},
        "--clinician": {"clinician_id": "cli_07"},
        "--status confirmed": {"status": "confirmed"},
        "--status-in pending,scheduled": {"status_in": ("pending", "scheduled")},
        "--date-gte/--date-lte (a month)": {"date_gte": datetime(2024, 6, 1, tzinfo=UTC),
                                           "date_lte": datetime(2024, 6, 30, 23, 59, tzinfo=UTC)},
        "--appointment-type": {"appointment_type_id": "type_3"},
        "--location": {"location_id": "loc_2"},
    }


def deep_place(ctx: Context, f: AppointmentFilter) -> tuple[int, str | None]:
    """The offset 90% into the filter's answer, and the cursor that reads the same page."""
    branches, order = list_branches(f)
    with ctx.db.session(write=False) as session:
        total = sum(session.scalar(select(func.count()).select_from(b.subquery())) for b in branches)
        offset = max(0, int(total * 0.9) - 1)
        if offset == 0:
            return 0, None
        keys, _ = read_keys(session, branches, order, 1, offset - 1, None)
    return offset, encode_cursor(keys[0])


def bench_lists(small: Context, large: Context, runs: int) -> float:
    print(f"\nappointments list (limit 20), median ms of {runs}; ratio = 1M / 20k (target <= {LIST_TARGET}x)")
    print(f"{'filter':<34} {'page':<14} {'20k':>7} {'1M':>7} {'ratio':>6}")
    worst = 0.0
    small_filters = filters(small)
    for label, values in filters(large).items():
        calls: dict[str, list] = {"first page": [], "90% (cursor)": [], "90% (offset)": []}
        for ctx, vals in ((small, small_filters[label]), (large, values)):
            first = AppointmentFilter(limit=20, **vals)
            offset, cursor = deep_place(ctx, first)
            by_cursor = AppointmentFilter(limit=20, cursor=cursor, **vals)
            by_offset = AppointmentFilter(limit=20, offset=offset, **vals)
            calls["first page"].append(lambda ctx=ctx, f=first: list_appointments(ctx, f))
            calls["90% (cursor)"].append(lambda ctx=ctx, f=by_cursor: list_appointments(ctx, f))
            calls["90% (offset)"].append(lambda ctx=ctx, f=by_offset: list_appointments(ctx, f))
        for page, (call_small, call_large) in calls.items():
            small_ms, large_ms = paired_ms(call_small, call_large, runs)
            ratio = large_ms / small_ms
            if page != "90% (offset)":
                worst = max(worst, ratio)
            print(f"{label:<34} {page:<14} {small_ms:>7.2f} {large_ms:>7.2f} {ratio:>5.2f}x")
    print(f"worst ratio (first page and cursor page): {worst:.2f}x: "
          f"{'within' if worst <= LIST_TARGET else 'OVER'} the {LIST_TARGET}x target")
    return worst


def keystrokes(text: str) -> list[str]:
    return [text[:i] for i in range(1, len(text) + 1) if text[:i].strip()]


def bench_search(small: Context, large: Context, runs: int) -> float:
    searches = {"a name's start": "Patel", "a part of a name": "lvarez", "a phone": "07700 001234",
                "a date of birth": "12/03/1975"}
    print(f"\npatient search (limit 20), keystroke by keystroke: the mean and the slowest keystroke, each "
          f"a median ms of {runs}; ratio = 300k / 10k (target <= {SEARCH_TARGET}x)")
    print(f"{'search':<30} {'':<9} {'10k':>7} {'300k':>7} {'ratio':>6}")
    worst = 0.0
    for label, typed in searches.items():
        pairs = [paired_ms(lambda t=t: search_patients(small, t, limit=20),
                           lambda t=t: search_patients(large, t, limit=20), runs) for t in keystrokes(typed)]
        for what, pick in (("mean", statistics.mean), ("slowest", max)):
            small_ms, large_ms = pick(p[0] for p in pairs), pick(p[1] for p in pairs)
            worst = max(worst, large_ms / small_ms)
            print(f"{label + ' ' + repr(typed):<30} {what:<9} {small_ms:>7.2f} {large_ms:>7.2f} "
                  f"{large_ms / small_ms:>5.2f}x")
    calls: dict[str, list] = {"offset": [], "cursor": []}
    order = (Patient.search_name, Patient.id)
    for ctx in (small, large):
        with ctx.db.session(write=False) as session:
            offset = int(session.scalar(select(func.count()).select_from(Patient)) * 0.9)
            keys, _ = read_keys(session, [select(*order)], order, 1, offset - 1, None)
        cursor = encode_cursor(keys[0])
        calls["offset"].append(lambda ctx=ctx, o=offset: search_patients(ctx, "", limit=20, offset=o))
        calls["cursor"].append(lambda ctx=ctx, c=cursor: search_patients(ctx, "", limit=20, cursor=c))
    for what, (call_small, call_large) in calls.items():
        small_ms, large_ms = paired_ms(call_small, call_large, runs)
        if what == "cursor":
            worst = max(worst, large_ms / small_ms)
        print(f"{'everyone, 90% deep':<30} {what:<9} {small_ms:>7.2f} {large_ms:>7.2f} {large_ms / small_ms:>5.2f}x")
    print(f"worst ratio (keystrokes and the cursor page): {worst:.2f}x: "
          f"{'within' if worst <= SEARCH_TARGET else 'OVER'} the {SEARCH_TARGET}x target")
    return worst


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--runs", type=int, default=15)
    parser.add_argument("--cache", type=Path, default=Path(tempfile.gettempdir()) / "frontdesk-lists")
    parser.add_argument("--small", type=int, default=20_000)
    parser.add_argument("--large", type=int, default=1_000_000)
    parser.add_argument("--patients-small", type=int, default=10_000)
    parser.add_argument("--patients-large", type=int, default=300_000)
    parser.add_argument("--few-names", action="store_true",
                        help="benchmarks/patients.py's 20 surnames (a surname's start then matches 5%% of the clinic)")
    parser.add_argument("--only", choices=("lists", "search"), help="run one half")
    args = parser.parse_args()
    args.cache.mkdir(parents=True, exist_ok=True)
    print(f"databases in {args.cache}")
    if args.only != "search":
        small = database(args.cache, "appointments", build_appointments, args.small)
        large = database(args.cache, "appointments", build_appointments, args.large)
        bench_lists(small, large, args.runs)
    if args.only == "lists":
        return
    kind = "patients-few-names" if args.few_names else "patients-zipf"
    few = database(args.cache, kind, build_patients, args.patients_small)
    many = database(args.cache, kind, build_patients, args.patients_large)
    bench_search(few, many, args.runs)


if __name__ == "__main__":
    main()

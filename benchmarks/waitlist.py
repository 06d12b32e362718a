"""Waitlist benchmark: `waitlist offers` with 500 waiting entries on the 20k clinic.

    python benchmarks/waitlist.py [--entries 500] [--runs 7] [--keep DIR]

The clinic of benchmarks/availability.py (50 clinicians at 3 sites, 20,000 appointments in
the 30 days from its clock), 500 patients and 500 waiting entries with random ids as the
product writes them, and a mix of wishes: half name a clinician, a third weekdays, a third a
time of day, a fifth a site (the clinician's own when one is named). It prints the median time of `waitlist_offers` in-process on
SQLite (target: under 500 ms), how many entries had an offer, and beside it the 30-day
query of benchmarks/availability.py on the same database (a busy machine slows both).
"""

from __future__ import annotations

import argparse
import random
import tempfile
import time
import uuid
from datetime import timedelta
from pathlib import Path

from availability import CLINICIANS, NOW, QUERY, SITES, TYPE_ID, build, clinician_site, median_ms
from installed import compile_like_an_install
from sqlalchemy import insert

from frontdesk.clock import FakeClock
from frontdesk.services.availability import query_availability
from frontdesk.services.context import Context
from frontdesk.services.waitlist import waitlist_offers
from frontdesk.store.models import Patient, WaitlistEntry


def add_entries(path: Path, count: int, seed: int = 2) -> None:
    rng = random.Random(seed)
    ctx = Context.open(f"sqlite:///{path}", clock=FakeClock(NOW), operator="bench")

    def rid(prefix: str) -> str:
        return f"{prefix}{uuid.UUID(int=rng.getrandbits(128), version=4)}"

    patients, entries = [], []
    for n in range(count):
        pid = rid("pat_")
        patients.append({"id": pid, "first_name": f"Pat{n}", "last_name": f"Waiting{n}", "search_name": f"waiting{n}"})
        hour = rng.randrange(8, 17)
        times = rng.random() < 1 / 3
        clinician = rng.randrange(CLINICIANS) if rng.random() < 0.5 else None
        # A site wished for is the clinician's own, when one is named (as the slot picker asks).
        site = (clinician_site(clinician)[0] if clinician is not None else rng.choice(SITES)[0]) if rng.random() < 0.2 else None
        entries.append({
            "id": rid("wl_"), "patient_id": pid, "appointment_type_id": TYPE_ID,
            "clinician_id": f"cli_{clinician:02d}" if clinician is not None else None,
            "location_id": site, "remote": None,
            "earliest": None, "latest": None,
            "weekdays": sorted(rng.sample(range(5), rng.randrange(1, 3))) if rng.random() < 1 / 3 else None,
            "time_from": f"{hour:02d}:00" if times else None, "time_to": f"{hour + 1:02d}:00" if times else None,
            "note": None, "status": "waiting", "created_at": NOW - timedelta(minutes=count - n), "created_by": "bench",
        })
    with ctx.db.engine.begin() as conn:
        conn.execute(insert(Patient.__table__), patients)
        conn.execute(insert(WaitlistEntry.__table__), entries)
    ctx.db.dispose()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--entries", type=int, default=500)
    parser.add_argument("--runs", type=int, default=7, help="runs (the median is printed)")
    parser.add_argument("--keep", type=Path, help="build the database in this folder and keep it")
    args = parser.parse_args()
    compile_like_an_install()
    folder = args.keep or Path(tempfile.mkdtemp(prefix="frontdesk-bench-"))
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"bench-waitlist-{args.entries}.db"
    if not path.exists():
        t0 = time.perf_counter()
        build(path, 0)
        add_entries(path, args.entries)
        print(f"built {path} in {time.perf_counter() - t0:.1f} s", flush=True)
    ctx = Context.open(f"sqlite:///{path}", clock=FakeClock(NOW), operator="bench")
    answer = waitlist_offers(ctx)  # warm up the connection and caches
    ms = median_ms(lambda: waitlist_offers(ctx), args.runs)
    # The availability benchmark's 30-day query, same run: tells the code from a busy machine.
    reference = median_ms(lambda: query_availability(ctx, QUERY), args.runs)
    offered = sum(1 for item in answer if item.offers)
    print(f"waitlist offers, {len(answer)} entries: median {ms:.1f} ms in-process (target < 500 ms); "
          f"{offered} with an offer, {sum(len(i.offers) for i in answer)} slots offered; "
          f"the 30-day availability query {reference:.1f} ms ({ms / reference:.1f}x)")
    ctx.db.dispose()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

"""Patient search benchmark: 100,000 patients, each kind of search the desk types.

    python benchmarks/patients.py [--patients 100000] [--runs 21] [--keep DIR]

Builds a SQLite database through the migrations and fills it with bulk inserts (SQLAlchemy
Core executemany): random ids as the product writes them (`pat_<uuid4>`), names drawn from
lists with accents, a date of birth, an email and a UK mobile for each, the search columns
filled by the same domain functions the services use. Then it times `search_patients`
in-process (one read transaction each, as the UI and CLI call it) for a name, part of a name,
a phone typed nationally and internationally, a date of birth and an email, and prints the
median and worst of each against the target: under 50 ms per query.
"""

from __future__ import annotations

import argparse
import random
import statistics
import tempfile
import time
import uuid
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

from sqlalchemy import insert

from frontdesk.clock import FakeClock
from frontdesk.domain.patients import phone_display, search_name
from frontdesk.services.context import Context
from frontdesk.services.patients import search_patients
from frontdesk.store.models import Clinic, Patient
from frontdesk.store.search_keys import SEARCH_KEY_GAP

FIRST = ["José", "Jo", "Mary", "Ann", "Zoë", "Amélie", "Oliver", "Aisha", "Chen", "Priya", "Liam", "Søren",
         "Fatima", "Noah", "Émile", "Grace", "Yusuf", "Isla", "Mateo", "Hannah"]
LAST = ["Bloggs", "Smith", "Jones", "Álvarez", "Müller", "O'Brien", "Nguyen", "Patel", "Kowalski", "Brown",
        "Dubois", "García", "Taylor", "Wilson", "Khan", "Novák", "Rossi", "Evans", "Murphy", "Walsh"]
TARGET_MS = 50.0
NOW = datetime(2025, 1, 20, 8, 0, tzinfo=UTC)


def build(path: Path, count: int, rng: random.Random) -> tuple[Context, dict]:
    ctx = Context.open(f"sqlite:///{path}", clock=FakeClock(NOW), operator="bench")
    rows, known = [], {}
    for i in range(count):
        first, last = rng.choice(FIRST), rng.choice(LAST) + (str(i % 997) if i % 3 else "")
        e164 = f"+447700{i:06d}"
        rows.append({
            "id": f"pat_{uuid.UUID(int=rng.getrandbits(128), version=4)}",
            "first_name": first, "last_name": last,
            "date_of_birth": date(1930, 1, 1) + timedelta(days=rng.randrange(365 * 90)),
            "email": f"{first.lower()}.{i}@example.org", "phone": phone_display(e164, ""), "phone_e164": e164,
            "search_name": search_name(first, last), "version": 1, "created_at": NOW, "updated_at": NOW,
        })
        if i == count // 2:
            known = rows[-1]
    # A bulk insert bypasses the models, which place each patient's search_key in name order.
    for rank, row in enumerate(sorted(rows, key=lambda r: (r["search_name"], r["id"])), start=1):
        row["search_key"] = rank * SEARCH_KEY_GAP
    with ctx.db.session() as session:
        session.add(Clinic(id=1, name="Bench", country="GB", date_order="DMY"))
        for start in range(0, len(rows), 5000):
            session.execute(insert(Patient), rows[start : start + 5000])
    return ctx, known


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--patients", type=int, default=100_000)
    parser.add_argument("--runs", type=int, default=21)
    parser.add_argument("--keep", type=Path, help="build the database in this folder and keep it")
    args = parser.parse_args()
    rng = random.Random(13)
    folder = args.keep or Path(tempfile.mkdtemp(prefix="frontdesk-patients-"))
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / "patients.db"
    path.unlink(missing_ok=True)
    started = time.perf_counter()
    ctx, known = build(path, args.patients, rng)
    print(f"built {args.patients:,} patients in {time.perf_counter() - started:.1f} s ({path})")
    national = "0" + known["phone_e164"][3:]
    born = known["date_of_birth"]
    queries = {
        "name (last first)": f"{known['last_name']} {known['first_name']}",
        "name, accents dropped": "jose alvarez",
        "part of a name": known["last_name"][:4].lower(),
        "rare part of a name": "zzq",
        "phone, national": f"{national[:5]} {national[5:]}",
        "phone, international": known["phone"],
        "date of birth (DMY)": f"{born.day}/{born.month}/{born.year}",
        "email": known["email"].upper(),
    }
    worst_median = 0.0
    print(f"{'query':<24} {'found':>6} {'median ms':>10} {'worst ms':>9}")
    for label, text in queries.items():
        times = []
        for _ in range(args.runs):
            t0 = time.perf_counter()
            page = search_patients(ctx, text, limit=20)
            times.append((time.perf_counter() - t0) * 1000)
        median = statistics.median(times)
        worst_median = max(worst_median, median)
        found = f"{len(page.items)}{'+' if page.has_more else ''}"
        print(f"{label:<24} {found:>6} {median:>10.1f} {max(times):>9.1f}")
    verdict = "within" if worst_median < TARGET_MS else "OVER"
    print(f"slowest median {worst_median:.1f} ms: {verdict} the {TARGET_MS:.0f} ms target")
    ctx.db.dispose()


if __name__ == "__main__":
    main()

"""Export benchmark: a year of one clinician as iCalendar, at the availability benchmark's clinic.

    python benchmarks/export.py [--runs 5] [--keep DIR]

Builds (or reuses, with --keep) availability.py's synthetic clinics: "20k" (20,000
appointments with random ids in 30 days, 400 of them one clinician's) and "200k" (the same
plus 180,000 in the months before: about 4,000 in one clinician's year). Prints the median
time of `export_ics` for one clinician over 366 days in-process, of a whole `frontdesk export
ics -o FILE` process, and of `export freebusy` over the same year. Target: the export under 1 s.
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import timedelta
from pathlib import Path

from availability import FIRST_DAY, NOW, an_appointment_id, build, median_ms
from installed import compile_like_an_install

from frontdesk.clock import FakeClock
from frontdesk.services.calendar_export import ExportRequest, export_freebusy, export_ics
from frontdesk.services.context import Context

CLINICIAN = "cli_00"  # London
# 366 days ending a week after the 30 busy days: the 200k history lies in the months before.
LAST_DAY = FIRST_DAY + timedelta(days=36)
FIRST = (LAST_DAY - timedelta(days=365)).isoformat()
LAST = LAST_DAY.isoformat()


def in_process(path: Path, runs: int) -> tuple[float, float, int, int]:
    ctx = Context.open(f"sqlite:///{path}", clock=FakeClock(NOW), operator="bench")
    ask = ExportRequest(FIRST, LAST, clinician_id=CLINICIAN)
    events = export_ics(ctx, ask).count  # warm up
    periods = export_freebusy(ctx, CLINICIAN, FIRST, LAST).count
    ics_ms = median_ms(lambda: export_ics(ctx, ask), runs)
    freebusy_ms = median_ms(lambda: export_freebusy(ctx, CLINICIAN, FIRST, LAST), runs)
    ctx.db.dispose()
    return ics_ms, freebusy_ms, events, periods


def process_pair(path: Path, runs: int, folder: Path) -> tuple[float, float]:
    """Median ms of a whole `export ics -o FILE` process, and of a trivial `appointments get`
    process on the same database beside it (Python, SQLAlchemy and frontdesk starting up)."""
    base = [sys.executable, "-m", "frontdesk", "--db", str(path), "--now", NOW.isoformat()]
    export = base + ["export", "ics", "--clinician", CLINICIAN, "--from", FIRST, "--to", LAST,
                     "-o", str(folder / "year.ics")]
    trivial = base + ["appointments", "get", an_appointment_id(path)]

    def run(cmd) -> None:
        done = subprocess.run(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        if done.returncode != 0:
            raise SystemExit(f"{' '.join(cmd)} failed: {done.stderr.decode()[-2000:]}")

    run(export), run(trivial)  # warm the page cache
    exports, trivials = [], []
    for _ in range(runs):  # interleaved, so drift hits both alike
        exports.append(median_ms(lambda: run(export), 1))
        trivials.append(median_ms(lambda: run(trivial), 1))
    return statistics.median(exports), statistics.median(trivials)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--runs", type=int, default=5, help="runs per measurement (the median is printed)")
    parser.add_argument("--keep", type=Path, help="build the databases in this folder and keep them")
    args = parser.parse_args()
    compile_like_an_install()

    folder = args.keep or Path(tempfile.mkdtemp(prefix="frontdesk-bench-"))
    folder.mkdir(parents=True, exist_ok=True)
    for name, history in (("20k", 0), ("200k", 180_000)):
        path = folder / f"bench-{name}.db"
        if not path.exists():
            t0 = time.perf_counter()
            build(path, history)
            print(f"built {path} ({name} appointments) in {time.perf_counter() - t0:.1f} s", flush=True)
        ics_ms, freebusy_ms, events, periods = in_process(path, args.runs)
        process_ms, trivial_ms = process_pair(path, args.runs, folder)
        print(
            f"{name:>5}: export ics, one clinician, {FIRST} to {LAST} ({events} events): in-process "
            f"{ics_ms:6.1f} ms (target < 1000) | whole process {process_ms:6.1f} ms, beside `appointments get` "
            f"{trivial_ms:6.1f} ms | export freebusy ({periods} periods) {freebusy_ms:6.1f} ms",
            flush=True,
        )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

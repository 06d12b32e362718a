"""Loading a clinic file again: a desk's changes are kept (and reported), hours and time off
are the file's (a row dropped from the file is removed), `load --dry-run` reports exactly
what a load would do and writes nothing, and hostile RRULEs are refused fast with their place."""

from __future__ import annotations

import copy
import io
import json
import time
from contextlib import redirect_stdout
from datetime import UTC, datetime
from pathlib import Path

import pytest
from sqlalchemy import select, update

from frontdesk.cli.main import main
from frontdesk.domain.errors import FrontdeskError
from frontdesk.services.appointments import update_appointment
from frontdesk.services.clinic import default_sample, load_clinic_data
from frontdesk.store.clinic_file import read_clinic_file
from frontdesk.store.models import Appointment, Base, Block

NOW = "2025-01-20T08:00:00Z"
MEETING = {"resource_id": "cli_amara_okafor", "start": "2025-01-22T08:30", "end": "2025-01-22T09:30",
           "reason": "Practice meeting"}


@pytest.fixture
def sample() -> dict:
    return read_clinic_file(default_sample())


def dump(ctx) -> dict[str, list]:
    with ctx.db.engine.connect() as conn:
        return {t.name: sorted(map(tuple, conn.execute(t.select())), key=repr) for t in Base.metadata.sorted_tables}


def cli(db: Path, *argv: str) -> tuple[int, dict]:
    out = io.StringIO()
    with redirect_stdout(out):
        code = main(["--db", str(db), "--now", NOW, *argv])
    return code, json.loads(out.getvalue())


def offered(db: Path, clinician: str, day: str) -> list[str]:
    code, doc = cli(db, "availability", "--appointment-type", "type_follow_up", "--clinician", clinician,
                    "--start-date", day, "--end-date", day, "--timezone", "Europe/London")
    assert code == 0, doc
    return [slot["start_time"].replace("+00:00", "Z") for slot in doc["data"]]


# --- a desk's changes are kept ------------------------------------------------------------


def test_a_reload_keeps_what_a_desk_changed_and_reports_it_kept(ctx, clock, sample):
    load_clinic_data(ctx, sample)
    clock.advance(hours=1)
    moved = {"start_time": datetime(2025, 1, 22, 15, 0, tzinfo=UTC), "end_time": datetime(2025, 1, 22, 15, 15, tzinfo=UTC),
             "title": "Nurse Appointment (dressing)", "attendee_email": "ruby.new@example.com"}
    update_appointment(ctx, "apt_0030", moved)

    clock.advance(hours=1)
    changed = copy.deepcopy(sample)
    other = next(a for a in changed["appointments"] if a["id"] == "apt_0031")
    other["title"] = "Changed in the file"
    report = load_clinic_data(ctx, changed)

    assert report.changes["appointments"]["kept"] == ["apt_0030"]
    assert report.changes["appointments"]["changed"] == ["apt_0031"]
    with ctx.db.session() as s:
        kept = s.get(Appointment, "apt_0030")
        assert (kept.start_time, kept.end_time, kept.title, kept.attendee_email) == (
            moved["start_time"], moved["end_time"], moved["title"], moved["attendee_email"])
        assert s.get(Appointment, "apt_0031").title == "Changed in the file"
    # And again: still kept, nothing else to do.
    again = load_clinic_data(ctx, changed)
    assert again.changes["appointments"] == {"added": [], "changed": [], "kept": ["apt_0030"], "removed": []}


def test_an_appointment_the_file_changed_is_not_taken_for_a_desk_change(ctx, clock, sample):
    load_clinic_data(ctx, sample)
    first = copy.deepcopy(sample)
    next(a for a in first["appointments"] if a["id"] == "apt_0030")["title"] = "First change"
    assert load_clinic_data(ctx, first).changes["appointments"]["changed"] == ["apt_0030"]
    second = copy.deepcopy(sample)
    next(a for a in second["appointments"] if a["id"] == "apt_0030")["title"] = "Second change"
    assert load_clinic_data(ctx, second).changes["appointments"]["changed"] == ["apt_0030"]
    with ctx.db.session() as s:
        row = s.get(Appointment, "apt_0030")
        assert (row.title, row.loaded_version) == ("Second change", row.version)


def test_an_appointment_loaded_before_loads_were_recorded_counts_as_unchanged(ctx, sample):
    load_clinic_data(ctx, sample)
    with ctx.db.session() as s:  # as a database written before loaded_version existed
        s.execute(update(Appointment.__table__).values(loaded_version=None))
    changed = copy.deepcopy(sample)
    next(a for a in changed["appointments"] if a["id"] == "apt_0030")["title"] = "From the file"
    report = load_clinic_data(ctx, changed)
    assert report.changes["appointments"]["changed"] == ["apt_0030"]
    with ctx.db.session() as s:
        assert s.get(Appointment, "apt_0030").title == "From the file"
        assert None not in set(s.scalars(select(Appointment.loaded_version)))


# --- hours and time off are the file's ------------------------------------------------------


def test_time_off_dropped_from_the_file_stops_being_in_force(tmp_path, sample):
    db, path = tmp_path / "clinic.db", tmp_path / "clinic.json"
    path.write_text(json.dumps(sample))
    assert cli(db, "load", str(path))[0] == 0
    in_meeting = lambda slots: [t for t in slots if "2025-01-22T08:30" <= t < "2025-01-22T09:30"]  # noqa: E731
    assert in_meeting(offered(db, "cli_amara_okafor", "2025-01-22")) == []

    sample["blocks"] = [b for b in sample["blocks"] if b.get("reason") != "Practice meeting"]
    path.write_text(json.dumps(sample))
    code, doc = cli(db, "load", str(path))
    assert code == 0, doc
    [removed] = doc["data"]["changes"]["blocks"]["removed"]
    assert "cli_amara_okafor 2025-01-22T08:30 to 2025-01-22T09:30" in removed
    freed = in_meeting(offered(db, "cli_amara_okafor", "2025-01-22"))
    assert freed
    # A hold on a slot offered again is taken: nothing left over blocks it.
    code, doc = cli(db, "holds", "create", "--appointment-type", "type_follow_up", "--clinician", "cli_amara_okafor",
                    "--start", freed[0], "--location", "loc_central")
    assert code == 0, doc


def test_schedules_and_overrides_dropped_from_the_file_are_removed(ctx, sample):
    load_clinic_data(ctx, sample)
    dropped_schedule, dropped_override = sample["schedules"].pop(0), sample["overrides"].pop(0)
    report = load_clinic_data(ctx, sample)
    assert len(report.changes["schedules"]["removed"]) == 1
    assert report.changes["schedules"]["removed"][0].split(" ")[1] == dropped_schedule["clinician_id"]
    assert len(report.changes["overrides"]["removed"]) == 1
    assert dropped_override["date"] in report.changes["overrides"]["removed"][0]
    # Put back: added again, at its place in the file.
    sample["schedules"].insert(0, dropped_schedule)
    assert [p.split(" ")[0] for p in load_clinic_data(ctx, sample).changes["schedules"]["added"]] == ["schedules[0]"]


def test_a_section_the_file_leaves_out_is_left_alone(ctx, sample):
    load_clinic_data(ctx, sample)
    before = dump(ctx)
    del sample["blocks"], sample["schedules"], sample["overrides"]
    report = load_clinic_data(ctx, sample)
    assert all(not report.changes[s]["removed"] for s in ("blocks", "schedules", "overrides"))
    assert dump(ctx) == before


def test_a_file_speaks_only_for_the_resources_it_lists_or_names(ctx, sample):
    load_clinic_data(ctx, sample)
    with ctx.db.session() as s:
        count = len(s.scalars(select(Block)).all())
    # A second file with one block of one clinician replaces that clinician's blocks only.
    second = {"locations": [], "clinicians": [], "appointment_types": [],
              "blocks": [{**MEETING, "start": "2025-01-23T08:30", "end": "2025-01-23T09:30"}]}
    report = load_clinic_data(ctx, second, "second.json")
    amara = [b for b in sample["blocks"] if b["resource_id"] == "cli_amara_okafor"]
    assert len(report.changes["blocks"]["removed"]) == len(amara)
    assert len(report.changes["blocks"]["added"]) == 1
    with ctx.db.session() as s:
        assert len(s.scalars(select(Block)).all()) == count - len(amara) + 1


# --- --dry-run ---------------------------------------------------------------------------


def test_dry_run_lists_what_a_load_would_do_and_writes_nothing(tmp_path, clock, sample):
    db, path = tmp_path / "clinic.db", tmp_path / "clinic.json"
    path.write_text(json.dumps(sample))
    code, doc = cli(db, "load", "--dry-run", str(path))
    assert code == 0 and doc["data"]["dry_run"] is True
    assert len(doc["data"]["changes"]["appointments"]["added"]) == len(sample["appointments"])
    code, doc = cli(db, "appointments", "list", "--limit", "5")
    assert code == 0 and doc["data"] == []  # nothing was written
    assert cli(db, "load", str(path))[0] == 0

    # A desk moves apt_0030; the file changes apt_0031, adds a patient, drops a block.
    code, doc = cli(db, "appointments", "update", "apt_0030", "--title", "Desk title")
    assert code == 0, doc
    changed = copy.deepcopy(sample)
    next(a for a in changed["appointments"] if a["id"] == "apt_0031")["title"] = "File title"
    changed["patients"].append({"id": "pat_new", "first_name": "New", "last_name": "Patient"})
    changed["blocks"] = [b for b in changed["blocks"] if b.get("reason") != "Practice meeting"]
    path.write_text(json.dumps(changed))
    with sqlite_bytes(db) as before:
        code, doc = cli(db, "load", "--dry-run", str(path))
        assert code == 0, doc
        assert sqlite_bytes.read(db) == before
    changes = doc["data"]["changes"]
    assert changes["appointments"] == {"added": [], "changed": ["apt_0031"], "kept": ["apt_0030"], "removed": []}
    assert changes["patients"]["added"] == ["pat_new"]
    assert len(changes["blocks"]["removed"]) == 1 and changes["blocks"]["added"] == []
    # The real load does exactly that.
    code, real = cli(db, "load", str(path))
    assert real["data"]["changes"] == changes and real["data"]["dry_run"] is False


class sqlite_bytes:
    """Every table's rows, read before and after: equal means nothing was written."""

    def __init__(self, db: Path) -> None:
        self.db = db

    @staticmethod
    def read(db: Path) -> list:
        import sqlite3

        with sqlite3.connect(db) as conn:
            tables = [t for (t,) in conn.execute("SELECT name FROM sqlite_master WHERE type = 'table' ORDER BY name")]
            return [sorted(map(repr, conn.execute(f"SELECT * FROM {t}"))) for t in tables]  # noqa: S608

    def __enter__(self) -> list:
        return self.read(self.db)

    def __exit__(self, *exc) -> None:
        return None


# --- hostile RRULEs ------------------------------------------------------------------------


@pytest.mark.parametrize(
    "rule, words",
    [
        ("FREQ=DAILY;INTERVAL=0", "INTERVAL=0"),
        ("FREQ=DAILY;INTERVAL=-1", "INTERVAL=-1"),
        ("FREQ=DAILY;INTERVAL=99999999999", "INTERVAL=99999999999"),
        ("FREQ=HOURLY;BYSECOND=70", "BYSECOND=70"),
        ("FREQ=HOURLY;UNTIL=99991231T235959Z", "UNTIL=99991231T235959Z"),
        ("FREQ=HOURLY;BYYEARDAY=400", "BYYEARDAY=400"),
        ("FREQ=DAILY;BYMONTHDAY=32", "BYMONTHDAY=32"),
        ("FREQ=YEARLY;BYWEEKNO=54", "BYWEEKNO=54"),
        ("FREQ=MONTHLY;BYMONTH=13", "BYMONTH=13"),
        ("FREQ=MONTHLY;BYSETPOS=0;BYDAY=MO", "BYSETPOS=0"),
        ("FREQ=DAILY;BYHOUR=24", "BYHOUR=24"),
        ("FREQ=DAILY;BYMINUTE=60", "BYMINUTE=60"),
        ("FREQ=WEEKLY;BYDAY=9MO", "numbered"),
        ("FREQ=DAILY;COUNT=0", "COUNT=0"),
        ("FREQ=DAILY;UNTIL=20251340", "UNTIL=20251340"),
        ("FREQ=DAILY;BYMONTH=2;BYMONTHDAY=30", "does not occur"),  # never: a long search, bounded
        ("FREQ=HOURLY;BYMONTH=2;BYMONTHDAY=31", "does not occur"),
        ("FREQ=HOURLY;UNTIL=20300101T000000Z", "more than 10000 occurrences"),
        ("FREQ=DAILY;UNTIL=20240101", "no occurrence"),
        ("FREQ=HOURLY;BYSECOND=60", "cannot be expanded"),
    ],
)
def test_each_hostile_rrule_is_refused_fast_with_its_place(ctx, sample, rule, words):
    load_clinic_data(ctx, sample)
    before = dump(ctx)
    sample["blocks"][2]["rrule"] = rule
    started = time.monotonic()
    with pytest.raises(FrontdeskError) as caught:
        load_clinic_data(ctx, sample)
    assert time.monotonic() - started < 3
    [error] = caught.value.details["errors"]
    assert error.startswith("blocks[2].rrule: "), error
    assert words in error, error
    assert dump(ctx) == before


def test_a_stored_rule_that_is_no_longer_accepted_never_hangs_a_query(tmp_path, sample):
    db, path = tmp_path / "clinic.db", tmp_path / "clinic.json"
    path.write_text(json.dumps(sample))
    assert cli(db, "load", str(path))[0] == 0
    import sqlite3

    with sqlite3.connect(db) as conn:  # as written by an older frontdesk
        conn.execute("UPDATE blocks SET rrule = 'FREQ=DAILY;INTERVAL=0' WHERE resource_id = 'cli_amara_okafor'")
    started = time.monotonic()
    slots = offered(db, "cli_amara_okafor", "2025-01-22")
    assert time.monotonic() - started < 5
    assert not [t for t in slots if "2025-01-22T08:30" <= t < "2025-01-22T09:30"]  # the meeting still stands


@pytest.mark.postgres
def test_on_postgresql_a_reload_keeps_a_desk_change_and_a_dry_run_writes_nothing(postgres_url, clock, sample):
    from frontdesk.services.context import Context

    ctx = Context.open(postgres_url, clock=clock, operator="tester")
    try:
        load_clinic_data(ctx, sample)
        update_appointment(ctx, "apt_0030", {"title": "Desk title"})
        sample["blocks"] = [b for b in sample["blocks"] if b.get("reason") != "Practice meeting"]
        before = dump(ctx)
        dry = load_clinic_data(ctx, sample, dry_run=True)
        assert dump(ctx) == before
        real = load_clinic_data(ctx, sample)
        assert real.changes == dry.changes
        assert real.changes["appointments"]["kept"] == ["apt_0030"] and len(real.changes["blocks"]["removed"]) == 1
        with ctx.db.session() as s:
            assert s.get(Appointment, "apt_0030").title == "Desk title"
    finally:
        ctx.db.dispose()
